"""Resolving resource paths against the model.

A path below the service root (``external/industryData/runs('…')/process/$ref``) becomes a
small typed tree: which entity set the rows live in, which navigation led there, which type
cast applies, and what is finally addressed (collection, entity, count, reference, function).
Segment names are matched case-insensitively; keys may be written ``runs/{id}`` or
``runs('{id}')``. :func:`template` names the route a resolved path belongs to, which selects its
entry in the route table.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from flowruns.edm.industrydata import (
    ACCESSES,
    CONTAINED,
    DATASETS,
    ENTITY_SETS,
    HUB_PATH,
    INCIDENTS,
    MODEL,
    PROCESSES,
    RUNS,
    SUBSCRIPTIONS_PATH,
    external,
    industry_data_hub,
    subscription,
)
from flowruns.edm.model import (
    EntitySetBinding,
    EntityType,
    Function,
    GraphOnly,
    NavigationProperty,
)
from flowruns.errors import BadRequest, NotSupported

# Matched with fullmatch: a segment is a key only when nothing, not even a newline, follows it.
_KEY_IN_PARENS = re.compile(r"(?P<name>[^(]*)\((?P<key>.*)\)", re.DOTALL)
_NAMED_KEY = re.compile(r"id=(?P<key>.*)", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Via:
    """Rows reached through ``navigation`` of the entity ``source``."""

    source: EntityRef
    navigation: NavigationProperty


@dataclass(frozen=True)
class CollectionRef:
    """A collection of entities: an entity set, or a collection-valued navigation."""

    binding: EntitySetBinding
    via: Via | None = None
    cast: EntityType | None = None

    @property
    def type(self) -> EntityType:
        return self.cast or self.binding.type

    def context(self) -> str:
        base = (
            f"{self.via.source.context()}/{self.via.navigation.name}"
            if self.via
            else (f"{HUB_PATH}/{self.binding.name}")
        )
        return f"{base}/{self.cast.qualified_name}" if self.cast else base


@dataclass(frozen=True)
class EntityRef:
    """One entity: a key into a collection, or a single-valued navigation (``key`` is None)."""

    binding: EntitySetBinding
    key: str | None
    via: Via | None = None
    cast: EntityType | None = None
    collection: CollectionRef | None = None

    @property
    def type(self) -> EntityType:
        return self.cast or (self.collection.type if self.collection else self.binding.type)

    def context(self) -> str:
        """The path of this entity, for ``@odata.context`` of what hangs below it."""
        if self.collection is not None:
            base = f"{self.collection.context()}('{self.key}')"
        else:
            assert self.via is not None
            base = f"{self.via.source.context()}/{self.via.navigation.name}"
        return f"{base}/{self.cast.qualified_name}" if self.cast else base

    def entity_context(self) -> str:
        """The context URL fragment of this entity itself."""
        if self.collection is not None:
            base = self.collection.context()
        else:
            assert self.via is not None
            base = f"{self.via.source.context()}/{self.via.navigation.name}"
        return f"{base}/{self.cast.qualified_name}/$entity" if self.cast else f"{base}/$entity"


@dataclass(frozen=True)
class ServiceDocument:
    pass


@dataclass(frozen=True)
class Metadata:
    pass


@dataclass(frozen=True)
class Batch:
    """``$batch``: a JSON batch of requests, each answered as if it were sent alone."""


@dataclass(frozen=True)
class Lineage:
    """``api/v1/lineage``: where OpenLineage clients post their events (also at the host root,
    where their default endpoint puts it)."""


# Below the service root and at the host root: the path OpenLineage clients post events to.
LINEAGE_PATH = "/api/v1/lineage"
_LINEAGE_SEGMENTS = LINEAGE_PATH.strip("/").split("/")


@dataclass(frozen=True)
class Hub:
    """A singleton on the way to the collections: the hub, or the ``external`` root above it."""

    type: EntityType = field(default_factory=lambda: industry_data_hub)
    path: str = HUB_PATH


@dataclass(frozen=True)
class Count:
    collection: CollectionRef

    @property
    def type(self) -> EntityType:
        return self.collection.type


@dataclass(frozen=True)
class Ref:
    """``…/$ref``: the link itself, of a single-valued navigation, a collection or one member."""

    target: CollectionRef | EntityRef

    @property
    def type(self) -> EntityType:
        return self.target.type


@dataclass(frozen=True)
class FunctionCall:
    entity: EntityRef
    function: Function


@dataclass(frozen=True)
class CollectionCall:
    """A function bound to a collection, e.g. ``runs/delta()``; its query options bind to the
    collection's type."""

    collection: CollectionRef
    function: Function

    @property
    def type(self) -> EntityType:
        return self.collection.type


