"""OData JSON (minimal metadata) for entities, collections and references."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flowruns.edm.datetimes import format_ticks
from flowruns.edm.industrydata import HUB_PATH
from flowruns.edm.model import EntityType, Primitive, Property
from flowruns.odata.query import ExpandItem, Selection
from flowruns.store.entities import Record

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


def _value(prop: Property, value: Any) -> Any:
    if value is None:
        return None
    if prop.type is Primitive.DATE_TIME_OFFSET:
        return format_ticks(value)
    return value


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
    for prop in _properties(record.type, select):
        if prop.name == "eTag":
            body["eTag"] = etag
        elif not prop.key:
            body[prop.name] = _value(prop, record.values.get(prop.name))
    for item in expand:
        name = item.navigation.name
        if name not in record.expanded:
            continue
        value = record.expanded[name]
        if f"{name}@odata.count" in record.expanded:
            body[f"{name}@odata.count"] = record.expanded[f"{name}@odata.count"]
        if isinstance(value, list):
            body[name] = [_expanded(r, item) for r in value]
        else:
            body[name] = None if value is None else _expanded(value, item)
    return body


def _expanded(record: Record, item: ExpandItem) -> dict[str, Any]:
    if item.ref:
        # Relative to the context URL, so to the service root.
        collection = "processes" if item.navigation.name == "process" else "runs"
        return {"@odata.id": f"{HUB_PATH}/{collection}/{record.id}"}
    return entity_json(record, item.options.select, item.options.expand)


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
