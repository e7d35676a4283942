"""The typed expression tree: what a ``$filter``, ``$orderby`` or ``$apply`` means once bound to
the model.

Both executors read this tree: the SQL compiler (:mod:`flowruns.store.compiler`) and, in the
tests, a plain-Python reference evaluator. It imports nothing of flowruns but :mod:`flowruns.edm`,
so the store can compile it without depending on the parsers that build it. Values travel in
one representation everywhere:

=============  ============================================================
type           value
=============  ============================================================
STRING         ``str``
BOOLEAN        ``bool``
INT            ``int`` (Edm.Int64)
DOUBLE         ``float`` (Edm.Double; decimals are read as doubles)
DATE_TIME      ``int`` ticks (100 ns) since the Unix epoch, UTC
DATE           ``int`` days since the Unix epoch
DURATION       ``int`` ticks
ENUM           ``int`` member value
DYNAMIC        a JSON value (members of the open ``statistics`` object)
=============  ============================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum, StrEnum

from flowruns.edm.model import ComplexType, EntityType, EnumType, NavigationProperty, Property


class Kind(Enum):
    STRING = "Edm.String"
    BOOLEAN = "Edm.Boolean"
    INT = "Edm.Int64"
    DOUBLE = "Edm.Double"
    DATE_TIME = "Edm.DateTimeOffset"
    DATE = "Edm.Date"
    DURATION = "Edm.Duration"
    ENUM = "enum"
    DYNAMIC = "dynamic"  # an untyped JSON value
    NULL = "null"  # the literal null, before it meets a type
    COMPLEX = "complex"
    ENTITY = "entity"


@dataclass(frozen=True)
class Type:
    kind: Kind
    enum: EnumType | None = None
    complex: ComplexType | None = None
    entity: EntityType | None = None

    @property
    def name(self) -> str:
        if self.enum is not None:
            return self.enum.qualified_name
        if self.complex is not None:
            return self.complex.qualified_name
        if self.entity is not None:
            return self.entity.qualified_name
        return self.kind.value

    @property
    def numeric(self) -> bool:
        return self.kind in (Kind.INT, Kind.DOUBLE)


STRING = Type(Kind.STRING)
BOOLEAN = Type(Kind.BOOLEAN)
INT = Type(Kind.INT)
DOUBLE = Type(Kind.DOUBLE)
DATE_TIME = Type(Kind.DATE_TIME)
DATE = Type(Kind.DATE)
DURATION = Type(Kind.DURATION)
DYNAMIC = Type(Kind.DYNAMIC)
NULL = Type(Kind.NULL)


# -- row sources: whose properties an expression reads ----------------------------------


@dataclass(frozen=True)
class It:
    """The row being filtered or sorted (``$it``)."""

    type: EntityType


@dataclass(frozen=True)
class Related:
    """The entity a single-valued navigation of ``parent`` leads to (``process``)."""

    parent: Source
    navigation: NavigationProperty
    type: EntityType


@dataclass(frozen=True)
class Variable:
    """A lambda variable ranging over the entities of a collection-valued navigation."""

    name: str
    parent: Source
    navigation: NavigationProperty
    type: EntityType


Source = It | Related | Variable


@dataclass(frozen=True)
class Traversal:
    """A navigation a query follows: ``navigation`` of an entity of type ``source``, leading to
    entities of type ``target``. The permissions a read needs are decided from these."""

    source: EntityType
    navigation: NavigationProperty
    target: EntityType


# -- expressions -------------------------------------------------------------------------


@dataclass(frozen=True)
class Expr:
    type: Type


@dataclass(frozen=True)
class Const(Expr):
    value: object  # None for null
    position: int = field(default=-1, compare=False)  # where a literal was written


@dataclass(frozen=True)
class Column(Expr):
    """A stored property of ``source``; with ``cast``, null on rows not of that type."""

    source: Source
    property: Property
    cast: EntityType | None = None


@dataclass(frozen=True)
class JsonPath(Expr):
    """A member inside a JSON value: ``blockingError/code``, ``statistics/a/b``, ``e/code``.

    ``base`` is the stored complex or open property, or an element of a JSON collection.
    The type is the declared one (complex members) or DYNAMIC (open members).
    """

    base: Column | Element
    path: tuple[str, ...]


@dataclass(frozen=True)
class Element(Expr):
    """The current item of a lambda over a JSON collection (``inviteeUserIds``, ``details``)."""

    name: str


@dataclass(frozen=True)
class NavigationNull(Expr):
    """``process eq null``: whether a single-valued navigation leads nowhere."""

    related: Related
    negate: bool


@dataclass(frozen=True)
class TypeTest(Expr):
    """``isof(...)``: whether the entity of ``source`` is of one of ``types``."""

    source: Source
    types: frozenset[str]


@dataclass(frozen=True)
class Unary(Expr):
    op: str  # "not" or "neg"
    operand: Expr


@dataclass(frozen=True)
class Compare(Expr):
    """``eq ne gt ge lt le`` over operands of one comparable type (``type`` is BOOLEAN)."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Logical(Expr):
    op: str  # "and" or "or"
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Arithmetic(Expr):
    op: str  # add sub mul div divby mod
    left: Expr
    right: Expr


