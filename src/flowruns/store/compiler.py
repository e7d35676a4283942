"""The typed expression tree (:mod:`flowruns.odata.semantic`) compiled to SQLAlchemy Core.

One compiler serves SQLite and PostgreSQL; where their SQL differs (JSON access, case folding,
calendar functions) it asks the connection's :class:`~flowruns.store.dialect.Dialect`. Every
value is a bound parameter. The semantics both engines share, and that the tests check against
a plain-Python reference evaluator:

* OData's two-valued logic: a comparison with null is false (``eq null`` tests for null), and
  ``not`` of such a comparison is true. In positive context SQL's NULL behaves as false, so
  plain comparisons are emitted there (and stay index-friendly); under ``not`` and inside
  ``all`` the operand is made strict with ``COALESCE(…, false)``.
* Strings compare by code point (``COLLATE "C"`` on PostgreSQL; SQLite's BINARY already does)
  and fold case by Python's rules (a registered function on SQLite, ICU on PostgreSQL).
* Integer ``div`` and ``mod`` truncate toward zero; division by zero gives null.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    Integer,
    String,
    Table,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    not_,
    null,
    or_,
    select,
    true,
    tuple_,
    type_coerce,
)
from sqlalchemy.sql.expression import FromClause

from flowruns.edm.datetimes import TICKS_PER_SECOND
from flowruns.edm.industrydata import (
    ACCESS_NAVIGATIONS,
    DATASETS,
    RUNS,
    dataset_access_direction,
    run_status,
)
from flowruns.edm.model import EntityType, NavigationProperty
from flowruns.errors import BadRequest
from flowruns.odata import semantic as s
from flowruns.odata.literals import TICKS_PER_DAY
from flowruns.store.dialect import SQL, Dialect, JsonRef, JsonType
from flowruns.store.entities import link_column, spec_of
from flowruns.store.schema import MIRRORED, run_group_members

# SQL elements one expression may be written as. A few constructs write an operand more than
# once (a double mod, a substring's start, a date's floor division), so nesting them multiplies
# the statement; the expression limits keep queries far below this (a few thousand at most).
MAX_SQL_ELEMENTS = 50_000


@dataclass(frozen=True)
class Compiled:
    sql: SQL
    nullable: bool


@dataclass
class Compiler:
    """Compiles expressions over rows of ``table`` for one tenant and one dialect."""

    dialect: Dialect
    tenant: str
    table: FromClause
    rows: dict[int, FromClause] = field(default_factory=dict)
    elements: dict[str, JsonRef] = field(default_factory=dict)

    # -- entry points --------------------------------------------------------------------

    def condition(self, expr: s.Expr) -> SQL:
        """A WHERE condition (null counts as false there)."""
        return _bounded(self.boolean(expr, strict=False).sql)

    def order_key(self, expr: s.Expr) -> Compiled:
        compiled = self._comparable(expr)
        _bounded(compiled.sql)
        return compiled

    def measured(self, expr: s.Expr) -> SQL:
        """The operand of an aggregate method (``sum``, ``max`` …)."""
        return _bounded(self.value(expr).sql)

    # -- rows ----------------------------------------------------------------------------

    def row(self, source: s.Source) -> FromClause:
        if isinstance(source, s.It):
            return self.table
        if isinstance(source, s.Variable):
            return self.rows[id(source)]
        raise AssertionError("a related entity is reached through a subquery")

    def _columns(self, entity_type: EntityType) -> dict[str, Any]:
        return spec_of(entity_type).columns

    def _table(self, entity_type: EntityType) -> FromClause:
        return spec_of(entity_type).table

    def _related(self, source: s.Related, target: FromClause) -> list[SQL]:
        """Conditions keeping the row of ``target`` that ``source``'s navigation leads to: a
        run's or an incident's process by its column, a process's contained expectation and
        health by the process's own key."""
        return [target.c.tenant_id == self.tenant, target.c.id == self._link(source)]

    def _link(self, source: s.Related) -> SQL:
        """The key of the entity ``source``'s navigation leads to, in its parent's row."""
        parent = self.row(source.parent)
        if source.navigation.contains_target:
            return parent.c.id
        return parent.c[link_column(source.navigation.name)]

    def column(self, expr: s.Column) -> Compiled:
        source = expr.source
        name = self._columns(source.type)[expr.property.name].column.name
        if isinstance(source, s.Related):
            if expr.property.key and not source.navigation.contains_target:
                return Compiled(self._link(source), True)
            table = self._table(source.type)
            mirror = MIRRORED.get((table.name, name)) if isinstance(table, Table) else None
            if mirror is not None and expr.cast is None:
                return Compiled(self.row(source.parent).c[mirror.name], True)
            target = table.alias()
            value: SQL = target.c[name]
            if expr.cast is not None:
                value = self._cast(target, value, expr.cast)
            sub = select(value).where(*self._related(source, target))
            return Compiled(sub.correlate_except(target).scalar_subquery(), True)
        table = self.row(source)
        column = table.c[name]
        if expr.cast is not None and expr.cast is not source.type:
            return Compiled(self._cast(table, column, expr.cast), True)
        return Compiled(column, bool(column.nullable))

    def _cast(self, table: FromClause, value: SQL, cast_type: EntityType) -> SQL:
        names = sorted(t.name for t in cast_type.subtypes())
        return case((table.c.type.in_(names), value), else_=null())

    # -- values --------------------------------------------------------------------------

    def value(self, expr: s.Expr) -> Compiled:
        match expr:
            case s.Const(value=None):
                return Compiled(null(), True)
            case s.Const(value=value):
                # Typed by the tree, not by the Python value: PostgreSQL casts every bound
                # parameter, and an int taken as INTEGER overflows past 2**31.
                return Compiled(literal(value, _LITERAL_TYPES.get(expr.type.kind)), False)
            case s.Column():
                return self.column(expr)
            case s.JsonPath(type=s.Type(kind=s.Kind.STRING)):
                return Compiled(self._json_text(self._ref(expr)), True)
            case s.Element(type=s.Type(kind=s.Kind.STRING)):
                return Compiled(self._json_text(self._ref(expr)), True)
            case s.Unary(op="neg", operand=operand):
                inner = self.value(operand)
                return Compiled(-inner.sql, inner.nullable)
            case s.Arithmetic():
                return self.arithmetic(expr)
            case s.Function():
                return self.function(expr)
            case s.NavigationCount():
                return Compiled(self.navigation_count(expr), False)
        if expr.type.kind is s.Kind.BOOLEAN:
            # A predicate used as a value (compared, sorted on) is CASE WHEN p THEN true ELSE
            # false END: two-valued (p is strict), self-delimiting (SQLAlchemy writes `NOT p > x`,
            # which PostgreSQL reads as NOT (p > x), and `p = 0 > x` on SQLite, where `>` binds
            # tighter), and never a bare constant (`ORDER BY 0` is a column position on SQLite,
            # `ORDER BY false` an error on PostgreSQL).
            predicate = self.boolean(expr, strict=True).sql
            yes, no = literal(True, Boolean()), literal(False, Boolean())
            return Compiled(case((predicate, yes), else_=no), False)
        raise AssertionError(f"cannot compile {expr!r}")

    def arithmetic(self, expr: s.Arithmetic) -> Compiled:
        left, right = self.value(expr.left), self.value(expr.right)
        a, b = left.sql, right.sql
        nullable = left.nullable or right.nullable
        kinds = (expr.left.type.kind, expr.right.type.kind)
        op = expr.op
        if op in ("div", "divby", "mod"):
            # Division by zero gives null: by a null divisor, so the divisor is written once
            # (a CASE testing it would write it twice, and nested divisions twice per level).
            b = type_coerce(func.nullif(b, literal(0, b.type)), b.type)
            if op == "divby" or expr.type.kind is s.Kind.DOUBLE:
                a = cast(a, Float())
            if op == "mod" and expr.type.kind is s.Kind.DOUBLE:
                quotient = a / b
                result: SQL = a - b * self.dialect.truncate(quotient)
            elif op == "mod":
                result = a % b
            elif op == "divby" or expr.type.kind is s.Kind.DOUBLE:
                result = a / b
            else:
                result = _integer_division(a, b)
            return Compiled(result, True)
        if kinds == (s.Kind.DATE, s.Kind.DATE):
            return Compiled((a - b) * literal(TICKS_PER_DAY, BigInteger()), nullable)
        result = {"add": a + b, "sub": a - b, "mul": a * b}[op]
        return Compiled(result, nullable)

    # -- booleans ------------------------------------------------------------------------

    def boolean(self, expr: s.Expr, *, strict: bool) -> Compiled:
        compiled = self._boolean(expr, strict)
        if strict and compiled.nullable:
            return Compiled(func.coalesce(compiled.sql, false()), False)
        return compiled

    def _boolean(self, expr: s.Expr, strict: bool) -> Compiled:
        match expr:
            case s.Const(value=value):
                return Compiled(true() if value else false(), False)
            case s.Logical(op=op, left=left, right=right):
                a, b = self.boolean(left, strict=strict), self.boolean(right, strict=strict)
                joined = and_(a.sql, b.sql) if op == "and" else or_(a.sql, b.sql)
                return Compiled(joined, a.nullable or b.nullable)
            case s.Unary(op="not", operand=operand):
                return Compiled(not_(self.boolean(operand, strict=True).sql), False)
            case s.Compare():
                return self.compare(expr)
            case s.In():
                return self.in_(expr)
            case s.TypeTest():
                return self.type_test(expr)
            case s.NavigationNull(related=related, negate=negate):
                if related.navigation.contains_target:
                    target = self._table(related.type).alias()
                    found = exists().where(*self._related(related, target))
                    found = found.correlate_except(target)
                    return Compiled(found if negate else not_(found), False)
                fk = self._link(related)
                return Compiled(fk.is_not(None) if negate else fk.is_(None), False)
            case s.EntityLambda():
                return Compiled(self.entity_lambda(expr), False)
            case s.JsonLambda():
                return Compiled(self.json_lambda(expr), False)
            case s.Function():
                return self.function(expr)
            case s.Column() | s.JsonPath() | s.Element():
                raise AssertionError("Boolean members are read through json.boolean")
        raise AssertionError(f"not a Boolean expression: {expr!r}")

    def _comparable(self, expr: s.Expr) -> Compiled:
        compiled = self.value(expr)
        if expr.type.kind is s.Kind.STRING:
            return Compiled(self.dialect.code_point_order(compiled.sql), compiled.nullable)
        return compiled

    def compare(self, expr: s.Compare) -> Compiled:
        left, right, op = expr.left, expr.right, expr.op
        if left.type.kind is s.Kind.COMPLEX or right.type.kind is s.Kind.COMPLEX:
            complex_side = left if left.type.kind is s.Kind.COMPLEX else right
            test = self.dialect.json_is_null(self._ref(complex_side))
            return Compiled(test if op == "eq" else not_(test), False)
        left_null = isinstance(left, s.Const) and left.value is None
        right_null = isinstance(right, s.Const) and right.value is None
        if left_null or right_null:
            other = right if left_null else left
            if left_null and right_null:
                return Compiled(true() if op in ("eq", "ge", "le") else false(), False)
            if op not in ("eq", "ne"):
                return Compiled(false(), False)
            value = self.value(other).sql
            return Compiled(value.is_(None) if op == "eq" else value.is_not(None), False)
        a, b = self._comparable(left), self._comparable(right)
        nullable = a.nullable or b.nullable
        if op == "eq" and a.nullable and b.nullable:
            return Compiled(a.sql.is_not_distinct_from(b.sql), False)
        if op == "ne" and nullable:
            return Compiled(a.sql.is_distinct_from(b.sql), False)
        operators: dict[str, Callable[[SQL, SQL], SQL]] = {
            "eq": lambda x, y: x == y,
            "ne": lambda x, y: x != y,
            "gt": lambda x, y: x > y,
            "ge": lambda x, y: x >= y,
            "lt": lambda x, y: x < y,
            "le": lambda x, y: x <= y,
        }
        return Compiled(operators[op](a.sql, b.sql), nullable)

    def in_(self, expr: s.In) -> Compiled:
        operand = self._comparable(expr.operand)
        values = [i.value for i in expr.items if isinstance(i, s.Const)]
        if len(values) == len(expr.items) and None not in values:
            return Compiled(operand.sql.in_(values), operand.nullable)
        alternatives = [
            self.compare(s.Compare(s.BOOLEAN, "eq", expr.operand, item)) for item in expr.items
        ]
        return Compiled(or_(*(a.sql for a in alternatives)), any(a.nullable for a in alternatives))

    def type_test(self, expr: s.TypeTest) -> Compiled:
        names = sorted(expr.types)
        source = expr.source
        if isinstance(source, s.Related):
            target = self._table(source.type).alias()
            sub = select(target.c.type).where(*self._related(source, target))
            return Compiled(sub.correlate_except(target).scalar_subquery().in_(names), True)
        return Compiled(self.row(source).c.type.in_(names), False)

    # -- navigations ---------------------------------------------------------------------

    def _members(self, variable: s.Variable, target: FromClause) -> list[SQL]:
        """Conditions linking the rows of ``target`` to ``variable``'s parent."""
        conditions: list[SQL] = [target.c.tenant_id == self.tenant]
        accesses = ACCESS_NAVIGATIONS.get(variable.navigation.name)
        if accesses is not None:  # a run's or a dataset's accesses in one direction
            column, direction = accesses
            parent_key = (
                self._link(variable.parent)
                if isinstance(variable.parent, s.Related)
                else self.row(variable.parent).c.id
            )
            conditions.append(target.c[column] == parent_key)
            conditions.append(target.c.direction == dataset_access_direction.value_of(direction))
            return conditions
        if isinstance(variable.parent, s.Related):
            # The runs of a run's process (``process/runs``): those linked to the same process,
            # none when the run has no process.
            run = self.row(variable.parent.parent)
            conditions.append(target.c.process_id == run.c.process_id)
            return conditions
        parent = self.row(variable.parent)
        if variable.parent.type.is_a(RUNS.type):  # a run group's member runs
            members = run_group_members.alias()
            conditions.append(
                exists()
                .where(
                    members.c.tenant_id == self.tenant,
                    members.c.group_id == parent.c.id,
                    members.c.run_id == target.c.id,
                )
                .correlate_except(members)
            )
        elif variable.parent.type.is_a(DATASETS.type):  # a dataset's incidents
            conditions.append(target.c.dataset_id == parent.c.id)
        else:  # a process's runs or incidents
            conditions.append(target.c.process_id == parent.c.id)
        return conditions

    def navigation_members(
        self,
        parent_type: EntityType,
        navigation: NavigationProperty,
        target_type: EntityType,
        target: FromClause,
    ) -> list[SQL]:
        """Conditions keeping the rows of ``target`` (an alias of ``target_type``'s table) that
        the collection-valued ``navigation`` of the row of :attr:`table`, a ``parent_type``,
        leads to: what an expansion reads for many parents in one statement."""
        variable = s.Variable("", s.It(parent_type), navigation, target_type)
        return self._members(variable, target)

    def entity_lambda(self, expr: s.EntityLambda) -> SQL:
        target = self._table(expr.variable.type).alias()
        self.rows[id(expr.variable)] = target
        try:
            if reads_after_failed_write(expr):  # kept with each run (store/downstream.py)
                return self.row(expr.variable.parent).c.read_after_failed_write == true()
            accesses = ACCESS_NAVIGATIONS.get(expr.variable.navigation.name)
            if accesses is not None and names_accesses_by_key(expr):
                return self._accessed(expr, target, accesses)
            conditions = self._members(expr.variable, target)
            if expr.body is None:
                return exists().where(*conditions).correlate_except(target)
            body = self.boolean(expr.body, strict=True).sql
            if expr.kind == "any":
                return exists().where(*conditions, body).correlate_except(target)
            return not_(exists().where(*conditions, not_(body)).correlate_except(target))
        finally:
            del self.rows[id(expr.variable)]

    def _accessed(self, expr: s.EntityLambda, target: FromClause, accesses: tuple[str, str]) -> SQL:
        """``any`` over the accesses of the rows filtered, whose body fixes a key of the
        accesses (:func:`names_accesses_by_key`): the row's key among the keys of the accesses
        that match, a semi-join an index on accesses answers (``outputs/any(d: d/name eq …)``
        from ``ix_dataset_accesses_name``), so that the engine can look the few rows up by key.
        The tenant is part of the key compared, so that the row's primary key answers."""
        column, direction = accesses
        row = self.row(expr.variable.parent)
        assert expr.body is not None
        matching = (
            select(target.c.tenant_id, target.c[column])
            .where(
                target.c.tenant_id == self.tenant,
                target.c.direction == dataset_access_direction.value_of(direction),
                self.boolean(expr.body, strict=True).sql,
            )
            .correlate_except(target)
        )
        return tuple_(row.c.tenant_id, row.c.id).in_(matching)

    def navigation_count(self, expr: s.NavigationCount) -> SQL:
        target = self._table(expr.type_).alias()
        variable = s.Variable("", expr.parent, expr.navigation, expr.type_)
        self.rows[id(variable)] = target
        try:
            conditions = self._members(variable, target)
        finally:
            del self.rows[id(variable)]
        query = select(func.count()).select_from(target).where(*conditions)
        return query.correlate_except(target).scalar_subquery()

    # -- JSON ----------------------------------------------------------------------------

    def _ref(self, expr: s.Expr) -> JsonRef:
        if isinstance(expr, s.Element):
            return self.elements[expr.name]
        if isinstance(expr, s.JsonPath):
            return self._ref(expr.base).member(expr.path)
        if isinstance(expr, s.Column):
            return JsonRef(self.dialect.json_document(self.column(expr).sql))
        raise AssertionError(f"not a JSON value: {expr!r}")

    def _json_text(self, ref: JsonRef) -> SQL:
        is_string = self.dialect.json_is(ref, JsonType.STRING)
        return case((is_string, self.dialect.json_scalar(ref)), else_=null())

    def json_lambda(self, expr: s.JsonLambda) -> SQL:
        ref = self._ref(expr.collection)
        is_array = self.dialect.json_is(ref, JsonType.ARRAY)
        elements, element = self.dialect.json_elements(ref, is_array)
        self.elements[expr.element.name] = element
        try:
            inner = select(literal(1)).select_from(elements).correlate_except(elements)
            if expr.body is None:
                return and_(is_array, exists(inner))
            body = self.boolean(expr.body, strict=True).sql
            if expr.kind == "any":
                return and_(is_array, exists(inner.where(body)))
            return or_(not_(is_array), not_(exists(inner.where(not_(body)))))
        finally:
            del self.elements[expr.element.name]

    # -- functions -----------------------------------------------------------------------

    def function(self, expr: s.Function) -> Compiled:
        if isinstance(expr.name, s.JsonFunction):
            return self.json_function(expr.name, self._ref(expr.args[0]))
        args = [self.value(a) for a in expr.args]
        nullable = any(a.nullable for a in args)
        sql = [a.sql for a in args]
        if expr.name in ("year", "month", "day"):
            days = self._days(sql[0], expr.args[0].type.kind is s.Kind.DATE)
            return Compiled(self.dialect.calendar(expr.name, days), nullable)
        return Compiled(_FUNCTIONS[expr.name](self, *sql), nullable)

    def json_function(self, name: s.JsonFunction, ref: JsonRef) -> Compiled:
        """A statistics member read as one JSON type: null (or false, for the tests) unless
        the member has that type."""
        dialect = self.dialect
        match name:
            case s.JsonFunction.IS_NUMBER:
                return Compiled(dialect.json_is(ref, JsonType.NUMBER), False)
            case s.JsonFunction.IS_STRING:
                return Compiled(dialect.json_is(ref, JsonType.STRING), False)
            case s.JsonFunction.IS_BOOLEAN:
                return Compiled(dialect.json_is(ref, JsonType.BOOLEAN), False)
            case s.JsonFunction.IS_NULL:
                return Compiled(dialect.json_is_null(ref), False)
            case s.JsonFunction.NUMBER:
                number = cast(dialect.json_scalar(ref), Float())
                is_number = dialect.json_is(ref, JsonType.NUMBER)
                return Compiled(case((is_number, number), else_=null()), True)
            case s.JsonFunction.STRING:
                return Compiled(self._json_text(ref), True)
            case s.JsonFunction.BOOLEAN:
                is_boolean = dialect.json_is(ref, JsonType.BOOLEAN)
                return Compiled(case((is_boolean, dialect.json_true(ref)), else_=null()), True)
            case s.JsonFunction.COUNT:
                is_array = dialect.json_is(ref, JsonType.ARRAY)
                length = dialect.json_array_length(ref)
                return Compiled(case((is_array, length), else_=null()), True)
        raise AssertionError(name)

    # Calendar parts from ticks (date-times) or days (dates); integer arithmetic where possible.

    def _floor_div(self, value: SQL, by: int) -> SQL:
        divisor = literal(by, BigInteger())
        remainder = ((value % divisor) + divisor) % divisor
        return _integer_division(value - remainder, divisor)

    def _days(self, value: SQL, is_date: bool) -> SQL:
        return value if is_date else self._floor_div(value, TICKS_PER_DAY)

    def _clock(self, ticks: SQL, unit: int, modulo: int) -> SQL:
        whole = self._floor_div(ticks, unit)
        return ((whole % modulo) + modulo) % modulo


