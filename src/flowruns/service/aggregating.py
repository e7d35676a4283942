"""Running a ``$apply`` aggregation and shaping its rows as OData JSON values."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy import Float, cast, distinct, func

from flowruns.edm.datetimes import format_ticks
from flowruns.errors import InvalidRequest
from flowruns.odata import semantic as s
from flowruns.odata.aggregation import Aggregate, Aggregation
from flowruns.odata.literals import format_date, format_duration
from flowruns.odata.path import CollectionRef
from flowruns.service.reading import evaluating
from flowruns.service.resources import collection_scope
from flowruns.store import entities, rollup
from flowruns.store.compiler import SQL, Compiler
from flowruns.store.database import Database

MAX_GROUPS = 10_000


def result_type(aggregate: Aggregate) -> s.Type:
    if aggregate.method in ("count", "countdistinct") or aggregate.expr is None:
        return s.INT
    if aggregate.method == "average":
        kind = aggregate.expr.type.kind
        return s.DURATION if kind is s.Kind.DURATION else s.DOUBLE
    return aggregate.expr.type


def _measure(compiler: Compiler, aggregate: Aggregate) -> SQL:
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


def aggregate_rows(
    db: Database,
    tenant: str,
    collection: CollectionRef,
    aggregation: Aggregation,
    order: list[tuple[str, bool]],
) -> list[dict[str, Any]]:
    """The aggregated rows of ``collection``, in ``order`` (result property names), then in
    ascending order of their group keys."""
    with evaluating(), db.reading() as connection:
        spec, scope = collection_scope(connection, tenant, collection)
        counts = rollup.answers(spec.table, scope, aggregation)
        source = rollup.counts(tenant) if counts else spec.table
        compiler = Compiler(connection.dialect.name, tenant, source)
        where = [compiler.condition(f) for f in aggregation.filters]
        if counts:
            where.append(rollup.counted(source))
        keys = [compiler.order_key(k.expr).sql for k in aggregation.keys]
        measures = [
            rollup.count(source) if counts and a.expr is None else _measure(compiler, a)
            for a in aggregation.aggregates
        ]
        rows = entities.groups(
            connection, spec, tenant, scope, where, keys, measures, MAX_GROUPS + 1, source
        )
    if len(rows) > MAX_GROUPS:
        raise InvalidRequest(
            f"The aggregation has more than {MAX_GROUPS} groups; filter it first.",
            target="$apply",
        )
    names = ["/".join(k.path) for k in aggregation.keys] + [a.alias for a in aggregation.aggregates]
    for name, descending in reversed(order):
        index = names.index(name)
        # Nulls first ascending, last descending, as everywhere in flowruns.
        rows.sort(
            key=lambda r: (r[index] is not None, 0 if r[index] is None else r[index]),
            reverse=descending,
        )
    shape = _shaper(aggregation)
    return [shape(row) for row in rows]


def _shaper(aggregation: Aggregation) -> Callable[[tuple[Any, ...]], dict[str, Any]]:
    """Turns a result row into its JSON object; each column's conversion is chosen once."""
    keys = [(k.path, _converter(k.expr.type)) for k in aggregation.keys]
    measures = [(a.alias, _converter(result_type(a))) for a in aggregation.aggregates]

    def shape(row: tuple[Any, ...]) -> dict[str, Any]:
        shaped: dict[str, Any] = {"@odata.id": None}
        for (path, convert), value in zip(keys, row, strict=False):
            target = shaped
            for name in path[:-1]:
                target = target.setdefault(name, {})
            target[path[-1]] = None if value is None else convert(value)
        for (alias, convert), value in zip(measures, row[len(keys) :], strict=True):
            shaped[alias] = None if value is None else convert(value)
        return shaped

    return shape


def _converter(value_type: s.Type) -> Callable[[Any], Any]:
    """How a (non-null) value of the typed tree's representation is written in OData JSON."""
    match value_type.kind:
        case s.Kind.ENUM:
            assert value_type.enum is not None
            members = value_type.enum.members
            return lambda value: members[int(value)]
        case s.Kind.DATE_TIME:
            return lambda value: format_ticks(int(value))
        case s.Kind.DATE:
            return lambda value: format_date(int(value))
        case s.Kind.DURATION:
            return lambda value: format_duration(round(value))
        case s.Kind.INT:
            return int
        case s.Kind.DOUBLE:
            return float
        case s.Kind.BOOLEAN:
            return bool
    return lambda value: float(value) if isinstance(value, Decimal) else value
