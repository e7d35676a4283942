"""A plain-Python reference evaluator of the typed query tree (:mod:`flowruns.odata.semantic`).

It reads the same tree the SQL compiler reads and implements, one operation at a time, the
semantics documented in :mod:`flowruns.store.compiler` and SPEC §5, over rows held in memory:

* two-valued logic: a predicate is True or False; a comparison with null is false, ``eq null``
  tests for null, ``ne`` is "is distinct from"; ``and``/``or``/``not`` read null as false;
* strings compare by code point and fold case with ``str.lower``/``str.upper``; ``trim``
  strips ``" \\t\\n\\r"``; ``substring`` clamps a negative start or length to 0;
* integer ``div``/``mod`` truncate toward zero, a double ``mod`` is ``a - b*trunc(a/b)``,
  and any division by zero is null;
* a ``statistics`` member is read only as the JSON type asked for (``JsonFunction.NUMBER`` of a
  string member is null); a collection that is not a JSON array is empty to ``any``/``all``;
* the order is nulls first ascending, last descending, ended by ``id`` in the direction of the
  key before it (see :func:`sort_rows`).

Nothing here imports the compiler: a disagreement between the two is a finding.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from flowruns.edm.datetimes import TICKS_PER_SECOND
from flowruns.edm.industrydata import RUNS
from flowruns.edm.model import EntityType
from flowruns.odata import semantic as s
from flowruns.odata.literals import TICKS_PER_DAY

_EPOCH = date(1970, 1, 1)
_TRIM = " \t\n\r"


@dataclass
class Row:
    """One stored entity as the reference sees it: values in the semantic representation."""

    id: str
    type: str  # the unqualified type name, as stored
    values: dict[str, Any]
    process_id: str | None = None


@dataclass
class Dataset:
    """Everything a query can reach: runs, processes and run-group memberships."""

    runs: dict[str, Row]
    processes: dict[str, Row]
    members: dict[str, list[str]] = field(default_factory=dict)  # group id -> member run ids


@dataclass
class _Env:
    it: Row
    variables: dict[int, Row] = field(default_factory=dict)  # by id() of the variable
    elements: dict[str, Any] = field(default_factory=dict)

    def bind(self, variable: s.Variable, row: Row) -> _Env:
        return _Env(self.it, {**self.variables, id(variable): row}, self.elements)

    def element(self, name: str, value: Any) -> _Env:
        return _Env(self.it, self.variables, {**self.elements, name: value})


def _truth(value: Any) -> bool:
    """A predicate's value in a Boolean context: null counts as false."""
    return value is True


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _trunc_div(a: int, b: int) -> int:
    quotient = abs(a) // abs(b)
    return quotient if (a < 0) == (b < 0) else -quotient


def _days(value: int, kind: s.Kind) -> int:
    return value if kind is s.Kind.DATE else value // TICKS_PER_DAY