def _bounded(sql: SQL) -> SQL:
    """``sql``, or a 400 when written out it would hold more than :data:`MAX_SQL_ELEMENTS`
    elements: counted over the expression's shared parts, before any statement is written."""
    written: dict[int, int] = {}
    # Each element with the children it was expanded into (which also keeps them alive, so no
    # id is reused while counting); None until expanded.
    pending: list[tuple[Any, list[Any] | None]] = [(sql, None)]
    while pending:
        element, children = pending.pop()
        if id(element) in written:
            continue
        if children is None:
            children = list(element.get_children())
            pending.append((element, children))
            pending.extend((child, None) for child in children if id(child) not in written)
            continue
        written[id(element)] = 1 + sum(written.get(id(child), 0) for child in children)
        if written[id(element)] > MAX_SQL_ELEMENTS:
            raise BadRequest(
                "The query is too complex for the database: it repeats nested operations "
                f"(mod, div, substring) until it would be written as more than "
                f"{MAX_SQL_ELEMENTS} SQL elements. Simplify the expression."
            )
    return sql


# The members of an access that an index on accesses starts with (after the tenant): its key, its
# dataset's name (ix_dataset_accesses_name), its dataset (ix_dataset_accesses_dataset) and its
# run (ux_dataset_accesses_run).
_ACCESS_KEYS = frozenset({"id", "name", "datasetId", "runId"})


