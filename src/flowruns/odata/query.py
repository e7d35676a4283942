"""System query options, parsed against the addressed type.

Option names are case-insensitive and the ``$`` may be left out. Custom options (names that
are not system options) are ignored, as OData allows; a ``$``-prefixed name that is not a system
option, a repeated option or a bad value is a 400 that names the option.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from flowruns.edm.capabilities import (
    DEFAULT_EXPAND_TOP,
    DEFAULT_PAGE_SIZE,
    MAX_EXPAND_DEPTH,
    MAX_FILTER_DEPTH,
    MAX_FILTER_NODES,
    MAX_LAMBDA_DEPTH,
    MAX_SKIP,
    MAX_TOP,
    QUERY_OPTIONS,
    UNSUPPORTED_OPTIONS,
)
from flowruns.edm.datetimes import now_ticks
from flowruns.edm.industrydata import MODEL
from flowruns.edm.model import EntityType, NavigationProperty, Property
from flowruns.errors import InvalidRequest
from flowruns.odata import search, syntax
from flowruns.odata.aggregation import parse_apply
from flowruns.odata.binder import Binder
from flowruns.odata.lexer import QuerySyntaxError, split_top_level
from flowruns.odata.literals import ascii_integer
from flowruns.odata.semantic import Aggregation, Expr, OrderItem, Traversal

_SYSTEM_OPTIONS = {o.name for o in QUERY_OPTIONS} | set(UNSUPPORTED_OPTIONS)


@dataclass
class QueryOptions:
    """The system query options of one request, as given (``None`` where absent)."""

    raw: dict[str, str] = field(default_factory=dict)
    top: int | None = None
    skip: int | None = None
    count: bool = False
    skiptoken: str | None = None
    deltatoken: str | None = None
    select: Selection | None = None
    orderby: list[OrderItem] = field(default_factory=list)
    filter: Expr | None = None
    search: Expr | None = None
    expand: list[ExpandItem] = field(default_factory=list)
    apply: Aggregation | None = None
    apply_order: list[tuple[str, bool]] = field(default_factory=list)  # result names
    # Every navigation the options follow — in $filter, $orderby, $apply and $expand, nested
    # $expand options included — as bound, whatever the spelling: what the read needs.
    traversals: list[Traversal] = field(default_factory=list)

    def fingerprint(self) -> str:
        """What a skiptoken of this query is bound to besides tenant, resource and order."""
        return "\x1f".join(self.raw.get(k, "") for k in ("filter", "search", "orderby"))


@dataclass(frozen=True)
class PageSize:
    """How many entities one page of a collection holds, and the ``odata.maxpagesize`` the
    server applied (None when the client stated none)."""

    size: int
    max_page_size: int | None


def page_size(top: int | None, max_page_size: int | None) -> PageSize:
    """The page-size policy: ``$top`` when given; the client's ``Prefer: odata.maxpagesize``
    when given and smaller (a page never exceeds :data:`MAX_TOP`, whatever it prefers); else
    :data:`DEFAULT_PAGE_SIZE`."""
    size = DEFAULT_PAGE_SIZE if top is None else top
    if max_page_size is None:
        return PageSize(size, None)
    applied = min(max_page_size, MAX_TOP)
    return PageSize(applied if top is None or applied < top else top, applied)


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


def parse_options(
    options: dict[str, str], entity_type: EntityType, *, now: int | None = None, depth: int = 0
) -> QueryOptions:
    """Parse the options that apply to a read of ``entity_type`` (a collection or one entity).

    ``depth`` is the ``$expand`` nesting these options sit at (0 for the request's own).
    """
    for name in UNSUPPORTED_OPTIONS:
        if name in options:
            raise InvalidRequest(f"The query option '${name}' is not supported.", target=name)
    now = now_ticks() if now is None else now
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
    if "deltatoken" in options:
        result.deltatoken = options["deltatoken"]
    if "select" in options:
        result.select = parse_select(options["select"], entity_type)
    if "apply" in options:
        if depth:
            raise QuerySyntaxError("$apply", 0, "$apply is not supported inside $expand")
        result.apply = parse_apply(
            options["apply"], entity_type, now, check_expression, result.traversals
        )
        for name in ("filter", "search", "select", "expand", "skiptoken"):
            if name in options:
                raise InvalidRequest(
                    f"'${name}' cannot be combined with $apply; put a filter(…) in $apply.",
                    target=f"${name}",
                )
        if "orderby" in options:
            result.apply_order = _result_order(options["orderby"], result.apply)
        return result
    traversals = result.traversals
    if "orderby" in options:
        result.orderby = parse_orderby(options["orderby"], entity_type, now, traversals=traversals)
    if "filter" in options:
        result.filter = parse_filter(options["filter"], entity_type, now, traversals=traversals)
    if "search" in options:
        # Over the entity's own displayName: it follows no navigation.
        result.search = search.parse_search(options["search"], entity_type)
        _check_search(result.search)
    if "expand" in options:
        result.expand = parse_expand(options["expand"], entity_type, now, depth, 0, traversals)
    return result


def _integer(text: str, name: str, maximum: int) -> int:
    value = ascii_integer(text.strip())
    if value is None:
        raise InvalidRequest(f"'{name}' must be a non-negative integer.", target=name)
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


def _result_order(text: str, aggregation: Aggregation) -> list[tuple[str, bool]]:
    """``$orderby`` after ``$apply``: names of the aggregated rows' properties."""
    names = aggregation.columns
    order: list[tuple[str, bool]] = []
    for item, at in split_top_level(text, ",", 0, "$orderby"):
        name, _, direction = item.strip().partition(" ")
        direction = direction.strip() or "asc"
        if name not in names or direction not in ("asc", "desc"):
            raise QuerySyntaxError(
                "$orderby", at, f"after $apply, order by one of {', '.join(names)} (asc or desc)"
            )
        order.append((name, direction == "desc"))
    return order


def parse_filter(
    text: str,
    entity_type: EntityType,
    now: int,
    option: str = "$filter",
    *,
    traversals: list[Traversal] | None = None,
) -> Expr:
    """A ``$filter`` expression bound to ``entity_type``, within the size limits; the
    navigations it follows are added to ``traversals``."""
    if len(text) > MAX_FILTER_NODES * 40:
        raise QuerySyntaxError(
            option, 0, f"the expression is longer than {MAX_FILTER_NODES * 40} characters"
        )
    node = syntax.parse_expression(text, option)
    check_expression(node, option)
    return _binder(entity_type, option, now, traversals).boolean(node)


def _check_search(expr: Expr) -> None:
    """``$search`` within the limits of a common expression: its terms and operators count as
    nodes, and a chain of one ``AND`` or ``OR`` as one level."""
    nodes, depth = search.size(expr)
    if nodes > MAX_FILTER_NODES:
        raise QuerySyntaxError(
            "$search", 0, f"{nodes} terms and operators; at most {MAX_FILTER_NODES} are allowed"
        )
    if depth > MAX_FILTER_DEPTH:
        raise QuerySyntaxError(
            "$search", 0, f"it nests {depth} levels; at most {MAX_FILTER_DEPTH} are allowed"
        )


def check_expression(node: syntax.Node, option: str, position: int = 0) -> None:
    """The limits every common expression is held to, in whichever option it is written:
    checked on the syntax tree, before anything is bound or executed."""
    size = syntax.size(node)
    if size.nodes > MAX_FILTER_NODES:
        raise QuerySyntaxError(
            option,
            position,
            f"the expression has {size.nodes} nodes; at most {MAX_FILTER_NODES} are allowed",
        )
    if size.depth > MAX_FILTER_DEPTH:
        raise QuerySyntaxError(
            option,
            position,
            f"the expression nests {size.depth} levels; at most {MAX_FILTER_DEPTH} are allowed",
        )
    if size.lambdas > MAX_LAMBDA_DEPTH:
        raise QuerySyntaxError(
            option,
            position,
            f"the expression nests {size.lambdas} any/all lambdas; "
            f"at most {MAX_LAMBDA_DEPTH} are allowed",
        )


def parse_orderby(
    text: str,
    entity_type: EntityType,
    now: int,
    option: str = "$orderby",
    *,
    traversals: list[Traversal] | None = None,
) -> list[OrderItem]:
    """``$orderby``: any expression over the entity's properties, ``asc`` or ``desc``; the
    navigations it follows are added to ``traversals``."""
    binder = _binder(entity_type, option, now, traversals)
    items: list[OrderItem] = []
    for node, descending in syntax.parse_order_items(text, option):
        check_expression(node, option, node.position)
        items.extend(binder.order_items(node, descending, text))
    return items


def _binder(
    entity_type: EntityType, option: str, now: int, traversals: list[Traversal] | None
) -> Binder:
    return Binder(
        MODEL, entity_type, option, now, traversals=[] if traversals is None else traversals
    )


@dataclass(frozen=True)
class ExpandItem:
    """One ``$expand`` item: a navigation, its target type and its nested options."""

    navigation: NavigationProperty
    target: EntityType
    options: QueryOptions
    ref: bool = False

    @property
    def top(self) -> int:
        return self.options.top if self.options.top is not None else DEFAULT_EXPAND_TOP


_EXPAND_SINGLE = {"select", "expand"}
_EXPAND_MANY = {"select", "expand", "filter", "orderby", "top", "skip", "count", "search"}


_EXPAND_ITEM = re.compile(r"\s*(?P<path>[^()\s]+)\s*(?:\((?P<options>.*)\))?\s*", re.DOTALL)


def parse_expand(
    text: str,
    entity_type: EntityType,
    now: int,
    depth: int = 0,
    offset: int = 0,
    traversals: list[Traversal] | None = None,
) -> list[ExpandItem]:
    """``$expand``: navigations with nested options, at most two levels deep. Each expanded
    navigation and every navigation its nested options follow are added to ``traversals``."""
    option = "$expand"
    followed: list[Traversal] = [] if traversals is None else traversals
    if depth >= MAX_EXPAND_DEPTH:
        raise QuerySyntaxError(option, offset, f"$expand nests at most {MAX_EXPAND_DEPTH} levels")
    items: list[ExpandItem] = []
    for part, at in split_top_level(text, ",", offset, option):
        match = _EXPAND_ITEM.fullmatch(part)
        if match is None or not match["path"]:
            raise QuerySyntaxError(option, at, "expected a navigation property")
        path = match["path"]
        if path == "*":
            if match["options"] is not None:
                raise QuerySyntaxError(option, at, "'*' takes no nested options")
            for nav in entity_type.navigations:
                followed.append(Traversal(entity_type, nav, _target(nav)))
                items.append(ExpandItem(nav, _target(nav), QueryOptions()))
            continue
        segments = path.split("/")
        ref = segments[-1] == "$ref"
        if ref or segments[-1] == "$count":
            if segments[-1] == "$count":
                raise QuerySyntaxError(option, at, "'$count' in $expand is not supported")
            segments.pop()
        source_type = entity_type
        if len(segments) == 2:  # ns.derivedType/navigation
            cast = MODEL.entity_type(segments[0])
            if cast is None or not cast.is_a(entity_type):
                raise QuerySyntaxError(option, at, f"'{segments[0]}' is not a derived type")
            source_type = cast
        elif len(segments) != 1:
            raise QuerySyntaxError(option, at, f"'{path}' is not a navigation property")
        name = segments[-1]
        navigation = next(
            (n for n in source_type.navigations if n.name.lower() == name.lower()), None
        )
        if navigation is None:
            raise QuerySyntaxError(
                option, at, f"'{name}' is not a navigation property of {source_type.qualified_name}"
            )
        nested = QueryOptions()
        if match["options"] is not None:
            nested = _nested_options(
                match["options"], navigation, now, depth, at + match.start("options")
            )
        followed.append(Traversal(source_type, navigation, _target(navigation)))
        followed.extend(nested.traversals)
        items.append(ExpandItem(navigation, _target(navigation), nested, ref))
    return items


def _target(navigation: NavigationProperty) -> EntityType:
    target = MODEL.entity_type(navigation.target)
    assert target is not None
    return target


def _nested_options(
    text: str, navigation: NavigationProperty, now: int, depth: int, offset: int
) -> QueryOptions:
    allowed = _EXPAND_MANY if navigation.collection else _EXPAND_SINGLE
    options: dict[str, str] = {}
    for part, at in split_top_level(text, ";", offset, "$expand"):
        name, equals, value = part.partition("=")
        key = name.strip().lower().removeprefix("$")
        if not equals or key not in allowed:
            raise QuerySyntaxError(
                "$expand", at, f"'{name.strip()}' is not an option of an expanded {navigation.name}"
            )
        if key in options:
            raise QuerySyntaxError("$expand", at, f"'${key}' is given more than once")
        options[key] = value
    return parse_options(options, _target(navigation), now=now, depth=depth + 1)
