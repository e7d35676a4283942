"""JSON ↔ typed models, driven by the field metadata of :mod:`flowruns.client.models`.

Decoding is lenient where Graph asks clients to be (an enum value the SDK does not know yet reads
as ``unknownFutureValue``; members the model does not declare land in ``additional_data``) and
picks the most derived class the ``@odata.type`` names. Encoding is strict: a date-time without a
UTC offset is a :class:`ValueError`, since the server would refuse it anyway.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import Enum
from typing import Any, TypeVar, cast

from flowruns.client.models import ENTITY_TYPES, TYPES, Entity

T = TypeVar("T")
E = TypeVar("E", bound=Entity)

# Graph writes up to seven fractional digits; datetime keeps six.
_FRACTION = re.compile(r"(\.\d{6})\d+")


_FIELDS: dict[type[Any], dict[str, dataclasses.Field[Any]]] = {}


def _fields(cls: type[Any]) -> dict[str, dataclasses.Field[Any]]:
    """The decodable fields of a model class, by JSON name."""
    found = _FIELDS.get(cls)
    if found is None:
        found = {f.metadata["json"]: f for f in dataclasses.fields(cls) if "json" in f.metadata}
        _FIELDS[cls] = found
    return found


def parse_datetime(text: str) -> datetime:
    """An Edm.DateTimeOffset from the server as an aware ``datetime`` in UTC."""
    value = datetime.fromisoformat(_FRACTION.sub(r"\1", text).replace("Z", "+00:00"))
    return value.astimezone(UTC)


def format_datetime(value: datetime) -> str:
    """An aware ``datetime`` as ISO 8601 in UTC with ``Z``; naive values are refused."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{value!r} has no time zone; use an aware datetime (e.g. tzinfo=UTC)")
    text = value.astimezone(UTC).isoformat(timespec="microseconds")
    return text.replace(".000000", "").replace("+00:00", "Z")


def _decode_value(kind: str, value: Any) -> Any:
    if value is None:
        return None
    head, _, rest = kind.partition(":")
    if head == "list":
        return [_decode_value(rest, item) for item in value]
    if head == "datetime":
        return parse_datetime(value)
    if head == "enum":
        enum = TYPES[rest]
        try:
            return enum(value)
        except ValueError:
            return enum("unknownFutureValue")
    if head == "complex":
        return decode(TYPES[rest], value)
    if head == "entity":
        return decode_entity(TYPES[rest], value)
    if head == "entities":
        return [decode_entity(TYPES[rest], item) for item in value]
    return value


def decode(cls: type[T], data: Mapping[str, Any]) -> T:
    """An instance of exactly ``cls`` from its JSON object."""
    fields = _fields(cls)
    values: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for name, value in data.items():
        found = fields.get(name)
        if found is not None:
            values[found.name] = _decode_value(found.metadata["kind"], value)
        elif name != "@odata.type" and not name.startswith("@odata.context"):
            extra[name] = value
    build: Any = cls
    return cast(T, build(**values, additional_data=extra))


def decode_entity(base: type[E], data: Mapping[str, Any]) -> E:
    """An entity of the type its ``@odata.type`` names, when that type derives from ``base``;
    otherwise (no annotation, or a type this SDK does not know) of ``base``."""
    name = str(data.get("@odata.type", "")).removeprefix("#")
    cls = ENTITY_TYPES.get(name)
    if cls is None or not issubclass(cls, base):
        return decode(base, data)
    return decode(cls, data)


def encode_value(value: Any) -> Any:
    """A Python value as JSON: models as objects, enums as their names, date-times in UTC."""
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return encode(value)
    if isinstance(value, Mapping):
        return {str(k): encode_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode_value(v) for v in value]
    return value


def encode(instance: Any) -> dict[str, Any]:
    """A model instance as a JSON object of the members that are set (not None)."""
    body: dict[str, Any] = {}
    for name, f in _fields(type(instance)).items():
        value = getattr(instance, f.name)
        if value is not None and not name.startswith("@"):
            body[name] = encode_value(value)
    body.update(getattr(instance, "additional_data", {}))
    return body


def wire_changes(cls: type[Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword changes (``display_name=…``) as a JSON body for ``cls`` (``displayName``).

    Names are the model's attribute names; an unknown name is a :class:`TypeError`, like an
    unexpected keyword argument. ``None`` is kept: in a PATCH it clears the property.
    """
    by_attribute = {f.name: json for json, f in _fields(cls).items()}
    body: dict[str, Any] = {}
    for attribute, value in changes.items():
        json_name = by_attribute.get(attribute)
        if json_name is None or json_name.startswith("@"):
            known = ", ".join(sorted(a for a, j in by_attribute.items() if not j.startswith("@")))
            raise TypeError(f"{cls.__name__} has no property {attribute!r} (known: {known})")
        body[json_name] = encode_value(value)
    return body