class Reference:
    """Evaluates filters and orders over a :class:`Dataset`."""

    def __init__(self, data: Dataset) -> None:
        self.data = data

    # -- entry points --------------------------------------------------------------------

    def matches(self, expr: s.Expr, row: Row) -> bool:
        return _truth(self.eval(expr, _Env(row)))

    def filter(self, expr: s.Expr | None, rows: Sequence[Row]) -> list[Row]:
        return [r for r in rows if expr is None or self.matches(expr, r)]

    # -- rows ----------------------------------------------------------------------------

    def row_of(self, source: s.Source, env: _Env) -> Row | None:
        if isinstance(source, s.It):
            return env.it
        if isinstance(source, s.Variable):
            return env.variables[id(source)]
        parent = self.row_of(source.parent, env)
        if parent is None or parent.process_id is None:
            return None
        return self.data.processes[parent.process_id]

    def related_rows(self, parent: Row | None, parent_type: EntityType) -> list[Row]:
        """The runs a collection-valued navigation of ``parent`` leads to."""
        if parent is None:
            return []
        if parent_type.is_a(RUNS.type):  # a run group's member runs
            return [self.data.runs[i] for i in self.data.members.get(parent.id, [])]
        return [r for r in self.data.runs.values() if r.process_id == parent.id]

    def column(self, expr: s.Column, env: _Env) -> Any:
        row = self.row_of(expr.source, env)
        if row is None:
            return None
        if expr.cast is not None and row.type not in {t.name for t in expr.cast.subtypes()}:
            return None
        if expr.property.key:
            return row.id
        return row.values.get(expr.property.name)

    # -- JSON ----------------------------------------------------------------------------

    def json(self, expr: s.Expr, env: _Env) -> Any:
        """The raw JSON value (None for null or missing) of a column, element or member."""
        if isinstance(expr, s.Column):
            return self.column(expr, env)
        if isinstance(expr, s.Element):
            return env.elements[expr.name]
        if isinstance(expr, s.JsonPath):
            value = self.json(expr.base, env)
            for key in expr.path:
                value = value.get(key) if isinstance(value, dict) else None
            return value
        raise AssertionError(f"not a JSON value: {expr!r}")

    def typed_json(self, expr: s.JsonPath | s.Element, env: _Env) -> Any:
        """A declared member or element: its value only when JSON holds the declared type."""
        value = self.json(expr, env)
        if expr.type.kind is s.Kind.STRING:
            return value if isinstance(value, str) else None
        return value

    # -- evaluation ----------------------------------------------------------------------

    def eval(self, expr: s.Expr, env: _Env) -> Any:
        match expr:
            case s.Const(value=value):
                return value
            case s.Column():
                return self.column(expr, env)
            case s.JsonPath() | s.Element():
                return self.typed_json(expr, env)
            case s.Unary(op="not", operand=operand):
                return not _truth(self.eval(operand, env))
            case s.Unary(op="neg", operand=operand):
                value = self.eval(operand, env)
                return None if value is None else -value
            case s.Logical(op="and", left=left, right=right):
                return _truth(self.eval(left, env)) and _truth(self.eval(right, env))
            case s.Logical(op="or", left=left, right=right):
                return _truth(self.eval(left, env)) or _truth(self.eval(right, env))
            case s.Compare():
                return self.compare(expr, env)
            case s.In(operand=operand, items=items):
                value = self.eval(operand, env)
                return any(_equal(value, self.eval(i, env)) for i in items)
            case s.Arithmetic():
                return self.arithmetic(expr, env)
            case s.Function():
                return self.function(expr, env)
            case s.TypeTest(source=source, types=types):
                row = self.row_of(source, env)
                return row is not None and row.type in types
            case s.NavigationNull(related=related, negate=negate):
                parent = self.row_of(related.parent, env)
                linked = parent is not None and parent.process_id is not None
                return linked if negate else not linked
            case s.NavigationCount(parent=parent):
                return len(self.related_rows(self.row_of(parent, env), parent.type))
            case s.EntityLambda(kind=kind, variable=variable, body=body):
                rows = self.related_rows(self.row_of(variable.parent, env), variable.parent.type)
                if body is None:
                    return bool(rows)
                results = (_truth(self.eval(body, env.bind(variable, r))) for r in rows)
                return any(results) if kind == "any" else all(results)
            case s.JsonLambda(kind=kind, collection=collection, element=element, body=body):
                value = self.json(collection, env)
                elements: list[Any] = value if isinstance(value, list) else []
                if body is None:
                    return bool(elements)
                results = (_truth(self.eval(body, env.element(element.name, e))) for e in elements)
                return any(results) if kind == "any" else all(results)
        raise AssertionError(f"the reference does not know {expr!r}")

    def compare(self, expr: s.Compare, env: _Env) -> bool:
        op = expr.op
        if s.Kind.COMPLEX in (expr.left.type.kind, expr.right.type.kind):
            # Only `eq null`/`ne null` bind for complex values: whether it is there at all.
            complex_side = expr.left if expr.left.type.kind is s.Kind.COMPLEX else expr.right
            absent = self.json(complex_side, env) is None
            return absent if op == "eq" else not absent
        a, b = self.eval(expr.left, env), self.eval(expr.right, env)
        if op == "eq":
            return _equal(a, b)
        if op == "ne":
            return not _equal(a, b)
        if a is None or b is None:
            return False
        return bool({"gt": a > b, "ge": a >= b, "lt": a < b, "le": a <= b}[op])

    def arithmetic(self, expr: s.Arithmetic, env: _Env) -> Any:
        a, b = self.eval(expr.left, env), self.eval(expr.right, env)
        if a is None or b is None:
            return None
        op, double = expr.op, expr.type.kind is s.Kind.DOUBLE
        if op in ("div", "divby", "mod"):
            if b == 0:
                return None
            if op == "divby" or (op == "div" and double):
                return float(a) / b
            if op == "div":
                return _trunc_div(a, b)
            if double:
                return float(a) - b * math.trunc(float(a) / b)
            return a - b * _trunc_div(a, b)
        if (expr.left.type.kind, expr.right.type.kind) == (s.Kind.DATE, s.Kind.DATE):
            return (a - b) * TICKS_PER_DAY
        operations: dict[str, Callable[[Any, Any], Any]] = {
            "add": lambda x, y: x + y,
            "sub": lambda x, y: x - y,
            "mul": lambda x, y: x * y,
        }
        return operations[op](a, b)

    def function(self, expr: s.Function, env: _Env) -> Any:
        name = expr.name
        if isinstance(name, s.JsonFunction):
            return _JSON[name](self.json(expr.args[0], env))
        args = [self.eval(a, env) for a in expr.args]
        if any(a is None for a in args):
            return None
        if name in ("year", "month", "day"):
            day = _EPOCH + timedelta(days=_days(args[0], expr.args[0].type.kind))
            return int(getattr(day, name))
        return _FUNCTIONS[name](*args)


