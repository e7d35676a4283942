"""Executing ``$apply``: the groups of a bound aggregation and their aggregates.

An aggregation (:class:`~flowruns.odata.semantic.Aggregation`: filters, group keys,
aggregates) becomes one grouped ``SELECT``, compiled by the same expression compiler as
``$filter``. The rows come back in the typed tree's representation (ticks, days, enum values);
writing them as OData JSON is the response's business (:mod:`flowruns.odata.payload`).

**From the day counts when they give the same answer.** An aggregation is answered from
``run_days`` (:mod:`flowruns.store.rollup`) instead of the runs only if every expression in it is
*day-exact*: determined by the run's start day, type and status alone (:func:`answers`).
``date(startDateTime)``, ``year``/``month``/``day`` of it, ``startDateTime ge`` or ``lt`` a UTC
midnight, ``status``, type tests and casts qualify; ``hour(startDateTime)``, ``startDateTime gt``
a midnight, ``displayName``, ``statistics`` and the process do not. The counts are read summed
over slots, each day under the runs' own column name (the ticks of its midnight), so the compiler
compiles the same typed tree against them as against the runs; only ``$count`` changes, from
counting rows to summing their counts (and counts back at zero are left out, so they never form
a group).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Float, cast, distinct, func, select
from sqlalchemy.sql.expression import FromClause

from flowruns.errors import InvalidRequest
from flowruns.odata import semantic as s
from flowruns.odata.literals import TICKS_PER_DAY
from flowruns.store import entities, rollup
from flowruns.store.compiler import Compiler
from flowruns.store.dialect import SQL, dialect_of
from flowruns.store.entities import RUN_TABLE, Scope
from flowruns.store.queries import evaluating

MAX_GROUPS = 10_000


def aggregate(
    connection: Connection,
    scope: Scope,
    aggregation: s.Aggregation,
    order: Sequence[tuple[str, bool]] = (),
) -> list[tuple[Any, ...]]:
    """The groups of ``scope``'s rows: per group its keys, then its aggregates.

    Sorted by ``order`` (result columns as :attr:`~flowruns.odata.semantic.Aggregation.columns`
    names them, each descending or not), then ascending by the keys; nulls first ascending and
    last descending, as everywhere in flowruns. More than :data:`MAX_GROUPS` groups is a 400.
    """
    with evaluating():
        from_counts = answers(scope, aggregation)
        source = rollup.counts(scope.tenant) if from_counts else scope.spec.table
        compiler = Compiler(dialect_of(connection), scope.tenant, source)
        conditions = entities.scope_filter(scope, source)
        conditions += [compiler.condition(f) for f in aggregation.filters]
        if from_counts:
            conditions.append(source.c.runs > 0)  # a count back at zero stands for no runs
        keys = [compiler.order_key(k.expr).sql for k in aggregation.keys]
        measures = [
            _counted(source) if from_counts and a.expr is None else _measure(compiler, a)
            for a in aggregation.aggregates
        ]
        columns = [k.label(f"_key{i}") for i, k in enumerate(keys)]
        columns += [m.label(f"_measure{i}") for i, m in enumerate(measures)]
        statement = select(*columns).select_from(source).where(*conditions)
        if keys:
            statement = statement.group_by(*keys).order_by(*(k.asc().nulls_first() for k in keys))
        statement = statement.limit(MAX_GROUPS + 1)
        rows = [tuple(row) for row in connection.execute(statement)]
    if len(rows) > MAX_GROUPS:
        raise InvalidRequest(
            f"The aggregation has more than {MAX_GROUPS} groups; filter it first.",
            target="$apply",
        )
    names = aggregation.columns
    for name, descending in reversed(order):
        index = names.index(name)
        rows.sort(
            key=lambda r: (r[index] is not None, 0 if r[index] is None else r[index]),
            reverse=descending,
        )
    return rows


def _measure(compiler: Compiler, aggregate: s.Aggregate) -> SQL:
    if aggregate.expr is None:
        return func.count()
    value = compiler.measured(aggregate.expr)
    match aggregate.method:
        case "countdistinct":
            return func.count(distinct(value))
        case "average":
            return func.avg(cast(value, Float()))
        case "sum":
            return func.sum(value)
        case "min":
            return func.min(value)
    return func.max(value)


def _counted(counts: FromClause) -> SQL:
    """``$count`` over ``run_days`` rows: the sum of their counts (0 for no rows)."""
    return func.coalesce(func.sum(counts.c.runs), 0)


# -- answering from run_days -----------------------------------------------------------------

_DAY_FUNCTIONS = frozenset({"date", "year", "month", "day"})


def answers(scope: Scope, aggregation: s.Aggregation) -> bool:
    """Whether ``run_days`` gives the same answer for ``aggregation`` over the rows of
    ``scope``: the runs, of any types, not of one process or group or only some statuses."""
    return (
        scope.spec is RUN_TABLE
        and scope.process_id is None
        and scope.group_id is None
        and scope.statuses is None
        and all(_day_exact(f) for f in aggregation.filters)
        and all(_day_exact(k.expr) for k in aggregation.keys)
        and all(_countable(a) for a in aggregation.aggregates)
    )


def _countable(aggregate: s.Aggregate) -> bool:
    if aggregate.expr is None:
        return True
    # Counting distinct values and the least or greatest one see the same set of values in
    # the counted rows as in the runs; sums and averages would need each run's value.
    return aggregate.method in ("countdistinct", "min", "max") and _day_exact(aggregate.expr)


def _is_start(expr: s.Expr) -> bool:
    return (
        isinstance(expr, s.Column)
        and isinstance(expr.source, s.It)
        and expr.property.name == "startDateTime"
    )


def _midnight(expr: s.Expr) -> bool:
    if not isinstance(expr, s.Const) or not isinstance(expr.value, int):
        return False
    return expr.type.kind is s.Kind.DATE or expr.value % TICKS_PER_DAY == 0


def _start_bound(expr: s.Compare) -> bool:
    """``startDateTime ge|lt <midnight>`` (either way round): true of a run exactly when it
    is true of its day's midnight. ``gt``/``le``/``eq`` a midnight are not: they tell the
    run that started at midnight from the one that started later that day."""
    flipped = {"ge": "le", "lt": "gt"}
    if _is_start(expr.left) and _midnight(expr.right):
        return expr.op in flipped
    if _is_start(expr.right) and _midnight(expr.left):
        return expr.op in flipped.values()
    return False


def _day_exact(expr: s.Expr) -> bool:
    """Whether ``expr`` has the same value for every run of one day, type and status."""
    match expr:
        case s.Const():
            return True
        case s.Column(source=s.It(), property=prop):
            return prop.name == "status"
        case s.TypeTest(source=s.It()):
            return True
        case s.Function(name=name, args=(arg,)) if name in _DAY_FUNCTIONS and _is_start(arg):
            return True
        case s.Function(args=args):
            return all(_day_exact(a) for a in args)
        case s.Compare() if _start_bound(expr):
            return True
        case s.Compare(left=left, right=right) | s.Logical(left=left, right=right):
            return _day_exact(left) and _day_exact(right)
        case s.Arithmetic(left=left, right=right):
            return _day_exact(left) and _day_exact(right)
        case s.Unary(operand=operand):
            return _day_exact(operand)
        case s.In(operand=operand, items=items):
            return _day_exact(operand) and all(_day_exact(i) for i in items)
    return False
