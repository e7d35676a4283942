"""Running a ``$apply`` aggregation and shaping its rows as OData JSON values."""

from __future__ import annotations

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
    value = compiler.value(aggregate.expr).sql
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
    return [_shape(aggregation, row) for row in rows]


def _shape(aggregation: Aggregation, row: tuple[Any, ...]) -> dict[str, Any]:
    shaped: dict[str, Any] = {"@odata.id": None}
    for key, value in zip(aggregation.keys, row, strict=False):
        target = shaped
        for name in key.path[:-1]:
            target = target.setdefault(name, {})
        target[key.path[-1]] = json_value(key.expr.type, value)
    measures = row[len(aggregation.keys) :]
    for aggregate, value in zip(aggregation.aggregates, measures, strict=True):
        shaped[aggregate.alias] = json_value(result_type(aggregate), value)
    return shaped


def json_value(value_type: s.Type, value: Any) -> Any:
    """A value of the typed tree's representation as OData JSON writes it."""
    if value is None:
        return None
    match value_type.kind:
        case s.Kind.ENUM:
            assert value_type.enum is not None
            return value_type.enum.members[int(value)]
        case s.Kind.DATE_TIME:
            return format_ticks(int(value))
        case s.Kind.DATE:
            return format_date(int(value))
        case s.Kind.DURATION:
            return format_duration(round(value))
        case s.Kind.INT:
            return int(value)
        case s.Kind.DOUBLE:
            return float(value)
        case s.Kind.BOOLEAN:
            return bool(value)
    return float(value) if isinstance(value, Decimal) else value