@dataclass(frozen=True)
class Subscriptions:
    """``subscriptions`` at the service root; with ``key``, one subscription; with
    ``reauthorize`` as well, its ``reauthorize`` action."""

    key: str | None = None
    reauthorize: bool = False

    @property
    def type(self) -> EntityType:
        return subscription


REAUTHORIZE = "reauthorize"

Resource = (
    ServiceDocument
    | Subscriptions
    | Metadata
    | Batch
    | Lineage
    | Hub
    | CollectionRef
    | EntityRef
    | Count
    | Ref
    | FunctionCall
    | CollectionCall
)


def addressed_type(resource: Resource) -> EntityType | None:
    """The entity type ``resource`` holds, which its query options bind to (None for the
    service document, ``$metadata`` and a function's result)."""
    match resource:
        case Hub() | CollectionRef() | EntityRef() | Count() | Ref() | CollectionCall():
            return resource.type
        case Subscriptions():
            return resource.type
        case _:
            return None


def binding_for(entity_type: EntityType) -> EntitySetBinding:
    """The entity set whose table stores entities of ``entity_type``."""
    return next(b for b in _BINDINGS if entity_type.is_a(b.type))


_BINDINGS = (RUNS, PROCESSES, INCIDENTS, DATASETS, ACCESSES, *CONTAINED)
_HUB = HUB_PATH.split("/")
_HUB_LOWER = [segment.lower() for segment in _HUB]
_SETS_BY_LOWER_NAME = {name.lower(): binding for name, binding in ENTITY_SETS.items()}


def resolve(path: str) -> Resource:
    """Resolve ``path`` (below the service root, without query) or raise 400."""
    raw = [s for s in path.split("/") if s]
    segments = [unquote(s) for s in raw]
    for segment in segments:
        # No name or key holds a NUL, and PostgreSQL cannot even compare one: refuse it here.
        if "\x00" in segment:
            raise _no_segment(segment.replace("\x00", "\\0"))
    if not segments:
        return ServiceDocument()
    if len(segments) == 1 and segments[0].lower() == "$metadata":
        return Metadata()
    if len(segments) == 1 and segments[0].lower() == "$batch":
        return Batch()
    if [segment.lower() for segment in segments] == _LINEAGE_SEGMENTS:
        return Lineage()
    if _split_key(segments[0])[0].lower() == SUBSCRIPTIONS_PATH:
        return _resolve_subscriptions(segments)
    if len(segments) == 1 and segments[0].lower() == _HUB[0].lower():
        return Hub(external, _HUB[0])
    for i, expected in enumerate(_HUB_LOWER):
        if len(segments) <= i or segments[i].lower() != expected:
            bad = segments[i] if len(segments) > i else segments[-1]
            raise _no_segment(bad)
    rest = segments[len(_HUB) :]
    if not rest:
        return Hub()
    return _resolve_below_hub(rest)


