"""OData JSON (minimal metadata) for entities, collections and references."""

from __future__ import annotations

from typing import Any

from flowruns.edm.datetimes import format_ticks
from flowruns.edm.model import EntityType, Primitive, Property
from flowruns.odata.query import Selection
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


def entity_json(record: Record, select: Selection | None = None) -> dict[str, Any]:
    """One entity with its type and ETag annotations; ``select`` limits the properties."""
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
    return body


def _properties(entity_type: EntityType, select: Selection | None) -> list[Property]:
    if select is None or select.names is None:
        return list(entity_type.properties)
    return [p for p in entity_type.properties if p.name in select.names]


def context_url(service_root: str, fragment: str, select: Selection | None = None) -> str:
    """``{root}/$metadata#{fragment}``, with the ``$select`` list where one was given."""
    if select is not None:
        suffix = "/$entity" if fragment.endswith("/$entity") else ""
        base = fragment.removesuffix("/$entity")
        fragment = f"{base}({select.context}){suffix}"
    return f"{service_root}/$metadata#{fragment}"