@dataclass(frozen=True)
class In(Expr):
    operand: Expr
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Function(Expr):
    """A canonical function by its lower-case name (``contains``, ``year``, ``length`` …), or
    one of the :class:`JsonFunction` s the binder adds."""

    name: str
    args: tuple[Expr, ...]


class JsonFunction(StrEnum):
    """The functions that read a DYNAMIC value (a member of the open ``statistics`` object) as
    one JSON type; the binder wraps such members in them wherever a typed value is needed.

    The typed readers give null unless the value has that JSON type (``NUMBER`` of ``"5"`` is
    null), the ``IS_`` tests are never null, and ``COUNT`` is the length of an array (null for
    anything else). Their names start with ``json.``, which no canonical function's does.
    """

    NUMBER = "json.number"
    STRING = "json.string"
    BOOLEAN = "json.boolean"
    IS_NUMBER = "json.isnumber"
    IS_STRING = "json.isstring"
    IS_BOOLEAN = "json.isboolean"
    IS_NULL = "json.isnull"
    COUNT = "json.count"


@dataclass(frozen=True)
class NavigationCount(Expr):
    """``runs/$count``: how many entities a collection-valued navigation holds."""

    parent: Source
    navigation: NavigationProperty
    type_: EntityType


@dataclass(frozen=True)
class EntityLambda(Expr):
    """``any``/``all`` over a collection-valued navigation; ``body`` None means ``any()``."""

    kind: str
    variable: Variable
    body: Expr | None


@dataclass(frozen=True)
class JsonLambda(Expr):
    """``any``/``all`` over a JSON array: a collection property or an open member."""

    kind: str
    collection: Column | JsonPath
    element: Element
    body: Expr | None


@dataclass(frozen=True)
class OrderItem:
    expr: Expr
    descending: bool
    text: str  # the item as written, for the skiptoken's binding


# -- $apply --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Key:
    """A ``groupby`` key: its value and where it goes in the result (``process/displayName``
    becomes ``{"process": {"displayName": …}}``)."""

    expr: Expr
    path: tuple[str, ...]


@dataclass(frozen=True)
class Aggregate:
    alias: str
    method: str  # sum, min, max, average, countdistinct, or "count" for $count
    expr: Expr | None

    @property
    def type(self) -> Type:
        """The type of the aggregated value: counts are integers, an average of durations a
        duration, of numbers a double; the others keep their operand's type."""
        if self.method in ("count", "countdistinct") or self.expr is None:
            return INT
        if self.method == "average":
            return DURATION if self.expr.type.kind is Kind.DURATION else DOUBLE
        return self.expr.type


@dataclass
class Aggregation:
    """A bound ``$apply``: rows kept by every filter, grouped by the keys (one group without
    keys), each group's aggregates computed."""

    filters: list[Expr] = field(default_factory=list)
    keys: list[Key] = field(default_factory=list)
    aggregates: list[Aggregate] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        """The top-level properties of every result row, for the context URL."""
        names: list[str] = []
        for name in [k.path[0] for k in self.keys] + [a.alias for a in self.aggregates]:
            if name not in names:
                names.append(name)
        return names

    @property
    def columns(self) -> list[str]:
        """The result's columns as ``$orderby`` names them: each key's path, then each alias."""
        return ["/".join(k.path) for k in self.keys] + [a.alias for a in self.aggregates]