def _resolve_subscriptions(segments: list[str]) -> Subscriptions:
    """``subscriptions``, ``subscriptions/{id}`` (or ``('{id}')``) and
    ``subscriptions/{id}/reauthorize`` (also namespace-qualified)."""
    _, key = _split_key(segments[0])
    rest = segments[1:]
    if key is None and rest:
        key, rest = rest[0], rest[1:]
    if not rest:
        return Subscriptions(key)
    action = rest[0].removesuffix("()")
    if len(rest) > 1 or action.rsplit(".", 1)[-1].lower() != REAUTHORIZE:
        raise _no_segment(rest[-1])
    return Subscriptions(key, reauthorize=True)


def graph_only_paths() -> list[tuple[str, GraphOnly]]:
    """Every path of Microsoft Graph that the model declares flowruns does not implement
    (``graph_only``), below the service root, with the member it goes through."""
    return [
        (_graph_only_address(owner, member), member)
        for owner in MODEL.entity_types.values()
        for member in owner.graph_only
    ]


def _graph_only_address(owner: EntityType, member: GraphOnly) -> str:
    if owner is industry_data_hub:
        return f"{HUB_PATH}/{member.name}"
    collection = f"{HUB_PATH}/{binding_for(owner).name}"
    return (
        f"{collection}/{member.name}"
        if member.on_collection
        else (f"{collection}/{{id}}/{member.name}")
    )


def _not_implemented(entity_type: EntityType, name: str, *, on_collection: bool) -> None:
    """501 when ``name`` (a segment after an entity of ``entity_type``, or after a collection
    of them) is a Graph member the model declares flowruns does not implement."""
    short = name.rsplit(".", 1)[-1] if name.lower().startswith("microsoft.graph.") else name
    for owner in entity_type.lineage():
        for member in owner.graph_only:
            if member.name.lower() == short.lower() and member.on_collection == on_collection:
                raise NotSupported(
                    f"{_graph_only_address(owner, member)} is a Microsoft Graph {member.kind} "
                    "that flowruns does not implement.",
                    target=member.name,
                )


def _no_segment(segment: str) -> BadRequest:
    return BadRequest(f"Resource not found for the segment '{segment}'.")


def _split_key(segment: str) -> tuple[str, str | None]:
    match = _KEY_IN_PARENS.fullmatch(segment)
    if match is None:
        return segment, None
    if not match["key"]:
        return match["name"], None  # `name()`: a function call without parameters
    return match["name"], _parse_key(match["key"], segment)


def _parse_key(text: str, segment: str) -> str:
    named = _NAMED_KEY.fullmatch(text)
    if named is not None:
        text = named["key"]
    if len(text) >= 2 and text[0] == "'" and text[-1] == "'":
        inner = text[1:-1]
        if re.search(r"(?<!')'(?!')", inner.replace("''", "")):
            raise BadRequest(f"The key in segment '{segment}' is not a valid string literal.")
        return inner.replace("''", "'")
    if not text or "'" in text:
        raise BadRequest(f"The key in segment '{segment}' is not valid.")
    return text


def _resolve_below_hub(segments: list[str]) -> Resource:
    name, key = _split_key(segments[0])
    binding = _SETS_BY_LOWER_NAME.get(name.lower())
    if binding is None:
        _not_implemented(industry_data_hub, name, on_collection=False)
        raise _no_segment(segments[0])
    collection = CollectionRef(binding)
    current: CollectionRef | EntityRef = collection
    if key is not None:
        current = EntityRef(binding, key, collection=collection)
    for index, segment in enumerate(segments[1:], start=1):
        last = index == len(segments) - 1
        lower = segment.lower()
        if lower == "$count":
            if not last or not isinstance(current, CollectionRef):
                raise _no_segment(segment)
            return Count(current)
        if lower == "$ref":
            if not last:
                raise _no_segment(segment)
            return Ref(current)
        if isinstance(current, CollectionRef):
            name, key = _split_key(segment)
            function = _function(current.type, name, key, collection=True)
            if function is not None:
                if not last:
                    raise _no_segment(segments[index + 1])
                return CollectionCall(current, function)
            current = _step_from_collection(current, segment)
            continue
        step = _step_from_entity(current, segment)
        if isinstance(step, FunctionCall):
            if not last:
                raise _no_segment(segments[index + 1])
            return step
        current = step
    return current


