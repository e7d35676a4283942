"""Binding: a syntax tree checked against the model and turned into a typed tree.

Every name is resolved (properties case-insensitively, as the URL path is), every operand type
checked, every literal converted to the value representation of :mod:`flowruns.odata.semantic`.
Members of the open ``statistics`` object are DYNAMIC; where a typed value is needed the binder
wraps them in a :class:`~flowruns.odata.semantic.JsonFunction`, so executors only ever compare
values of one type.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from flowruns.edm import datetimes
from flowruns.edm.model import (
    ComplexType,
    EntityType,
    EnumType,
    Model,
    NavigationProperty,
    Primitive,
    Property,
)
from flowruns.odata import literals, syntax
from flowruns.odata import semantic as s
from flowruns.odata.lexer import Kind, QuerySyntaxError, Token
from flowruns.odata.semantic import Expr, JsonFunction, Type

INT64 = (-(2**63), 2**63 - 1)
_PRIMITIVES = {
    Primitive.STRING: s.STRING,
    Primitive.GUID: s.STRING,
    Primitive.BOOLEAN: s.BOOLEAN,
    Primitive.INT64: s.INT,
    Primitive.DOUBLE: s.DOUBLE,
    Primitive.DATE_TIME_OFFSET: s.DATE_TIME,
}
# The readers of a statistics member as one JSON type, in the order a member sorts by (numbers,
# then strings, then Booleans); the type each gives, the test that the member has its JSON
# type, and the reader used where a member meets a value of a given kind.
_JSON_READERS = (JsonFunction.NUMBER, JsonFunction.STRING, JsonFunction.BOOLEAN)
_JSON_TYPES = {
    JsonFunction.NUMBER: s.DOUBLE,
    JsonFunction.STRING: s.STRING,
    JsonFunction.BOOLEAN: s.BOOLEAN,
}
_JSON_IS = {
    JsonFunction.NUMBER: JsonFunction.IS_NUMBER,
    JsonFunction.STRING: JsonFunction.IS_STRING,
    JsonFunction.BOOLEAN: JsonFunction.IS_BOOLEAN,
}
_JSON_AS = {s.Kind.INT: JsonFunction.NUMBER, s.Kind.DOUBLE: JsonFunction.NUMBER}
_JSON_AS.update({s.Kind.STRING: JsonFunction.STRING, s.Kind.BOOLEAN: JsonFunction.BOOLEAN})
_UNSUPPORTED_FUNCTIONS = {
    "cast",
    "round",
    "floor",
    "ceiling",
    "fractionalseconds",
    "totaloffsetminutes",
    "totalseconds",
    "time",
    "maxdatetime",
    "mindatetime",
    "matchespattern",
    "case",
    "hassubset",
    "hassubsequence",
}


def property_type(prop: Property) -> Type:
    if isinstance(prop.type, EnumType):
        return Type(s.Kind.ENUM, enum=prop.type)
    if isinstance(prop.type, ComplexType):
        return Type(s.Kind.COMPLEX, complex=prop.type)
    return _PRIMITIVES[prop.type]


@dataclass(frozen=True)
class _EntityValue:
    """A path that ends at an entity (``$it``, ``process``), not at a value."""

    source: s.Source
    cast: EntityType | None


@dataclass(frozen=True)
class _Collection:
    """A path that ends at a collection: a navigation, or a JSON array."""

    position: int
    navigation: tuple[s.Source, NavigationProperty] | None = None
    json: s.Column | s.JsonPath | None = None
    element: Type | None = None


_Resolved = Expr | _EntityValue | _Collection
_Named = TypeVar("_Named", Property, NavigationProperty)


@dataclass
class Binder:
    """Binds expressions of one option against the entity type it applies to."""

    model: Model
    entity_type: EntityType
    option: str
    now: int
    variables: dict[str, s.Variable | s.Element] = field(default_factory=dict)
    aliases: dict[str, Expr] = field(default_factory=dict)  # $apply compute(... as alias)
    # Every navigation a bound expression follows, however it was spelled: what the
    # permission check reads. Every navigation is resolved in entity_step, which records it.
    traversals: list[s.Traversal] = field(default_factory=list)

    def error(self, position: int, problem: str) -> QuerySyntaxError:
        return QuerySyntaxError(self.option, position, problem)

    # -- entry points --------------------------------------------------------------------

    def boolean(self, node: syntax.Node) -> Expr:
        """A ``$filter`` body: an expression of type Edm.Boolean."""
        expr = self.value(node)
        if expr.type.kind is s.Kind.DYNAMIC:
            return self._json(JsonFunction.BOOLEAN, expr)
        if expr.type.kind is not s.Kind.BOOLEAN:
            raise self.error(node.position, f"expected a Boolean expression, not {expr.type.name}")
        return expr

    def order_items(self, node: syntax.Node, descending: bool, text: str) -> list[s.OrderItem]:
        """One ``$orderby`` item; a statistics member sorts by number, then string, then bool."""
        expr = self.value(node)
        if expr.type.kind is s.Kind.DYNAMIC:
            return [s.OrderItem(self._json(name, expr), descending, text) for name in _JSON_READERS]
        if expr.type.kind in (s.Kind.COMPLEX, s.Kind.ENTITY, s.Kind.NULL):
            raise self.error(node.position, f"cannot order by a value of type {expr.type.name}")
        return [s.OrderItem(expr, descending, text)]

    # -- values --------------------------------------------------------------------------

    def value(self, node: syntax.Node) -> Expr:
        resolved = self.resolve(node)
        if isinstance(resolved, _EntityValue):
            raise self.error(node.position, "an entity is not a value here")
        if isinstance(resolved, _Collection):
            raise self.error(node.position, "a collection is not a value here; use any/all")
        return resolved

    def resolve(self, node: syntax.Node) -> _Resolved:
        match node:
            case syntax.Literal(token=token):
                const = self.literal(token, node.position)
                assert isinstance(const, s.Const)
                return s.Const(const.type, const.value, node.position)
            case syntax.Path():
                return self.path(node)
            case syntax.Lambda():
                return self.lambda_(node)
            case syntax.Call():
                return self.call(node)
            case syntax.Unary(op="not", operand=operand):
                return s.Unary(s.BOOLEAN, "not", self.boolean(operand))
            case syntax.Unary(op="-", operand=operand):
                return self.negate(operand, node.position)
            case syntax.Binary(op=("and" | "or") as op, left=left, right=right):
                return s.Logical(s.BOOLEAN, op, self.boolean(left), self.boolean(right))
            case syntax.Binary(op=("eq" | "ne") as op, left=left, right=right) if _is_null(
                left
            ) or _is_null(right):
                return self.null_test(op, right if _is_null(left) else left, node.position)
            case syntax.Binary(op=("eq" | "ne" | "gt" | "ge" | "lt" | "le") as op):
                return self.compare(
                    op, self.value(node.left), self.value(node.right), node.position
                )
            case syntax.Binary(op="has", left=left, right=right):
                return self.has(self.value(left), self.value(right), node)
            case syntax.Binary(op=op, left=left, right=right):
                return self.arithmetic(op, self.value(left), self.value(right), node)
            case syntax.InList(operand=operand, items=items):
                return self.in_list(self.value(operand), items, node)
        raise self.error(node.position, "unsupported expression")

    # -- literals ------------------------------------------------------------------------

    def literal(self, token: Token, position: int) -> Expr:
        text = token.text
        try:
            match token.kind:
                case Kind.IDENTIFIER if text == "null":
                    return s.Const(s.NULL, None)
                case Kind.IDENTIFIER:
                    return s.Const(s.BOOLEAN, text == "true")
                case Kind.STRING:
                    if "\x00" in token.value:  # no stored string holds one (writes refuse it)
                        raise ValueError("a string must not contain NUL characters")
                    return s.Const(s.STRING, token.value)
                case Kind.INTEGER:
                    value = int(text)
                    if not INT64[0] <= value <= INT64[1]:
                        raise ValueError(f"{text} is outside the Edm.Int64 range")
                    return s.Const(s.INT, value)
                case Kind.DECIMAL:
                    number = float(text)
                    if not math.isfinite(number):
                        raise ValueError(f"'{text}' is not a finite number")
                    return s.Const(s.DOUBLE, number)
                case Kind.DATE:
                    return s.Const(s.DATE, literals.parse_date(text))
                case Kind.DATE_TIME:
                    fixed = text[:-6] + "+" + text[-5:] if text[-6] == " " else text
                    return s.Const(s.DATE_TIME, datetimes.parse(fixed))
                case Kind.GUID:
                    return s.Const(s.STRING, text.lower())
                case Kind.TYPED:
                    return self.typed_literal(token, position)
        except (ValueError, datetimes.InvalidDateTime) as exc:
            raise self.error(position, f"invalid literal {text}: {exc}") from None
        raise self.error(position, f"{token.kind.value} literals such as {text} are not supported")

    def typed_literal(self, token: Token, position: int) -> Expr:
        prefix = token.text[: token.text.index("'")]
        if prefix.lower() == "duration":
            ticks = literals.parse_duration(token.value)
            if not INT64[0] <= ticks <= INT64[1]:
                raise self.error(position, f"the duration {token.value} is out of range")
            return s.Const(s.DURATION, ticks)
        enum = self.model.enums.get(prefix)
        if enum is None:
            raise self.error(position, f"'{prefix}' literals are not supported")
        return s.Const(Type(s.Kind.ENUM, enum=enum), self.enum_value(enum, token.value, position))

    def enum_value(self, enum: EnumType, text: str, position: int) -> int:
        number = literals.ascii_integer(text)
        if number is not None and number < len(enum.members):
            return number
        for i, member in enumerate(enum.members):
            if member.lower() == text.lower():
                return i
        raise self.error(
            position,
            f"'{text}' is not a member of {enum.qualified_name} ({', '.join(enum.members)})",
        )

    # -- paths ---------------------------------------------------------------------------

    def path(self, node: syntax.Path) -> _Resolved:
        segments = list(node.segments)
        first = segments[0]
        current: _Resolved
        if first.name in ("$it", "$this"):
            current = _EntityValue(s.It(self.entity_type), None)
            segments.pop(0)
        elif first.name == "$root":
            raise self.error(first.position, "'$root' is not supported")
        elif first.name in self.aliases and len(segments) == 1:
            return self.aliases[first.name]
        elif first.name in self.variables:
            variable = self.variables[first.name]
            segments.pop(0)
            current = variable if isinstance(variable, s.Element) else _EntityValue(variable, None)
        else:
            current = _EntityValue(s.It(self.entity_type), None)
        for segment in segments:
            current = self.step(current, segment)
        if isinstance(current, _EntityValue) and current.cast is not None and segments:
            raise self.error(segments[-1].position, "a type cast must be followed by a property")
        return current

    def step(self, current: _Resolved, segment: syntax.Segment) -> _Resolved:
        name, position = segment.name, segment.position
        if isinstance(current, _Collection):
            if name != "$count":
                raise self.error(position, "expected '$count', 'any' or 'all' after a collection")
            if current.navigation is not None:
                parent, navigation = current.navigation
                target = self._target(navigation)
                return s.NavigationCount(s.INT, parent, navigation, target)
            assert current.json is not None
            return s.Function(s.INT, JsonFunction.COUNT, (current.json,))
        if isinstance(current, _EntityValue):
            return self.entity_step(current, name, position)
        return self.json_step(current, name, position)

    def entity_step(self, current: _EntityValue, name: str, position: int) -> _Resolved:
        source, cast = current.source, current.cast
        base = cast or source.type
        if "." in name:
            target = self.model.entity_type(name)
            # Related to the source's own type too, so that a cast up to a common base type
            # cannot lead on to a type stored elsewhere ($it/microsoft.graph.entity/…run/…).
            if target is None or not (_related(target, base) and _related(target, source.type)):
                raise self.error(position, f"'{name}' is not a type derived from {base.name}")
            return _EntityValue(source, target)
        prop = _find(base.properties, name)
        if prop is not None and not prop.stored:
            raise self.error(position, f"'{name}' is computed when read; it cannot be queried")
        if prop is not None:
            expr = s.Column(property_type(prop), source, prop, cast)
            if prop.collection:
                element = property_type(prop)
                return _Collection(position, json=expr, element=element)
            return expr
        navigation = _find(base.navigations, name)
        if navigation is not None:
            self.traversals.append(s.Traversal(base, navigation, self._target(navigation)))
            if navigation.collection:
                return _Collection(position, navigation=(source, navigation))
            target = self._target(navigation)
            return _EntityValue(s.Related(source, navigation, target), None)
        owner = next((t for t in base.subtypes() if _find(t.properties, name) is not None), None)
        problem = f"'{name}' is not a property of {base.qualified_name}"
        if owner is not None:
            problem += f"; it belongs to {owner.qualified_name}: write "
            problem += f"'{owner.qualified_name}/{name}'"
        raise self.error(position, problem)

    def json_step(self, current: Expr, name: str, position: int) -> _Resolved:
        if name == "$count":
            if isinstance(current, s.JsonPath) and current.type.kind is s.Kind.DYNAMIC:
                return s.Function(s.INT, JsonFunction.COUNT, (current,))
            raise self.error(position, "'$count' applies to collections only")
        base = current.base if isinstance(current, s.JsonPath) else current
        path = current.path if isinstance(current, s.JsonPath) else ()
        if not isinstance(base, s.Column | s.Element):
            raise self.error(
                position, f"'{name}': a value of type {current.type.name} has no members"
            )
        if current.type.kind is s.Kind.DYNAMIC:
            return s.JsonPath(s.DYNAMIC, base, (*path, name))
        complex_type = current.type.complex
        if complex_type is None:
            raise self.error(
                position, f"'{name}': a value of type {current.type.name} has no members"
            )
        if complex_type.open and complex_type.find_property(name) is None:
            return s.JsonPath(s.DYNAMIC, base, (*path, name))
        member = _find(complex_type.properties, name)
        if member is None:
            raise self.error(position, f"'{name}' is not a member of {complex_type.qualified_name}")
        expr = s.JsonPath(property_type(member), base, (*path, member.name))
        if member.collection:
            return _Collection(position, json=expr, element=property_type(member))
        return expr

    def _target(self, navigation: NavigationProperty) -> EntityType:
        target = self.model.entity_type(navigation.target)
        assert target is not None
        return target

    # -- lambdas -------------------------------------------------------------------------

    def lambda_(self, node: syntax.Lambda) -> Expr:
        collection = self.path(node.collection)
        if isinstance(collection, s.JsonPath) and collection.type.kind is s.Kind.DYNAMIC:
            collection = _Collection(node.position, json=collection, element=s.DYNAMIC)
        if not isinstance(collection, _Collection):
            raise self.error(node.position, f"'{node.kind}' applies to collections only")
        name = node.variable
        if name is not None and (name in self.variables or name in ("$it", "$this")):
            raise self.error(node.position, f"the lambda variable '{name}' is already in use")
        if collection.navigation is not None:
            parent, navigation = collection.navigation
            variable = s.Variable(name or "", parent, navigation, self._target(navigation))
            body = self._lambda_body(node, variable)
            return s.EntityLambda(s.BOOLEAN, node.kind, variable, body)
        assert collection.json is not None
        assert collection.element is not None
        element = s.Element(collection.element, name or "")
        body = self._lambda_body(node, element)
        return s.JsonLambda(s.BOOLEAN, node.kind, collection.json, element, body)

    def _lambda_body(self, node: syntax.Lambda, bound: s.Variable | s.Element) -> Expr | None:
        if node.body is None or node.variable is None:
            return None
        self.variables[node.variable] = bound
        try:
            return self.boolean(node.body)
        finally:
            del self.variables[node.variable]

    # -- functions -----------------------------------------------------------------------

    def call(self, node: syntax.Call) -> _Resolved:
        name = node.name.lower()
        if name == "isof":
            return self.isof(node)
        if name == "now":
            self._arity(node, 0)
            return s.Const(s.DATE_TIME, self.now)
        spec = _FUNCTIONS.get(name)
        if spec is None:
            if name in _UNSUPPORTED_FUNCTIONS or name.startswith("geo."):
                raise self.error(node.position, f"the function '{node.name}' is not supported")
            raise self.error(node.position, f"unknown function '{node.name}'")
        return spec(self, node)

    def _arity(self, node: syntax.Call, *counts: int) -> None:
        if len(node.args) not in counts:
            expected = " or ".join(str(c) for c in counts)
            raise self.error(
                node.position, f"'{node.name}' takes {expected} argument(s), not {len(node.args)}"
            )

    def _argument(self, node: syntax.Node, *kinds: s.Kind) -> Expr:
        expr = self.value(node)
        if expr.type.kind is s.Kind.NULL:
            return s.Const(Type(kinds[0]), None)
        # A member reads as a number, which is a double: never where an Edm.Int64 must be.
        if expr.type.kind is s.Kind.DYNAMIC and kinds[0] in _JSON_AS and kinds[0] is not s.Kind.INT:
            return self._json(_JSON_AS[kinds[0]], expr)
        if expr.type.kind not in kinds:
            wanted = " or ".join(Type(k).name for k in kinds)
            raise self.error(node.position, f"expected {wanted}, not {expr.type.name}")
        return expr

    def string_function(self, node: syntax.Call, arity: int, result: Type) -> Expr:
        self._arity(node, arity)
        args = tuple(self._argument(a, s.Kind.STRING) for a in node.args)
        return s.Function(result, node.name.lower(), args)

    def substring(self, node: syntax.Call) -> Expr:
        self._arity(node, 2, 3)
        text = self._argument(node.args[0], s.Kind.STRING)
        rest = tuple(self._argument(a, s.Kind.INT) for a in node.args[1:])
        return s.Function(s.STRING, "substring", (text, *rest))

    def date_part(self, node: syntax.Call) -> Expr:
        self._arity(node, 1)
        name = node.name.lower()
        kinds = (
            (s.Kind.DATE_TIME, s.Kind.DATE)
            if name in ("year", "month", "day")
            else (s.Kind.DATE_TIME,)
        )
        arg = self._argument(node.args[0], *kinds)
        if name == "date":
            return s.Function(s.DATE, "date", (arg,))
        return s.Function(s.INT, name, (arg,))

    def isof(self, node: syntax.Call) -> Expr:
        self._arity(node, 1, 2)
        source: s.Source = s.It(self.entity_type)
        if len(node.args) == 2:
            target = self.resolve(node.args[0])
            if not isinstance(target, _EntityValue):
                raise self.error(node.args[0].position, "isof takes an entity as first argument")
            source = target.source
        type_node = node.args[-1]
        if isinstance(type_node, syntax.Path) and len(type_node.segments) == 1:
            type_name = type_node.segments[0].name
        elif isinstance(type_node, syntax.Literal) and type_node.token.kind is Kind.STRING:
            type_name = type_node.token.value
        else:
            raise self.error(type_node.position, "expected a qualified type name")
        target_type = self.model.entity_type(type_name)
        if target_type is None:
            raise self.error(type_node.position, f"'{type_name}' is not an entity type")
        return s.TypeTest(s.BOOLEAN, source, frozenset(t.name for t in target_type.subtypes()))

    # -- operators -----------------------------------------------------------------------

    def _json(self, function: JsonFunction, expr: Expr) -> Expr:
        return s.Function(_JSON_TYPES[function], function, (expr,))

    def compare(self, op: str, left: Expr, right: Expr, position: int) -> Expr:
        lk, rk = left.type.kind, right.type.kind
        if lk is s.Kind.DYNAMIC and rk is s.Kind.DYNAMIC:
            alternatives = [
                s.Logical(
                    s.BOOLEAN,
                    "and",
                    s.Logical(s.BOOLEAN, "and", self._json_is(f, left), self._json_is(f, right)),
                    s.Compare(s.BOOLEAN, op, self._json(f, left), self._json(f, right)),
                )
                for f in _JSON_READERS
            ]
            return s.Logical(
                s.BOOLEAN,
                "or",
                s.Logical(s.BOOLEAN, "or", alternatives[0], alternatives[1]),
                alternatives[2],
            )
        if lk is s.Kind.DYNAMIC or rk is s.Kind.DYNAMIC:
            dynamic, other = (left, right) if lk is s.Kind.DYNAMIC else (right, left)
            if other.type.kind is s.Kind.NULL:
                test = s.Function(s.BOOLEAN, JsonFunction.IS_NULL, (dynamic,))
                return test if op == "eq" else s.Unary(s.BOOLEAN, "not", test)
            function = _JSON_AS.get(other.type.kind)
            if function is None:
                raise self.error(
                    position,
                    f"statistics members compare with numbers, strings and Booleans, "
                    f"not {other.type.name}",
                )
            typed = self._json(function, dynamic)
            pair = (typed, other) if lk is s.Kind.DYNAMIC else (other, typed)
            comparison = s.Compare(s.BOOLEAN, op, *pair)
            return s.Logical(s.BOOLEAN, "and", self._json_is(function, dynamic), comparison)
        if isinstance(left, s.Column) and left.property.collection:
            raise self.error(position, "a collection cannot be compared; use any/all")
        left, right = self.unify(left, right, position)
        return s.Compare(s.BOOLEAN, op, left, right)

    def null_test(self, op: str, node: syntax.Node, position: int) -> Expr:
        """``x eq null``/``x ne null``; for a navigation, whether it leads anywhere."""
        resolved = self.resolve(node)
        if isinstance(resolved, _EntityValue) and isinstance(resolved.source, s.Related):
            return s.NavigationNull(s.BOOLEAN, resolved.source, negate=op == "ne")
        if not isinstance(resolved, Expr):
            raise self.error(node.position, "only values and single navigations compare with null")
        return self.compare(op, resolved, s.Const(s.NULL, None), position)

    def _json_is(self, function: JsonFunction, expr: Expr) -> Expr:
        return s.Function(s.BOOLEAN, _JSON_IS[function], (expr,))

    def unify(self, left: Expr, right: Expr, position: int) -> tuple[Expr, Expr]:
        """Both operands converted to one comparable type, or a 400."""
        lt, rt = left.type, right.type
        if lt.kind is s.Kind.NULL and rt.kind is s.Kind.NULL:
            return left, right
        if lt.kind is s.Kind.NULL:
            return s.Const(rt, None), right
        if rt.kind is s.Kind.NULL:
            return left, s.Const(lt, None)
        if lt.kind is s.Kind.ENUM and rt.kind is s.Kind.STRING and isinstance(right, s.Const):
            return left, self._enum_const(lt, right, position)
        if rt.kind is s.Kind.ENUM and lt.kind is s.Kind.STRING and isinstance(left, s.Const):
            return self._enum_const(rt, left, position), right
        if lt.numeric and rt.numeric:
            return left, right
        if {lt.kind, rt.kind} == {s.Kind.DATE_TIME, s.Kind.DATE}:
            return self._as_date_time(left, position), self._as_date_time(right, position)
        if lt == rt and lt.kind not in (s.Kind.COMPLEX, s.Kind.ENTITY):
            return left, right
        raise self.error(position, f"cannot compare {lt.name} with {rt.name}")

    def _enum_const(self, enum_type: Type, const: s.Const, position: int) -> s.Const:
        assert enum_type.enum is not None
        assert isinstance(const.value, str)
        at = const.position if const.position >= 0 else position
        return s.Const(enum_type, self.enum_value(enum_type.enum, const.value, at), at)

    def _as_date_time(self, expr: Expr, position: int) -> Expr:
        if expr.type.kind is s.Kind.DATE_TIME:
            return expr
        if isinstance(expr, s.Const) and isinstance(expr.value, int):
            return s.Const(s.DATE_TIME, expr.value * literals.TICKS_PER_DAY)
        raise self.error(position, "a date compares with a date-time only as a literal")

    def has(self, left: Expr, right: Expr, node: syntax.Binary) -> Expr:
        if left.type.kind is not s.Kind.ENUM:
            raise self.error(node.position, "'has' applies to enumeration values")
        left, right = self.unify(left, right, node.position)
        # None of the model's enumerations is a flags type: 'has' is equality.
        return s.Compare(s.BOOLEAN, "eq", left, right)

    def in_list(self, operand: Expr, items: tuple[syntax.Node, ...], node: syntax.Node) -> Expr:
        values = [self.value(item) for item in items]
        if operand.type.kind is s.Kind.DYNAMIC or any(
            v.type.kind is s.Kind.DYNAMIC for v in values
        ):
            result = self.compare("eq", operand, values[0], node.position)
            for value in values[1:]:
                result = s.Logical(
                    s.BOOLEAN, "or", result, self.compare("eq", operand, value, node.position)
                )
            return result
        bound: list[Expr] = []
        for value in values:
            left, right = self.unify(operand, value, node.position)
            operand = left
            bound.append(right)
        return s.In(s.BOOLEAN, operand, tuple(bound))

    def negate(self, operand_node: syntax.Node, position: int) -> Expr:
        operand = self.value(operand_node)
        if operand.type.kind is s.Kind.DYNAMIC:
            operand = self._json(JsonFunction.NUMBER, operand)
        if operand.type.kind not in (s.Kind.INT, s.Kind.DOUBLE, s.Kind.DURATION):
            raise self.error(position, f"cannot negate a value of type {operand.type.name}")
        if isinstance(operand, s.Const) and isinstance(operand.value, int | float):
            value = -operand.value
            if operand.type.kind is not s.Kind.DOUBLE and not INT64[0] <= value <= INT64[1]:
                raise self.error(position, "the number is outside the Edm.Int64 range")
            return s.Const(operand.type, value)
        return s.Unary(operand.type, "neg", operand)

    def arithmetic(self, op: str, left: Expr, right: Expr, node: syntax.Binary) -> Expr:
        if left.type.kind is s.Kind.DYNAMIC:
            left = self._json(JsonFunction.NUMBER, left)
        if right.type.kind is s.Kind.DYNAMIC:
            right = self._json(JsonFunction.NUMBER, right)
        if left.type.kind is s.Kind.NULL:
            left = s.Const(right.type if right.type.kind is not s.Kind.NULL else s.INT, None)
        if right.type.kind is s.Kind.NULL:
            right = s.Const(left.type, None)
        result = _arithmetic_type(op, left.type.kind, right.type.kind)
        if result is None:
            raise self.error(
                node.position, f"'{op}' does not apply to {left.type.name} and {right.type.name}"
            )
        return s.Arithmetic(result, op, left, right)


def _related(one: EntityType, other: EntityType) -> bool:
    """Whether either type derives from the other (a cast between them can match a row)."""
    return one.is_a(other) or other.is_a(one)


def _is_null(node: syntax.Node) -> bool:
    return (
        isinstance(node, syntax.Literal)
        and node.token.text == "null"
        and (node.token.kind is Kind.IDENTIFIER)
    )


def _arithmetic_type(op: str, left: s.Kind, right: s.Kind) -> Type | None:
    numeric = (s.Kind.INT, s.Kind.DOUBLE)
    if left in numeric and right in numeric:
        if op == "divby":
            return s.DOUBLE
        return s.INT if left is right is s.Kind.INT else s.DOUBLE
    pairs: dict[tuple[str, s.Kind, s.Kind], Type] = {
        ("add", s.Kind.DATE_TIME, s.Kind.DURATION): s.DATE_TIME,
        ("add", s.Kind.DURATION, s.Kind.DATE_TIME): s.DATE_TIME,
        ("add", s.Kind.DURATION, s.Kind.DURATION): s.DURATION,
        ("sub", s.Kind.DATE_TIME, s.Kind.DURATION): s.DATE_TIME,
        ("sub", s.Kind.DATE_TIME, s.Kind.DATE_TIME): s.DURATION,
        ("sub", s.Kind.DURATION, s.Kind.DURATION): s.DURATION,
        ("sub", s.Kind.DATE, s.Kind.DATE): s.DURATION,
    }
    return pairs.get((op, left, right))


def _find(items: tuple[_Named, ...], name: str) -> _Named | None:
    """Exact name first, then ignoring case."""
    for item in items:
        if item.name == name:
            return item
    lowered = name.lower()
    return next((item for item in items if item.name.lower() == lowered), None)


_FUNCTIONS: dict[str, Callable[[Binder, syntax.Call], Expr]] = {
    "contains": lambda b, n: b.string_function(n, 2, s.BOOLEAN),
    "startswith": lambda b, n: b.string_function(n, 2, s.BOOLEAN),
    "endswith": lambda b, n: b.string_function(n, 2, s.BOOLEAN),
    "tolower": lambda b, n: b.string_function(n, 1, s.STRING),
    "toupper": lambda b, n: b.string_function(n, 1, s.STRING),
    "trim": lambda b, n: b.string_function(n, 1, s.STRING),
    "length": lambda b, n: b.string_function(n, 1, s.INT),
    "indexof": lambda b, n: b.string_function(n, 2, s.INT),
    "concat": lambda b, n: b.string_function(n, 2, s.STRING),
    "substring": Binder.substring,
    "year": Binder.date_part,
    "month": Binder.date_part,
    "day": Binder.date_part,
    "hour": Binder.date_part,
    "minute": Binder.date_part,
    "second": Binder.date_part,
    "date": Binder.date_part,
}