def names_accesses_by_key(expr: s.EntityLambda) -> bool:
    """Whether ``expr`` is an ``any`` over the accesses of the rows filtered (``outputs``,
    ``writes`` …) whose body fixes a key of the accesses by equality to constants — ``d/name eq
    'x'``, ``d/datasetId in (…)``, alone or and-ed with anything else.

    Such an ``any`` is selective: an index lists the few accesses it keeps, and the rows
    filtered are best looked up by the keys those name (a semi-join). Any other ``any`` may
    keep most rows (``inputs/any(i: i/dataset/writes/any(…))``, ``outputs/any()``): reading
    every access it keeps before the first row would cost the whole table, so it is a
    correlated ``EXISTS``, a probe of each row's accesses by the per-run or per-dataset index
    that stops with the page. Decided from the expression alone: SQLite keeps no statistics
    that could say which way is cheaper, and one rule gives both engines the same statement."""
    if expr.kind != "any" or not isinstance(expr.variable.parent, s.It) or expr.body is None:
        return False
    if expr.variable.navigation.name not in ACCESS_NAVIGATIONS:
        return False
    return any(_fixes_key(term, expr.variable) for term in _conjuncts(expr.body))


def reads_after_failed_write(expr: s.EntityLambda) -> bool:
    """Whether ``expr`` is "the run read a dataset that a failed run wrote no later than the
    read": ``inputs/any(i: i/dataset/writes/any(w: w/runStatus eq 'failed' and
    w/runStartDateTime le i/runStartDateTime))`` over the runs filtered, its two conditions in
    either order, each written either way round. The database keeps that answer with each run
    (``runs.read_after_failed_write``, store/downstream.py), so a page of the runs it keeps is a
    range of an index rather than a probe of every run until enough match."""
    if expr.kind != "any" or expr.body is None or expr.variable.navigation.name != "inputs":
        return False
    if not isinstance(expr.variable.parent, s.It) or not expr.variable.parent.type.is_a(RUNS.type):
        return False
    inner = expr.body
    if not isinstance(inner, s.EntityLambda) or inner.kind != "any" or inner.body is None:
        return False
    dataset = inner.variable.parent
    if (
        inner.variable.navigation.name != "writes"
        or not isinstance(dataset, s.Related)
        or dataset.parent != expr.variable
        or dataset.navigation.name != "dataset"
    ):
        return False

    def of(operand: s.Expr, variable: s.Variable, name: str) -> bool:
        return (
            isinstance(operand, s.Column)
            and operand.source == variable
            and operand.cast is None
            and operand.property.name == name
        )

    failed = run_status.value_of("failed")
    write, read = inner.variable, expr.variable
    wanted = 0
    terms = _conjuncts(inner.body)
    for term in terms:
        match term:
            case s.Compare(op="eq", left=left, right=right) if any(
                of(a, write, "runStatus") and isinstance(b, s.Const) and b.value == failed
                for a, b in ((left, right), (right, left))
            ):
                wanted |= 1
            case s.Compare(op="le", left=left, right=right) if of(
                left, write, "runStartDateTime"
            ) and of(right, read, "runStartDateTime"):
                wanted |= 2
            case s.Compare(op="ge", left=left, right=right) if of(
                left, read, "runStartDateTime"
            ) and of(right, write, "runStartDateTime"):
                wanted |= 2
            case _:
                return False
    return len(terms) == 2 and wanted == 3


