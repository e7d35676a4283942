"""Reading request bodies against the model.

Turns a parsed JSON object into typed property values (ticks for date-times, member names for
enums, validated dicts for complex values) or raises :class:`InvalidRequest` naming the
offending property as ``target``. A body binds only what the model lets a body link: a
single-valued navigation that is not read-only. Business rules (invariants, lifecycle) are not
checked here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import orjson

from flowruns.edm import datetimes
from flowruns.edm.model import ComplexType, EntityType, EnumType, Model, Primitive, Property
from flowruns.errors import InvalidRequest
from flowruns.odata.nesting import MAX_NESTING

STATISTICS_MAX_BYTES = 64 * 1024
STATISTICS_MAX_DEPTH = 8


def _nul_error(target: str) -> InvalidRequest:
    # PostgreSQL text and JSONB cannot hold U+0000, so no engine accepts it.
    return InvalidRequest(f"'{target}' contains a NUL character (U+0000).", target=target)


@dataclass
class EntityBody:
    """A write body, read: its type, the properties it gives and the navigations it binds."""

    type: EntityType | None
    values: dict[str, Any] = field(default_factory=dict)
    binds: dict[str, str] = field(default_factory=dict)


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object, or 400 (also for a member named twice in one object)."""
    if not raw.strip():
        raise InvalidRequest("The request body is empty; send a JSON object.")
    check_json_nesting(raw)
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"The request body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    _refuse_duplicate_members(raw)
    return value


# A string (its escapes included) or a bracket: what decides how deep a JSON text nests.
_JSON_STRUCTURE = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


def check_json_nesting(raw: bytes) -> None:
    """400 when the JSON text ``raw`` nests arrays and objects deeper than
    :data:`~flowruns.odata.nesting.MAX_NESTING`: read from the bytes, before any parser (or
    any code walking what it returns) descends into them."""
    if raw.count(b"[") + raw.count(b"{") <= MAX_NESTING:
        return  # too few brackets to nest that deep: the usual body, checked at C speed
    depth = 0
    for match in _JSON_STRUCTURE.finditer(raw):
        token = match[0]
        if token in (b"[", b"{"):
            depth += 1
            if depth > MAX_NESTING:
                raise InvalidRequest(
                    f"The request body nests arrays and objects deeper than {MAX_NESTING} levels."
                )
        elif token in (b"]", b"}"):
            depth -= 1


