"""System query options, parsed against the addressed type.

Option names are case-insensitive and the ``$`` may be left out. Custom options (names that
are not system options) are ignored, as OData allows; a ``$``-prefixed name that is not a system
option, a repeated option or a bad value is a 400 that names the option.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from flowruns.edm.model import EntityType, Property
from flowruns.errors import InvalidRequest, NotSupported

MAX_TOP = 999
MAX_SKIP = 10_000
DEFAULT_PAGE_SIZE = 100

_SYSTEM_OPTIONS = {
    "filter",
    "orderby",
    "top",
    "skip",
    "select",
    "expand",
    "count",
    "search",
    "apply",
    "skiptoken",
    "format",
    "compute",
    "deltatoken",
    "index",
    "levels",
    "schemaversion",
}
_NOT_YET = ("filter", "expand", "search", "apply", "compute", "deltatoken", "index", "levels")


@dataclass(frozen=True)
class OrderKey:
    """One ``$orderby`` item: a property and its direction."""

    property: Property
    descending: bool


@dataclass
class QueryOptions:
    """The system query options of one request, as given (``None`` where absent)."""

    raw: dict[str, str] = field(default_factory=dict)
    top: int | None = None
    skip: int | None = None
    count: bool = False
    skiptoken: str | None = None
    select: Selection | None = None
    orderby: list[OrderKey] = field(default_factory=list)


def split_options(query_string: str) -> dict[str, str]:
    """System options by lower-case name without ``$``; custom options are dropped."""
    options: dict[str, str] = {}
    for name, value in parse_qsl(query_string, keep_blank_values=True):
        key = name.lower()
        bare = key.removeprefix("$")
        if bare not in _SYSTEM_OPTIONS:
            if key.startswith("$"):
                raise InvalidRequest(f"'{name}' is not a supported query option.", target=name)
            continue
        if bare in options:
            raise InvalidRequest(f"The query option '${bare}' is given more than once.")
        options[bare] = value
    return options


def parse_options(options: dict[str, str], entity_type: EntityType) -> QueryOptions:
    """Parse the options that apply to a read of ``entity_type`` (a collection or one entity)."""
    for name in _NOT_YET:
        if name in options:
            raise NotSupported(f"The query option '${name}' is not supported yet.")
    fmt = options.get("format")
    if fmt is not None and fmt.lower().split(";")[0] not in ("json", "application/json"):
        raise InvalidRequest(f"'$format={fmt}' is not supported; use json.", target="$format")
    result = QueryOptions(raw=options)
    if "top" in options:
        result.top = _integer(options["top"], "$top", MAX_TOP)
    if "skip" in options:
        result.skip = _integer(options["skip"], "$skip", MAX_SKIP)
    if "count" in options:
        value = options["count"].lower()
        if value not in ("true", "false"):
            raise InvalidRequest("'$count' must be true or false.", target="$count")
        result.count = value == "true"
    if "skiptoken" in options:
        result.skiptoken = options["skiptoken"]
    if "select" in options:
        result.select = parse_select(options["select"], entity_type)
    if "orderby" in options:
        result.orderby = parse_orderby(options["orderby"], entity_type)
    return result


def _integer(text: str, name: str, maximum: int) -> int:
    if not re.fullmatch(r"\d{1,9}", text.strip()):
        raise InvalidRequest(f"'{name}' must be a non-negative integer.", target=name)
    value = int(text)
    if value > maximum:
        raise InvalidRequest(
            f"'{name}' is at most {maximum}; follow @odata.nextLink for more.", target=name
        )
    return value


@dataclass(frozen=True)
class Selection:
    """What ``$select`` keeps: property ``names`` (None: all) and the list as the context URL
    writes it (``displayName,status``, ``*``, ``ns.type/shareName``)."""

    names: list[str] | None
    context: str


def parse_select(text: str, entity_type: EntityType) -> Selection:
    """Property names to return; ``*`` means all. Derived-type properties may be qualified."""
    names: list[str] = []
    written: list[str] = []
    position = 0
    for item in text.split(","):
        name = item.strip()
        if name == "*":
            return Selection(None, "*")
        prop = _select_property(name, entity_type)
        if prop is None:
            raise InvalidRequest(
                f"$select: '{name}' at position {position} is not a property of "
                f"{entity_type.qualified_name}.",
                target="$select",
            )
        if prop.name not in names:
            names.append(prop.name)
            qualifier = name.rpartition("/")[0]
            written.append(f"{qualifier}/{prop.name}" if qualifier else prop.name)
        position += len(item) + 1
    return Selection(names, ",".join(written))


def _select_property(name: str, entity_type: EntityType) -> Property | None:
    if "/" in name:
        cast_name, _, name = name.rpartition("/")
        cast = next(
            (t for t in entity_type.subtypes() if t.qualified_name.lower() == cast_name.lower()),
            None,
        )
        if cast is None:
            return None
        entity_type = cast
    return next((p for p in entity_type.properties if p.name.lower() == name.lower()), None)


_ORDER_ITEM = re.compile(r"\s*(?P<path>[^\s,]+)(?:\s+(?P<dir>[A-Za-z]+))?\s*")


def parse_orderby(text: str, entity_type: EntityType) -> list[OrderKey]:
    """``$orderby`` items: top-level scalar properties with ``asc``/``desc``."""
    keys: list[OrderKey] = []
    position = 0
    for item in text.split(","):
        match = _ORDER_ITEM.fullmatch(item)
        if match is None:
            raise InvalidRequest(
                f"$orderby: expected a property at position {position}.", target="$orderby"
            )
        path, direction = match["path"], (match["dir"] or "asc").lower()
        prop = next((p for p in entity_type.properties if p.name.lower() == path.lower()), None)
        if prop is None or not prop.is_scalar:
            raise InvalidRequest(
                f"$orderby: '{path}' at position {position + match.start('path')} is not a "
                f"sortable property of {entity_type.qualified_name}.",
                target="$orderby",
            )
        if direction not in ("asc", "desc"):
            raise InvalidRequest(
                f"$orderby: expected 'asc' or 'desc' at position {position + match.start('dir')}.",
                target="$orderby",
            )
        keys.append(OrderKey(prop, direction == "desc"))
        position += len(item) + 1
    return keys