def filters_by_accessed_keys(expr: s.Expr) -> bool:
    """Whether ``expr`` keeps only rows named by the semi-join of :func:`names_accesses_by_key`
    (one is a conjunct at its top): their keys, not an index's order, are where to start."""
    return any(
        isinstance(term, s.EntityLambda) and names_accesses_by_key(term)
        for term in _conjuncts(expr)
    )


def _conjuncts(expr: s.Expr) -> list[s.Expr]:
    if isinstance(expr, s.Logical) and expr.op == "and":
        return [*_conjuncts(expr.left), *_conjuncts(expr.right)]
    return [expr]


def _fixes_key(term: s.Expr, variable: s.Variable) -> bool:
    """Whether ``term`` is ``key eq constant`` (either way round) or ``key in (constants)``,
    for a key of an access (:data:`_ACCESS_KEYS`) of ``variable``, with no null constant."""

    def key(operand: s.Expr) -> bool:
        return (
            isinstance(operand, s.Column)
            and operand.source == variable
            and operand.cast is None
            and operand.property.name in _ACCESS_KEYS
        )

    def constant(operand: s.Expr) -> bool:
        return isinstance(operand, s.Const) and operand.value is not None

    match term:
        case s.Compare(op="eq", left=left, right=right):
            return (key(left) and constant(right)) or (key(right) and constant(left))
        case s.In(operand=operand, items=items):
            return key(operand) and all(constant(item) for item in items)
    return False