def _members_once(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    members = dict(pairs)
    if len(members) < len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise InvalidRequest(
                    f"The request body names '{name}' twice in one object; "
                    "each member may appear once."
                )
            seen.add(name)
    return members


# orjson keeps the last of two equal names without a word; the standard library's reader hands
# every object's members over in order, which shows them. Reading the body a second time costs
# about 15 µs for a typical run create, and doubles the parse of a 1 MiB body (some 20 ms).
_STRICT_READER = json.JSONDecoder(object_pairs_hook=_members_once)


def _refuse_duplicate_members(raw: bytes) -> None:
    """400 when an object of ``raw`` (valid JSON, as orjson read it) names a member twice."""
    try:
        _STRICT_READER.decode(raw.decode())
    except RecursionError:
        raise InvalidRequest("The request body is nested too deeply.") from None


def read_entity(
    model: Model, body: dict[str, Any], expected: EntityType, *, partial: bool
) -> EntityBody:
    """Read an entity body whose type must be ``expected`` or derived from it.

    ``partial`` is for PATCH: absent properties are left out instead of being required.
    """
    entity_type = _read_type(model, body, expected)
    shape = entity_type or expected
    result = EntityBody(type=entity_type)
    for key, value in body.items():
        if key.startswith("@"):
            continue  # instance annotations (@odata.type was read above; others are informational)
        name, _, annotation = key.partition("@")
        if annotation:
            _read_annotation(shape, name, annotation, value, result)
            continue
        prop = shape.find_property(name)
        if prop is None and partial and entity_type is None:
            # A PATCH without @odata.type may set a property of the entity's derived type;
            # the service checks it against the stored entity's type.
            prop = next((p for t in expected.subtypes() if (p := t.find_property(name))), None)
        if prop is None:
            if shape.find_navigation(name) is not None:
                raise InvalidRequest(
                    f"'{name}' is a navigation property; link it with '{name}@odata.bind'.",
                    target=name,
                )
            raise InvalidRequest(
                f"'{name}' is not a property of {shape.qualified_name}.", target=name
            )
        if prop.key:
            continue  # ids are assigned by the server; a client-supplied one is ignored
        if prop.read_only:
            raise InvalidRequest(f"'{name}' is read-only.", target=name)
        result.values[name] = read_value(prop, value, name)
    if not partial:
        for prop in shape.properties:
            if prop.required and prop.name not in result.values:
                raise InvalidRequest(f"'{prop.name}' is required.", target=prop.name)
    return result


def _read_type(model: Model, body: dict[str, Any], expected: EntityType) -> EntityType | None:
    name = body.get("@odata.type")
    if name is None:
        return None
    if not isinstance(name, str):
        raise InvalidRequest("'@odata.type' must be a string.", target="@odata.type")
    entity_type = model.entity_type(name)
    if entity_type is None or not entity_type.is_a(expected):
        raise InvalidRequest(
            f"'{name}' is not {expected.qualified_name} or a type derived from it.",
            target="@odata.type",
        )
    return entity_type


def _read_annotation(
    shape: EntityType, name: str, annotation: str, value: object, result: EntityBody
) -> None:
    navigation = shape.find_navigation(name)
    if navigation is not None and annotation == "odata.bind":
        if navigation.collection or navigation.read_only:
            # A process's runs are linked from each run; a group's members with $ref.
            raise InvalidRequest(
                f"'{name}' of {shape.name} cannot be bound in a body."
                + (f" {navigation.insert_note}" if navigation.insert_note else ""),
                target=f"{name}@odata.bind",
            )
        if not isinstance(value, str):
            raise InvalidRequest(f"'{name}@odata.bind' must be a URL string.", target=name)
        result.binds[name] = value
        return
    if shape.find_property(name) is None and navigation is None:
        raise InvalidRequest(f"'{name}' is not a property of {shape.qualified_name}.", target=name)
    if annotation == "odata.bind":
        raise InvalidRequest(f"'{name}' cannot be bound; it is not a navigation.", target=name)


def read_value(prop: Property, value: object, target: str) -> Any:
    """One property value, typed and validated."""
    if value is None:
        if prop.collection:
            # OData: a collection holds no value as an empty collection, never as null.
            raise InvalidRequest(f"'{target}' is a collection; send [] for none.", target=target)
        if not prop.nullable:
            raise InvalidRequest(f"'{target}' cannot be null.", target=target)
        return None
    if prop.collection:
        if not isinstance(value, list):
            raise InvalidRequest(f"'{target}' must be a JSON array.", target=target)
        single = Property(prop.name, prop.type, nullable=False, max_length=prop.max_length)
        return [read_value(single, item, f"{target}[{i}]") for i, item in enumerate(value)]
    kind = prop.type
    if isinstance(kind, EnumType):
        if not isinstance(value, str) or value not in kind.members:
            raise InvalidRequest(
                f"'{target}' must be one of: {', '.join(kind.members)}.", target=target
            )
        return value
    if isinstance(kind, ComplexType):
        if kind.open:
            return read_open_object(value, target)
        return _read_complex(kind, value, target)
    if kind is Primitive.DATE_TIME_OFFSET:
        if not isinstance(value, str):
            raise InvalidRequest(f"'{target}' must be an ISO 8601 string.", target=target)
        try:
            return datetimes.parse(value)
        except datetimes.InvalidDateTime as exc:
            raise InvalidRequest(str(exc), target=target) from None
    if kind is Primitive.STRING:
        if not isinstance(value, str):
            raise InvalidRequest(f"'{target}' must be a string.", target=target)
        if "\x00" in value:
            raise _nul_error(target)
        if prop.min_length is not None and len(value) < prop.min_length:
            raise InvalidRequest(
                f"'{target}' must have at least {prop.min_length} character(s).", target=target
            )
        if prop.max_length is not None and len(value) > prop.max_length:
            raise InvalidRequest(
                f"'{target}' must have at most {prop.max_length} characters.", target=target
            )
        return value
    if kind is Primitive.BOOLEAN:
        if not isinstance(value, bool):
            raise InvalidRequest(f"'{target}' must be true or false.", target=target)
        return value
    if kind is Primitive.INT64:
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not INT64_MIN <= value <= INT64_MAX
        ):
            raise InvalidRequest(f"'{target}' must be a 64-bit integer.", target=target)
        return value
    if kind is Primitive.DOUBLE:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidRequest(f"'{target}' must be a number.", target=target)
        return float(value)
    raise InvalidRequest(f"'{target}' cannot be written.", target=target)


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def _read_complex(kind: ComplexType, value: object, target: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidRequest(f"'{target}' must be a JSON object.", target=target)
    result: dict[str, Any] = {}
    for key, item in value.items():
        if key.startswith("@"):
            continue
        prop = kind.find_property(key)
        if prop is None:
            raise InvalidRequest(
                f"'{key}' is not a property of {kind.qualified_name}.", target=f"{target}/{key}"
            )
        result[key] = read_value(prop, item, f"{target}/{key}")
    return result


def read_open_object(value: object, target: str) -> dict[str, Any]:
    """A free JSON object (``runStatistics``) within the size and depth limits."""
    if not isinstance(value, dict):
        raise InvalidRequest(f"'{target}' must be a JSON object.", target=target)
    cleaned = {k: v for k, v in value.items() if not k.startswith("@odata.")}
    check_open_object(cleaned, target)
    return cleaned


def check_open_object(value: dict[str, Any], target: str) -> None:
    """Enforce the statistics limits: serialized size, nesting depth."""
    if _deeper_than(value, STATISTICS_MAX_DEPTH):
        raise InvalidRequest(
            f"'{target}' is nested deeper than {STATISTICS_MAX_DEPTH} levels.", target=target
        )
    serialized = orjson.dumps(value)
    if len(serialized) > STATISTICS_MAX_BYTES:
        raise InvalidRequest(
            f"'{target}' is larger than {STATISTICS_MAX_BYTES // 1024} KiB serialized.",
            target=target,
        )
    if _contains_nul(value):
        raise _nul_error(target)


def _contains_nul(value: object) -> bool:
    stack: list[object] = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if "\x00" in node:
                return True
        elif isinstance(node, dict):
            stack.extend(node.keys())
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def _deeper_than(value: object, limit: int) -> bool:
    # Iterative: a hostile body may nest far beyond Python's recursion limit.
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        children: list[object]
        if isinstance(node, dict):
            children = list(node.values())
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth + 1 > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False
