"""The building blocks of an entity data model (EDM).

These classes describe types; they hold no data and know nothing of HTTP or SQL. The one
declaration of the flowruns model lives in :mod:`flowruns.edm.industrydata`; validation, JSON,
storage and ``$metadata`` are all derived from it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property


class Primitive(Enum):
    """The EDM primitive types the model uses."""

    STRING = "Edm.String"
    DATE_TIME_OFFSET = "Edm.DateTimeOffset"
    GUID = "Edm.Guid"
    INT64 = "Edm.Int64"
    BOOLEAN = "Edm.Boolean"
    DOUBLE = "Edm.Double"


@dataclass(frozen=True)
class EnumType:
    """An enumeration; members are in declaration order and their values are 0, 1, 2, …"""

    namespace: str
    name: str
    members: tuple[str, ...]

    @property
    def qualified_name(self) -> str:
        return f"{self.namespace}.{self.name}"

    def value_of(self, member: str) -> int:
        return self.members.index(member)


@dataclass(frozen=True)
class ComplexType:
    """A structured type without identity (``publicError``, ``runStatistics``)."""

    namespace: str
    name: str
    properties: tuple[Property, ...] = ()
    open: bool = False

    @property
    def qualified_name(self) -> str:
        return f"{self.namespace}.{self.name}"

    def find_property(self, name: str) -> Property | None:
        return next((p for p in self.properties if p.name == name), None)


PropertyType = Primitive | EnumType | ComplexType


@dataclass(frozen=True)
class Property:
    """A structural property.

    ``max_length`` and ``min_length`` apply to strings; ``read_only`` ones are computed by
    the server; an ``etag`` property holds the entity's ETag. A property not ``stored`` is
    computed when an entity is read (no column holds it): it cannot be filtered or ordered by,
    and is written only where the read computed it.
    """

    name: str
    type: PropertyType
    nullable: bool = True
    collection: bool = False
    read_only: bool = False
    key: bool = False
    required: bool = False
    min_length: int | None = None
    max_length: int | None = None
    description: str = ""
    etag: bool = False
    stored: bool = True

    @property
    def type_name(self) -> str:
        name = self.type.value if isinstance(self.type, Primitive) else self.type.qualified_name
        return f"Collection({name})" if self.collection else name


@dataclass(frozen=True)
class NavigationProperty:
    """A link from one entity type to another, named by the target type's qualified name.

    ``partner`` names the navigation of the target type that leads back, when the
    relationship is two-way; ``read_only`` links cannot be changed from this side;
    ``insertable`` says whether a POST to a collection-valued navigation creates an entity
    (``insert_note`` tells clients what to do instead when it does not).
    """

    name: str
    target: str
    collection: bool
    contains_target: bool = False
    read_only: bool = False
    description: str = ""
    partner: str | None = None
    nullable: bool = True
    insertable: bool = True
    insert_note: str = ""


@dataclass(frozen=True)
class Term:
    """A term of a vocabulary: an instance annotation, named ``@<namespace>.<name>`` in the
    JSON, that entities carry when a client asks for it (``Prefer:
    odata.include-annotations``) or that a client sends with one (a subscription's format)."""

    namespace: str
    name: str
    type: ComplexType | EnumType
    applies_to: str
    description: str = ""

    @property
    def qualified_name(self) -> str:
        return f"{self.namespace}.{self.name}"


@dataclass(frozen=True)
class GraphOnly:
    """A member Microsoft Graph declares on a type that flowruns does not implement
    (``kind``: navigation, function or action). A path through it answers 501 ``notSupported``
    naming it, rather than a 400 or 404 that would say the path does not exist. ``on_collection``:
    bound to a collection of the type (Graph's ``runs/start``), not to one entity."""

    name: str
    kind: str
    on_collection: bool = False


@dataclass(frozen=True)
class Function:
    """A bound function without parameters, e.g. ``getErrorsAndWarningsFile()``.

    A ``collection`` function is bound to a collection of the declaring type and returns
    entities of that collection (``delta()``); ``return_type`` is then None. ``namespace`` is
    where ``$metadata`` declares it, when not the declaring type's own.
    """

    name: str
    return_type: Primitive | None = None
    collection: bool = False
    namespace: str | None = None


@dataclass
class EntityType:
    """An entity type; ``base`` is filled in when the model is assembled.

    ``read_only`` types are never changed or deleted through the API (the hub).
    """

    namespace: str
    name: str
    base_name: str | None = None
    abstract: bool = False
    own_properties: tuple[Property, ...] = ()
    own_navigations: tuple[NavigationProperty, ...] = ()
    functions: tuple[Function, ...] = ()
    description: str = ""
    read_only: bool = False
    graph_only: tuple[GraphOnly, ...] = ()
    base: EntityType | None = field(default=None, repr=False)
    derived: list[EntityType] = field(default_factory=list, repr=False)

    @property
    def qualified_name(self) -> str:
        return f"{self.namespace}.{self.name}"

    def lineage(self) -> Iterator[EntityType]:
        """This type, then its base, then the base's base…"""
        node: EntityType | None = self
        while node is not None:
            yield node
            node = node.base

    # Cached: read for every row written out, and fixed once the model is assembled.
    @cached_property
    def properties(self) -> tuple[Property, ...]:
        chain = list(self.lineage())
        return tuple(p for t in reversed(chain) for p in t.own_properties)

    @cached_property
    def navigations(self) -> tuple[NavigationProperty, ...]:
        chain = list(self.lineage())
        return tuple(n for t in reversed(chain) for n in t.own_navigations)

    def find_property(self, name: str) -> Property | None:
        return next((p for p in self.properties if p.name == name), None)

    def find_navigation(self, name: str) -> NavigationProperty | None:
        return next((n for n in self.navigations if n.name == name), None)

    def function(self, name: str) -> Function | None:
        return next((f for t in self.lineage() for f in t.functions if f.name == name), None)

    def is_a(self, other: EntityType) -> bool:
        return any(t is other for t in self.lineage())

    def subtypes(self) -> Iterator[EntityType]:
        """This type and every type derived from it, at any depth."""
        yield self
        for child in self.derived:
            yield from child.subtypes()

    def concrete_subtypes(self) -> list[EntityType]:
        return [t for t in self.subtypes() if not t.abstract]

    @property
    def root(self) -> EntityType:
        return list(self.lineage())[-1]


@dataclass(frozen=True)
class EntitySetBinding:
    """A collection reachable under the hub, e.g. ``runs`` of type ``run``.

    ``table`` names the storage table shared by every type of the collection's root type;
    ``default_order`` is the property the collection is sorted by when the client gives none.
    """

    name: str
    type: EntityType
    table: str
    default_order: tuple[str, bool]  # (property, descending)


class Model:
    """A set of types, assembled and cross-linked."""

    def __init__(
        self,
        *,
        enums: list[EnumType],
        complex_types: list[ComplexType],
        entity_types: list[EntityType],
        terms: list[Term] | None = None,
    ) -> None:
        self.terms = {t.qualified_name: t for t in terms or ()}
        self.enums = {e.qualified_name: e for e in enums}
        self.complex_types = {c.qualified_name: c for c in complex_types}
        self.entity_types = {e.qualified_name: e for e in entity_types}
        for entity in entity_types:
            if entity.base_name is not None:
                entity.base = self.entity_types[entity.base_name]
                entity.base.derived.append(entity)
        self._by_lower = {name.lower(): t for name, t in self.entity_types.items()}

    @property
    def namespaces(self) -> list[str]:
        names = {t.namespace for t in self.entity_types.values()}
        names |= {t.namespace for t in self.complex_types.values()}
        names |= {t.namespace for t in self.enums.values()}
        names |= {t.namespace for t in self.terms.values()}
        return sorted(names)

    def entity_type(self, qualified_name: str) -> EntityType | None:
        """Look a type up by qualified name, ignoring case and a leading ``#``."""
        return self._by_lower.get(qualified_name.removeprefix("#").lower())