def _integer_division(a: SQL, b: SQL) -> SQL:
    """``a / b`` truncated toward zero, as SQL divides integers. Not SQLAlchemy's ``/`` (true
    division) nor its ``//`` on operands of unknown type (``FLOOR(a / b)``, and on SQLite a
    Python function that fails on null)."""
    return type_coerce(a, BigInteger()) // type_coerce(b, BigInteger())


_LITERAL_TYPES: dict[s.Kind, Any] = {
    s.Kind.STRING: String(),
    s.Kind.BOOLEAN: Boolean(),
    s.Kind.INT: BigInteger(),
    s.Kind.DOUBLE: Float(),
    s.Kind.DATE_TIME: BigInteger(),
    s.Kind.DATE: BigInteger(),
    s.Kind.DURATION: BigInteger(),
    s.Kind.ENUM: BigInteger(),
}


# substr() takes a 32-bit position on PostgreSQL; no string is longer than this anyway.
_MAX_POSITION = 2**31 - 2


def _position_argument(value: SQL) -> SQL:
    """A start or length for substr(): negatives clamp to 0, and it fits an INTEGER."""
    clamped = case((value < 0, 0), (value > _MAX_POSITION, _MAX_POSITION), else_=value)
    return cast(clamped, Integer())


def _ends_with(c: Compiler, value: SQL, suffix: SQL) -> SQL:
    start = func.length(value) - func.length(suffix) + 1
    return and_(func.length(value) >= func.length(suffix), func.substr(value, start) == suffix)


