"""OData JSON (minimal metadata) for entities, collections, references and aggregated rows."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import orjson

from flowruns.edm.datetimes import format_ticks
from flowruns.edm.industrydata import HUB_PATH
from flowruns.edm.model import EntityType, Primitive, Property
from flowruns.odata import semantic as s
from flowruns.odata.literals import format_date, format_duration
from flowruns.odata.query import ExpandItem, Selection
from flowruns.records import Record

CONTENT_TYPE = (
    "application/json;odata.metadata=minimal;odata.streaming=true;"
    "IEEE754Compatible=false;charset=utf-8"
)


def etag_header(record: Record) -> str:
    return f'W/"{record.etag}"'


def etag_matches(header: str, etag: str) -> bool:
    """Whether an ``If-Match``/``If-None-Match`` list names ``etag`` (or is ``*``)."""
    tags = [t.strip() for t in header.split(",")]
    return "*" in tags or any(t.removeprefix("W/").strip('"') == etag for t in tags)


# How entity_json writes each property: as stored, as a timestamp, as the ETag, as a
# collection (rows written before collections defaulted to [] hold NULL; OData never writes
# null), or as timestamps computed when read (absent where the read did not compute them).
_AS_IS, _TIMESTAMP, _ETAG, _COLLECTION, _COMPUTED = 0, 1, 2, 3, 4
_Plan = tuple[tuple[str, int], ...]
# One plan per entity type (by qualified name) for the common case, no $select: entity_json
# runs for every row of every page, and deciding each property's kind once per type halves it.
_full_plans: dict[str, _Plan] = {}


def _plan(entity_type: EntityType, select: Selection | None) -> _Plan:
    full = select is None or select.names is None
    if full and entity_type.qualified_name in _full_plans:
        return _full_plans[entity_type.qualified_name]
    plan = tuple((p.name, _kind(p)) for p in _properties(entity_type, select) if not p.key)
    if full:
        _full_plans[entity_type.qualified_name] = plan
    return plan


def _kind(prop: Property) -> int:
    if prop.name == "eTag":
        return _ETAG
    if not prop.stored:
        return _COMPUTED
    if prop.type is Primitive.DATE_TIME_OFFSET:
        return _TIMESTAMP
    return _COLLECTION if prop.collection else _AS_IS


def entity_json(
    record: Record, select: Selection | None = None, expand: Sequence[ExpandItem] = ()
) -> dict[str, Any]:
    """One entity with its type and ETag annotations; ``select`` limits the properties and
    ``expand`` adds the navigations read into ``record.expanded``."""
    etag = etag_header(record)
    body: dict[str, Any] = {
        "@odata.type": f"#{record.type.qualified_name}",
        "@odata.etag": etag,
        "id": record.id,
    }
    values = record.values
    for name, kind in _plan(record.type, select):
        if kind == _AS_IS:
            body[name] = values.get(name)
        elif kind == _TIMESTAMP:
            ticks = values.get(name)
            body[name] = None if ticks is None else format_ticks(ticks)
        elif kind == _COLLECTION:
            items = values.get(name)
            body[name] = [] if items is None else items
        elif kind == _COMPUTED:
            if name in values:
                body[name] = [format_ticks(ticks) for ticks in values[name]]
        else:
            body[name] = etag
    body.update(_expansions(record, expand, None))
    return body


def rendered_collection(
    texts: Sequence[str], records: Sequence[Record], expand: Sequence[ExpandItem] = ()
) -> orjson.Fragment:
    """The ``value`` of a collection whose entities the database wrote as JSON (``texts``, each
    what :func:`entity_json` and orjson write for its record, without expansions), with the
    navigations ``expand`` read into ``records`` added to each."""
    if not expand:
        return orjson.Fragment("[" + ",".join(texts) + "]")
    # An entity expanded from many (a process of many runs) is written once.
    written: dict[tuple[int, int], Any] = {}
    items = []
    for text, record in zip(texts, records, strict=True):
        added = _expansions(record, expand, written)
        items.append(text[:-1] + "," + orjson.dumps(added).decode()[1:] if added else text)
    return orjson.Fragment("[" + ",".join(items) + "]")


def _expansions(
    record: Record, expand: Sequence[ExpandItem], written: dict[tuple[int, int], Any] | None
) -> dict[str, Any]:
    """The members ``expand`` adds to ``record``'s JSON; with ``written``, each expanded entity
    is serialized once and kept there."""
    body: dict[str, Any] = {}
    for item in expand:
        name = item.navigation.name
        if name not in record.expanded:
            continue
        value = record.expanded[name]
        if f"{name}@odata.count" in record.expanded:
            body[f"{name}@odata.count"] = record.expanded[f"{name}@odata.count"]
        if isinstance(value, list):
            body[name] = [_expanded(r, item, written) for r in value]
        else:
            body[name] = None if value is None else _expanded(value, item, written)
    return body


def _expanded(
    record: Record | orjson.Fragment, item: ExpandItem, written: dict[tuple[int, int], Any] | None
) -> Any:
    if isinstance(record, orjson.Fragment):  # written by the database already
        return record
    if item.ref:
        # Relative to the context URL, so to the service root.
        collection = "processes" if item.navigation.name == "process" else "runs"
        return {"@odata.id": f"{HUB_PATH}/{collection}/{record.id}"}
    if written is None:
        return entity_json(record, item.options.select, item.options.expand)
    key = (id(record), id(item))
    if key not in written:
        json = entity_json(record, item.options.select, item.options.expand)
        written[key] = orjson.Fragment(orjson.dumps(json))
    return written[key]


def _properties(entity_type: EntityType, select: Selection | None) -> list[Property]:
    if select is None or select.names is None:
        return list(entity_type.properties)
    return [p for p in entity_type.properties if p.name in select.names]


def context_url(
    service_root: str,
    fragment: str,
    select: Selection | None = None,
    expand: Sequence[ExpandItem] = (),
) -> str:
    """``{root}/$metadata#{fragment}``, with the ``$select`` list and expanded navigations
    (``runs(displayName,process(displayName))``) where they were given."""
    listed = _projection(select, expand)
    if listed:
        suffix = "/$entity" if fragment.endswith("/$entity") else ""
        base = fragment.removesuffix("/$entity")
        fragment = f"{base}({listed}){suffix}"
    return f"{service_root}/$metadata#{fragment}"


def _projection(select: Selection | None, expand: Sequence[ExpandItem]) -> str:
    parts = [select.context] if select is not None else []
    for item in expand:
        if not item.ref:
            parts.append(
                f"{item.navigation.name}({_projection(item.options.select, item.options.expand)})"
            )
    return ",".join(parts)


def aggregated_json(
    aggregation: s.Aggregation, rows: Sequence[tuple[Any, ...]]
) -> list[dict[str, Any]]:
    """The rows of ``aggregation`` (its keys, then its aggregates, as values of the typed tree)
    as OData JSON objects: keys nested along their paths, values written as their types are
    (ticks as date-times, days as dates, ticks as durations, enum values as member names)."""
    keys = [(k.path, _converter(k.expr.type)) for k in aggregation.keys]
    measures = [(a.alias, _converter(a.type)) for a in aggregation.aggregates]
    shaped_rows: list[dict[str, Any]] = []
    for row in rows:
        shaped: dict[str, Any] = {"@odata.id": None}
        for (path, convert), value in zip(keys, row, strict=False):
            target = shaped
            for name in path[:-1]:
                target = target.setdefault(name, {})
            target[path[-1]] = None if value is None else convert(value)
        for (alias, convert), value in zip(measures, row[len(keys) :], strict=True):
            shaped[alias] = None if value is None else convert(value)
        shaped_rows.append(shaped)
    return shaped_rows


def _converter(value_type: s.Type) -> Callable[[Any], Any]:
    """How a (non-null) value of the typed tree's representation is written in OData JSON:
    chosen once per column, not per value."""
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