def _equal(a: Any, b: Any) -> bool:
    """``eq``: null equals only null (``eq null`` is a null test)."""
    if a is None or b is None:
        return a is None and b is None
    return bool(a == b)


def _substring(text: str, start: int, length: int | None = None) -> str:
    rest = text[max(start, 0) :]
    return rest if length is None else rest[: max(length, 0)]


def _clock(unit: int, modulo: int) -> Callable[[int], int]:
    return lambda ticks: (ticks // unit) % modulo


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "contains": lambda a, b: b in a,
    "startswith": lambda a, b: a.startswith(b),
    "endswith": lambda a, b: a.endswith(b),
    "tolower": str.lower,
    "toupper": str.upper,
    "trim": lambda a: a.strip(_TRIM),
    "length": len,
    "indexof": lambda a, b: a.find(b),
    "concat": lambda a, b: a + b,
    "substring": _substring,
    "hour": _clock(3600 * TICKS_PER_SECOND, 24),
    "minute": _clock(60 * TICKS_PER_SECOND, 60),
    "second": _clock(TICKS_PER_SECOND, 60),
    "date": lambda ticks: ticks // TICKS_PER_DAY,
}

_JSON: dict[s.JsonFunction, Callable[[Any], Any]] = {
    s.JsonFunction.IS_NUMBER: _is_number,
    s.JsonFunction.IS_STRING: lambda v: isinstance(v, str),
    s.JsonFunction.IS_BOOLEAN: lambda v: isinstance(v, bool),
    s.JsonFunction.IS_NULL: lambda v: v is None,
    s.JsonFunction.NUMBER: lambda v: float(v) if _is_number(v) else None,
    s.JsonFunction.STRING: lambda v: v if isinstance(v, str) else None,
    s.JsonFunction.BOOLEAN: lambda v: v if isinstance(v, bool) else None,
    s.JsonFunction.COUNT: lambda v: len(v) if isinstance(v, list) else None,
}


# -- order -----------------------------------------------------------------------------


def total_order(
    items: Sequence[s.OrderItem], entity_type: EntityType, default: tuple[str, bool]
) -> list[s.OrderItem]:
    """The client's keys (or the collection's default), cut after ``id`` or ended by it.

    ``id`` takes the direction of the key before it, as the API guide documents.
    """
    it = s.It(entity_type)
    order = list(items)
    if not order:
        prop = entity_type.find_property(default[0])
        assert prop is not None
        kind = s.STRING if default[0] == "displayName" else s.DATE_TIME
        order = [s.OrderItem(s.Column(kind, it, prop), default[1], default[0])]
    for i, item in enumerate(order):
        expr = item.expr
        if isinstance(expr, s.Column) and expr.property.key and isinstance(expr.source, s.It):
            return order[: i + 1]
    id_property = entity_type.find_property("id")
    assert id_property is not None
    return [*order, s.OrderItem(s.Column(s.STRING, it, id_property), order[-1].descending, "id")]


def sort_rows(reference: Reference, order: Sequence[s.OrderItem], rows: list[Row]) -> list[Row]:
    """``rows`` in ``order``: nulls first ascending and last descending."""
    keyed = [(row, [reference.eval(i.expr, _Env(row)) for i in order]) for row in rows]

    def compare(a: tuple[Row, list[Any]], b: tuple[Row, list[Any]]) -> int:
        for item, x, y in zip(order, a[1], b[1], strict=True):
            if x is None and y is None:
                continue
            if x is None or y is None:
                result = -1 if x is None else 1
            elif x == y:
                continue
            else:
                result = -1 if x < y else 1
            return -result if item.descending else result
        return 0

    keyed.sort(key=functools.cmp_to_key(compare))
    return [row for row, _ in keyed]