def _substring(c: Compiler, value: SQL, start: SQL, length: SQL | None = None) -> SQL:
    first = _position_argument(start) + 1
    if length is None:
        return func.substr(value, first)
    return func.substr(value, first, _position_argument(length))


_FUNCTIONS: dict[str, Callable[..., SQL]] = {
    "contains": lambda c, a, b: c.dialect.position(a, b) > 0,
    "startswith": lambda c, a, b: func.substr(a, 1, func.length(b)) == b,
    "endswith": _ends_with,
    "tolower": lambda c, a: c.dialect.lower(a),
    "toupper": lambda c, a: c.dialect.upper(a),
    "trim": lambda c, a: c.dialect.trim(a),
    "length": lambda c, a: func.length(a),
    "indexof": lambda c, a, b: c.dialect.position(a, b) - 1,
    "concat": lambda c, a, b: a.op("||")(b),
    "substring": _substring,
    "hour": lambda c, a: c._clock(a, 3600 * TICKS_PER_SECOND, 24),
    "minute": lambda c, a: c._clock(a, 60 * TICKS_PER_SECOND, 60),
    "second": lambda c, a: c._clock(a, TICKS_PER_SECOND, 60),
    "date": lambda c, a: c._floor_div(a, TICKS_PER_DAY),
}