def _cast(binding: EntitySetBinding, current_type: EntityType, segment: str) -> EntityType | None:
    if "." not in segment:
        return None
    target = MODEL.entity_type(segment)
    if target is None:
        return None
    # Within the entity set's own type: a cast up to a base type would address rows of every
    # type of that base (runGroups/…run lists plain runs; …/microsoft.graph.entity has no table).
    if not target.is_a(binding.type) or not (
        target.is_a(current_type) or current_type.is_a(target)
    ):
        raise BadRequest(
            f"'{target.qualified_name}' is not a type of {current_type.qualified_name}; "
            "it cannot be used as a cast here."
        )
    return target


def _step_from_collection(current: CollectionRef, segment: str) -> CollectionRef | EntityRef:
    cast = _cast(current.binding, current.type, segment)
    if cast is not None:
        if current.cast is not None:
            raise _no_segment(segment)
        return CollectionRef(current.binding, current.via, cast)
    name, key = _split_key(segment)
    _not_implemented(current.type, name, on_collection=True)
    if segment.lower().startswith("microsoft.graph."):
        raise _no_segment(segment)
    if key is not None:
        raise _no_segment(segment)
    return EntityRef(current.binding, name, collection=current)


def _step_from_entity(current: EntityRef, segment: str) -> CollectionRef | EntityRef | FunctionCall:
    cast = _cast(current.binding, current.type, segment)
    if cast is not None:
        if current.cast is not None:
            raise _no_segment(segment)
        return EntityRef(current.binding, current.key, current.via, cast, current.collection)
    name, key = _split_key(segment)
    function = _function(current.type, name, key, collection=False)
    if function is not None:
        return FunctionCall(current, function)
    nav = next((n for n in current.type.navigations if n.name.lower() == name.lower()), None)
    if nav is None:
        _not_implemented(current.type, name, on_collection=False)
        raise _no_segment(segment)
    target_binding = binding_for(_target(nav))
    if nav.collection:
        collection = CollectionRef(target_binding, Via(current, nav))
        if key is None:
            return collection
        return EntityRef(target_binding, key, collection=collection)
    if key is not None:
        raise _no_segment(segment)
    return EntityRef(target_binding, None, via=Via(current, nav))


def _function(
    entity_type: EntityType, name: str, key: str | None, *, collection: bool
) -> Function | None:
    """The function of ``entity_type`` (bound to one entity, or with ``collection`` to a
    collection of them) that ``name`` calls, with or without its namespace."""
    short = name.rsplit(".", 1)[-1] if name.lower().startswith("microsoft.graph.") else name
    function = next(
        (
            f
            for t in entity_type.lineage()
            for f in t.functions
            if f.name.lower() == short.lower() and f.collection == collection
        ),
        None,
    )
    if function is None:
        return None
    if key is not None:
        raise BadRequest(f"Function '{function.name}' takes no parameters.")
    return function


KeyName = Callable[[EntityType], str]


def any_key(_: EntityType) -> str:
    """Every key written ``{id}``: the route templates of the route table and of metrics."""
    return "{id}"


def template(resource: Resource, key: KeyName = any_key) -> str:
    """The template of the route that serves ``resource``: its path below the service root with
    every key written by ``key`` (given the entity type whose key it is), e.g.
    ``/external/industryData/runs/{id}/process``; ``""`` for the service document itself.

    Type casts are left out: a cast narrows what a route answers, it is not another route. A
    navigation or bound function starts from the own address of the type that declares it,
    however it was reached (``runs/{id}/process/runs`` is ``processes/{id}/runs``, and a run
    group reached through ``runs/{id}/…runGroup`` has its members at ``runGroups/{id}/runs``),
    so chains of navigations do not grow the set: the templates are the routes.
    """
    match resource:
        case ServiceDocument():
            return ""
        case Metadata():
            return "/$metadata"
        case Subscriptions(key=subscription_key, reauthorize=reauthorize):
            if subscription_key is None:
                return f"/{SUBSCRIPTIONS_PATH}"
            entity = f"/{SUBSCRIPTIONS_PATH}/{key(subscription)}"
            return f"{entity}/{REAUTHORIZE}" if reauthorize else entity
        case Batch():
            return "/$batch"
        case Lineage():
            return LINEAGE_PATH
        case Hub(path=hub):
            return f"/{hub}"
        case CollectionRef():
            return _collection_template(resource, key)
        case EntityRef():
            return _entity_template(resource, key)
        case Count(collection=collection):
            return f"{_collection_template(collection, key)}/$count"
        case Ref(target=target):
            return f"{template(target, key)}/$ref"
        case FunctionCall(entity=entity, function=function):
            owner = next(t for t in entity.type.lineage() if function in t.functions)
            return f"{_address(owner, key)}/{function.name}"
        case CollectionCall(collection=collection, function=function):
            return f"{_collection_template(collection, key)}/{function.name}"


# The entity set whose own type each type is: where an entity of that type has its address.
_SET_OF_TYPE = {binding.type.qualified_name: binding for binding in ENTITY_SETS.values()}


def _address(owner: EntityType, key: KeyName) -> str:
    """The canonical address of an entity of type ``owner``: a key into the entity set of that
    type, or else into the set that stores it, cast to ``owner``."""
    binding = _SET_OF_TYPE.get(owner.qualified_name)
    if binding is not None:
        return f"/{HUB_PATH}/{binding.name}/{key(binding.type)}"
    holder = binding_for(owner)
    return f"/{HUB_PATH}/{holder.name}/{key(holder.type)}/{owner.qualified_name}"


def _source(via: Via, key: KeyName) -> str:
    """Where the navigation of ``via`` starts: the address of the type that declares it."""
    owner = next(
        t for t in via.source.type.lineage() if any(n is via.navigation for n in t.own_navigations)
    )
    return _address(owner, key)


def _collection_template(collection: CollectionRef, key: KeyName) -> str:
    if collection.via is None:
        return f"/{HUB_PATH}/{collection.binding.name}"
    return f"{_source(collection.via, key)}/{collection.via.navigation.name}"


def _entity_template(entity: EntityRef, key: KeyName) -> str:
    if entity.collection is not None:
        collection = entity.collection
        members = collection.binding.type
        if collection.via is not None:
            members = _target(collection.via.navigation)
        return f"{_collection_template(collection, key)}/{key(members)}"
    assert entity.via is not None
    return f"{_source(entity.via, key)}/{entity.via.navigation.name}"


def _target(navigation: NavigationProperty) -> EntityType:
    target = MODEL.entity_type(navigation.target)
    assert target is not None
    return target


def resolve_reference(url: str, service_root_path: str) -> EntityRef:
    """The entity an ``@odata.id`` or ``@odata.bind`` URL names.

    The URL may be absolute (its path must lie below the service root) or relative to the
    service root (``external/industryData/processes/{id}``).
    """
    try:
        parts = urlsplit(url)
    except ValueError:  # a malformed host: an unclosed '[', not an IP address, NFKC delimiters
        raise BadRequest(f"'{url}' is not a valid URL.") from None
    path = parts.path
    if parts.scheme or parts.netloc or path.startswith("/"):
        prefix = service_root_path.rstrip("/") + "/"
        if not path.startswith(prefix):
            raise BadRequest(f"'{url}' is not a URL of this service.")
        path = path[len(prefix) :]
    try:
        resource = resolve(path)
    except BadRequest:
        raise BadRequest(f"'{url}' does not name an entity of this service.") from None
    if not isinstance(resource, EntityRef) or resource.key is None:
        raise BadRequest(f"'{url}' does not name a single entity.")
    return resource
