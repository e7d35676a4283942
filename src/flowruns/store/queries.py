"""Reading entities by query: a typed, bound read executed over the rows of one scope.

The caller says what a read means in the model's terms — whose rows (a
:class:`~flowruns.store.entities.Scope`), which of them and in what total order (a
:class:`Query` of typed trees, :mod:`flowruns.odata.semantic`), which part of that order (a
:class:`Window`), and which navigations to expand — and gets records back. Everything between
is here: the typed trees compiled for the connection's engine, the keyset condition of a page,
the statements, and the mapping of what an engine refuses to compute to the client's 400.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import (
    Boolean,
    ColumnElement,
    Connection,
    Select,
    and_,
    bindparam,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.engine import Dialect as SqlalchemyDialect
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from sqlalchemy.sql.dml import Insert, Update
from sqlalchemy.sql.expression import FromClause

from flowruns.edm.model import EntityType, NavigationProperty
from flowruns.errors import BadRequest
from flowruns.odata import semantic as s
from flowruns.records import Record
from flowruns.store import entities, rendering
from flowruns.store.bounded import statement_starts
from flowruns.store.compiler import Compiler, filters_by_accessed_keys
from flowruns.store.dialect import dialect_of
from flowruns.store.entities import Scope
from flowruns.store.rendering import Rendering

# What the engines say when a statement nests deeper than their parser takes: SQLite's
# parser stack (about 100 entries) and expression depth, PostgreSQL's statement_too_complex.
_TOO_DEEP_FOR_SQLITE = ("parser stack overflow", "Expression tree is too large")
_TOO_DEEP_FOR_POSTGRESQL = "54001"


@contextmanager
def evaluating() -> Iterator[None]:
    """Arithmetic that leaves the engine's range (64-bit integers, doubles) is the client's
    400, not a server error, and so is a query the engine finds too deeply nested to parse
    (the expression limits keep nearly all of those from being sent; SQLite's parser stack
    also depends on how each construct is written)."""
    try:
        yield
    except (DataError, OverflowError):
        raise BadRequest(
            "A value computed by the query is out of range (64-bit integers, finite doubles)."
        ) from None
    except OperationalError as error:
        message = str(error.orig)
        too_deep = getattr(error.orig, "sqlstate", None) == _TOO_DEEP_FOR_POSTGRESQL or any(
            message.startswith(text) for text in _TOO_DEEP_FOR_SQLITE
        )
        if not too_deep:
            raise
        raise BadRequest(
            "The query nests too deeply for the database to parse; nest fewer operations."
        ) from None


@dataclass(frozen=True)
class _Prepared:
    """A statement as SQLite's driver runs it: its SQL text, where each positional parameter's
    value comes from (a name the caller gives, or a value of the statement's own), how each
    value given is converted for the driver, and how each column read is converted back."""

    sql: str
    names: tuple[str | None, ...]  # None: the constant at the same place in ``constants``
    constants: tuple[Any, ...]
    converters: tuple[Callable[[Any], Any] | None, ...]
    results: tuple[tuple[int, Callable[[Any], Any]], ...]  # the columns converted, and how


# A statement :func:`fetch` runs: a read, or an insert or update (with or without RETURNING).
Fetched = Select[Any] | Insert | Update


@lru_cache(maxsize=256)
def _prepare(
    dialect: SqlalchemyDialect, statement: Fetched, columns: tuple[str, ...] | None
) -> _Prepared:
    """``statement`` compiled once for the engine of ``dialect``: its required parameters
    (``bindparam`` without a value, and the ``columns`` an insert or update writes) left as
    placeholders, every value it holds itself (the members of an ``IN`` list too) converted
    once."""
    compiled = statement.compile(dialect=dialect, column_keys=columns)
    given = {name for name, bind in compiled.binds.items() if bind.required}
    state = compiled.construct_expanded_state(dict.fromkeys(given))
    names: list[str | None] = []
    constants: list[Any] = []
    converters: list[Callable[[Any], Any] | None] = []
    for name in state.positiontup or ():
        converter = state.processors.get(name)
        if converter is None and name in compiled.binds:
            converter = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
        if name in given:
            names.append(name)
            constants.append(None)
            converters.append(converter)
        else:
            value = state.parameters[name]
            names.append(None)
            constants.append(value if converter is None else converter(value))
            converters.append(None)
    results = [
        (at, c.type.dialect_impl(dialect).result_processor(dialect, None))
        for at, c in enumerate(statement.exported_columns)
    ]
    return _Prepared(
        state.statement,
        tuple(names),
        tuple(constants),
        tuple(converters),
        tuple((at, convert) for at, convert in results if convert is not None),
    )


def fetch(
    connection: Connection, statement: Fetched, parameters: dict[str, Any]
) -> list[Sequence[Any]]:
    """The rows ``statement`` reads (or an insert or update returns), as tuples of its
    columns' values; ``parameters`` are the values of its bound parameters that have none
    (``bindparam(name)``) and, for an insert or update, of the columns it writes.

    On SQLite the statement is compiled once per engine, statement object and set of columns
    written (so pass one that is built once and reused: every value it holds is part of it)
    and run on the driver's cursor in the connection's transaction. Executing a statement
    through SQLAlchemy costs about twice what SQLite takes to run a small read or write (its
    execution context, events, result object and the lookup of the compiled form by the
    statement's cache key); statements that take SQLite tens of microseconds pay that every
    time. Errors are SQLAlchemy's, as from :meth:`Connection.execute`, and a read inside
    :func:`~flowruns.store.bounded.bounded` is bounded the same. Other engines, and an insert
    or update outside a transaction (SQLAlchemy begins one), execute it through SQLAlchemy.
    """
    writes = not isinstance(statement, Select)
    if connection.dialect.name != "sqlite" or (writes and not connection.in_transaction()):
        result = connection.execute(statement, parameters)
        return list(result.all()) if result.returns_rows else []
    columns = tuple(parameters) if writes else None
    prepared = _prepare(connection.dialect, statement, columns)
    values = [
        constant
        if name is None
        else parameters[name]
        if convert is None
        else convert(parameters[name])
        for name, constant, convert in zip(
            prepared.names, prepared.constants, prepared.converters, strict=True
        )
    ]
    driver = connection.connection.driver_connection
    assert driver is not None
    statement_starts()
    try:
        rows: list[Sequence[Any]] = driver.execute(prepared.sql, values).fetchall()
    except connection.dialect.loaded_dbapi.Error as error:
        raise DBAPIError.instance(
            prepared.sql, values, error, connection.dialect.loaded_dbapi.Error
        ) from error
    if not prepared.results:
        return rows
    converted: list[Sequence[Any]] = []
    for row in rows:
        read = list(row)
        for at, convert in prepared.results:
            read[at] = convert(read[at])
        converted.append(read)
    return converted


@dataclass(frozen=True)
class Query:
    """Which rows of a scope a read keeps, in what order, and what it expands.

    The ``order`` of a page must be total (end with the key), so that a page can start after
    the last key of the one before.
    """

    order: tuple[s.OrderItem, ...] = ()
    filter: s.Expr | None = None
    search: s.Expr | None = None
    expand: tuple[Expansion, ...] = ()
    count: bool = False


@dataclass(frozen=True)
class Window:
    """The part of the order a page holds: at most ``limit`` rows, after the sort key
    ``after`` (keyset paging) or past the first ``offset`` rows."""

    limit: int
    offset: int = 0
    after: Sequence[Any] | None = None


@dataclass(frozen=True)
class Expansion:
    """A navigation to read along with each record: a single-valued one (``process``) is the
    related record or None; a collection-valued one is a page of ``query`` per record, in
    ``window``, and its count when ``query.count``."""

    navigation: NavigationProperty
    target: EntityType
    query: Query
    window: Window
    # An expansion whose entities go straight into the response: the database writes their
    # JSON (with these properties), as it does a rendered page's, and each related entity is
    # that text (an orjson.Fragment) instead of a record.
    render: Rendering | None = None


@dataclass
class Page:
    """The records of one window, what a next page starts after, and the count if asked."""

    records: list[Record]
    last_key: list[Any] | None  # the sort key of the last record, when more rows follow
    total: int | None = None  # the rows of the whole query, when it asked for the count
    # With a Rendering: each entity's JSON text, in order. The records then carry only what
    # their expansions need (type, id, ETag, process), and only when the query expands.
    rendered: list[str] | None = None


@dataclass(frozen=True)
class _SortColumn:
    """One key of a total order: an SQL expression, whether it can be null, its direction."""

    expr: ColumnElement[Any]
    nullable: bool
    descending: bool


@dataclass(frozen=True)
class _Compiled:
    """A query compiled for one connection and table: its conditions and sort keys."""

    where: list[ColumnElement[bool]]
    order: list[_SortColumn]
    # Whether the filter names the rows it keeps by key (compiler.filters_by_accessed_keys).
    keyed: bool


def _compile(
    connection: Connection, scope: Scope, query: Query, table: FromClause | None = None
) -> _Compiled:
    compiler = Compiler(
        dialect_of(connection), scope.tenant, scope.spec.table if table is None else table
    )
    where = [compiler.condition(e) for e in (query.filter, query.search) if e is not None]
    order = []
    for item in query.order:
        key = compiler.order_key(item.expr)
        order.append(_SortColumn(key.sql, key.nullable, item.descending))
    keyed = query.filter is not None and filters_by_accessed_keys(query.filter)
    return _Compiled(where, order, keyed)


def read_page(
    connection: Connection,
    scope: Scope,
    query: Query,
    window: Window,
    *,
    json_as: Callable[[str], Any] = orjson.Fragment,
    render: Rendering | None = None,
) -> Page:
    """The records of ``scope`` that ``query`` keeps, in its order, in ``window``, with their
    expansions (and the count of all of them, when the query asks for it).

    JSON columns are read as their stored text and passed through ``json_as``: by default kept
    as fragments a response embeds unchanged. With ``render``, the database writes each
    entity's JSON (:mod:`flowruns.store.rendering`) into :attr:`Page.rendered` instead.
    """
    with evaluating():
        compiled = _compile(connection, scope, query)
        shape = None if render is None else _Rendered(render, bool(query.expand))
        page = _page(connection, scope, compiled, window, json_as, shape)
        if query.count:
            page.total = _count(connection, scope, compiled)
        _expand(connection, scope.tenant, page.records, query.expand)
    return page


def condition(
    connection: Connection, scope: Scope, filter: s.Expr, table: FromClause | None = None
) -> ColumnElement[bool]:
    """``filter`` as a condition on rows of the scope's table (or of ``table``, an alias of
    it); to be executed inside :func:`evaluating`."""
    return and_(*_compile(connection, scope, Query(filter=filter), table).where)


def count(connection: Connection, scope: Scope, query: Query) -> int:
    """How many records of ``scope`` ``query`` keeps."""
    with evaluating():
        return _count(connection, scope, _compile(connection, scope, query))


def expand(
    connection: Connection, tenant: str, records: list[Record], items: Sequence[Expansion]
) -> None:
    """Attach each expansion to ``records``, in :attr:`Record.expanded`."""
    with evaluating():
        _expand(connection, tenant, records, items)


@dataclass(frozen=True)
class _Rendered:
    """A page rendered by the database, with the records its expansions need or none."""

    rendering: Rendering
    records: bool


def _page(
    connection: Connection,
    scope: Scope,
    compiled: _Compiled,
    window: Window,
    json_as: Callable[[str], Any],
    rendered: _Rendered | None = None,
) -> Page:
    spec, order = scope.spec, compiled.order
    tenant = None
    if compiled.keyed:
        # The filter names the few rows it keeps by key: look them up and sort them, rather
        # than walk the tenant's rows in the order asked and test each.
        tenant = dialect_of(connection).not_an_index_start(spec.table.c.tenant_id)
    conditions = [*entities.scope_filter(scope, tenant=tenant), *compiled.where]
    if window.after is not None:
        if len(window.after) != len(order):
            raise ValueError("the sort key does not match the order")
        conditions.append(_after(order, window.after))
    keys = [k.expr.label(f"_sort{i}") for i, k in enumerate(order)]
    columns = spec.json_as_text if rendered is None else spec.table.columns
    statement = (
        select(*columns, *keys)
        .select_from(spec.table)
        .where(*conditions)
        .order_by(*_order_by(order))
        .limit(window.limit + 1)
        .offset(window.offset or None)
    )
    if rendered is not None:
        statement = _rendered(connection, scope, statement, order, rendered.rendering)
    rows = connection.execute(statement).all()
    more = len(rows) > window.limit
    rows = rows[: window.limit]
    texts = None
    if rendered is None:
        records = [entities.to_record(spec, row, json_as=json_as) for row in rows]
    else:
        texts = [row[0] for row in rows]
        records = []
        if rendered.records:
            records = [entities.identity_record(spec, row, 1) for row in rows]
    last_key = None
    if more and rows:
        last = rows[-1]._mapping
        last_key = [last[f"_sort{i}"] for i in range(len(order))]
    return Page(records, last_key, rendered=texts)


def _rendered(
    connection: Connection,
    scope: Scope,
    page: Select[Any],
    order: Sequence[_SortColumn],
    render: Rendering,
) -> Select[Any]:
    """The rows of ``page`` (all columns of the table, then the sort keys) in its order, each
    as its entity's JSON text, then the identity columns and the sort keys: the page is cut
    first, so the JSON is written for its rows only."""
    rows = page.subquery(rendering.ROWS)
    text = _json_of(connection, scope, render)
    # Named, not taken from rows.c: building a new subquery's column collection for every
    # page cost more than rendering its JSON saved.
    # Typed as the keys are, so that their values come back as the skiptoken records them.
    keys: list[ColumnElement[Any]] = [
        literal_column(f"{rendering.ROWS}._sort{i}", k.expr.type).label(f"_sort{i}")
        for i, k in enumerate(order)
    ]
    outer = [_SortColumn(key, k.nullable, k.descending) for key, k in zip(keys, order, strict=True)]
    identity: list[ColumnElement[Any]] = [
        literal_column(f"{rendering.ROWS}.{c.name}") for c in scope.spec.identity
    ]
    statement = select(text.label("_json"), *identity, *keys).select_from(rows)
    return statement.order_by(*_order_by(outer))


def _json_of(connection: Connection, scope: Scope, render: Rendering) -> ColumnElement[Any]:
    """Each entity's JSON text, read from the rows named :data:`rendering.ROWS`."""
    dialect = dialect_of(connection)
    return rendering.entity_json(dialect, scope.spec, scope.type.name, render.names)


def _count(connection: Connection, scope: Scope, compiled: _Compiled) -> int:
    conditions = [*entities.scope_filter(scope), *compiled.where]
    statement = select(func.count()).select_from(scope.spec.table).where(*conditions)
    return int(connection.execute(statement).scalar_one())


def _after(order: Sequence[_SortColumn], values: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after ``values`` in ``order`` (nulls first ascending, last descending)."""
    uniform = len({k.descending for k in order}) == 1
    if uniform and not any(k.nullable for k in order) and None not in values:
        # One row-value comparison: the form both engines turn into an index range scan.
        left, right = tuple_(*(k.expr for k in order)), tuple_(*values)
        return left < right if order[0].descending else left > right
    alternatives: list[ColumnElement[bool]] = []
    for i, key in enumerate(order):
        column, value = key.expr, _bound(values[i])
        prefix = [
            order[j].expr.is_(None) if values[j] is None else order[j].expr == values[j]
            for j in range(i)
        ]
        if key.descending:
            step = false() if value is None else or_(column < value, column.is_(None))
        else:
            step = column.is_not(None) if value is None else column > value
        alternatives.append(and_(*prefix, step))
    return or_(*alternatives)


def _bound(value: Any) -> Any:
    """A key value to compare with; SQLAlchemy takes a bare True/False only for equality."""
    return literal(value, Boolean()) if isinstance(value, bool) else value


def _order_by(order: Sequence[_SortColumn]) -> list[Any]:
    clauses: list[Any] = []
    for key in order:
        clause = key.expr.desc() if key.descending else key.expr.asc()
        if key.nullable:
            clause = clause.nulls_last() if key.descending else clause.nulls_first()
        clauses.append(clause)
    return clauses


def _expand(
    connection: Connection, tenant: str, records: list[Record], items: Sequence[Expansion]
) -> None:
    for item in items:
        name = item.navigation.name
        if item.navigation.contains_target and not item.navigation.collection:
            # A process's expectation or health: its own row, keyed by the process.
            held = entities.get_many(
                connection, entities.spec_of(item.target), tenant, [r.id for r in records]
            )
            for record in records:
                record.expanded[name] = held.get(record.id)
            continue
        if not item.navigation.collection:  # run or incident → process, access → run, dataset
            spec = entities.spec_of(item.target)
            linked = {r.id: entities.linked_key(r, name) for r in records}
            keys = {key for key in linked.values() if key is not None}
            if item.render is not None:
                texts = rendering.read_many(
                    connection, spec, tenant, sorted(keys), item.target, item.render
                )
                for record in records:
                    record.expanded[name] = texts.get(linked[record.id] or "")
                continue
            related = entities.get_many(connection, spec, tenant, sorted(keys))
            for record in records:
                target = related.get(linked[record.id] or "")
                if target is not None and not target.type.is_a(item.target):
                    target = None
                record.expanded[name] = target
            _expand(connection, tenant, list(related.values()), item.query.expand)
            continue
        members = _expand_collection(connection, tenant, records, item)
        _expand(connection, tenant, members, item.query.expand)


def _expand_collection(
    connection: Connection, tenant: str, records: list[Record], item: Expansion
) -> list[Record]:
    """Attach to each of ``records`` the page of a collection-valued navigation ``item`` asks
    for (and its count), read for all of them in one statement (and the counts in one more);
    the records read, for the expansions nested in ``item``.

    Where the engine joins LATERAL (PostgreSQL), each parent's page is its own ordered and cut
    subquery, which an index on the link and the order answers without reading the parent's
    other members. SQLite has no LATERAL and runs a correlated subquery once per candidate row,
    not once per parent (every run of the tenant, measured). There, each parent's page is read
    by one statement, built and compiled once for all parents, that the index answers the same
    way: numbering the members of all parents instead (``row_number() over (partition by the
    parent …)``) reads every member, and took 13.7 ms where 25 parents' pages took 1.4 ms (100
    runs each); a UNION ALL of a subquery per parent cost more to build than to run.

    With ``item.render`` the database writes each member's JSON, and the pages hold those texts
    (orjson fragments) instead of records.
    """
    name = item.navigation.name
    parents = [r for r in records if name in {n.name for n in r.type.navigations}]
    if not parents:
        return []
    dialect = dialect_of(connection)
    parent_type = entities.spec_of(parents[0].type).root
    parent = entities.spec_of(parent_type).table.alias("parent")
    scope = Scope(tenant, item.target)
    member = scope.spec.table.alias("member")
    compiled = _compile(connection, scope, item.query, member)
    kept = [*entities.scope_filter(scope, member), *compiled.where]
    link = Compiler(dialect, tenant, parent).navigation_members(
        parent_type, item.navigation, item.target, member
    )
    keys = sorted({r.id for r in parents})
    parent_key = parent.c.id.label("_parent")
    # With a rendering the database writes each member's JSON (flowruns.store.rendering).
    columns = entities.as_text(member) if item.render is None else list(member.columns)
    sorts = [k.expr.label(f"_sort{i}") for i, k in enumerate(compiled.order)]
    pages: dict[str, list[Any]] = {key: [] for key in keys}
    members: list[Record] = []

    def add(key: str, values: Sequence[Any]) -> None:
        if item.render is not None:
            pages[key].append(orjson.Fragment(values[0]))
            return
        record = entities.to_record(scope.spec, values, json_as=orjson.Fragment)
        pages[key].append(record)
        members.append(record)

    if dialect.lateral_joins:
        page = (
            select(*columns, *sorts)
            .where(*kept, *link)
            .order_by(*_order_by(compiled.order))
            .limit(item.window.limit)
            .offset(item.window.offset or None)
        )
        lateral = page.correlate(parent).lateral(rendering.ROWS)
        outer = [
            _SortColumn(lateral.c[f"_sort{i}"], k.nullable, k.descending)
            for i, k in enumerate(compiled.order)
        ]
        if item.render is None:
            written: list[ColumnElement[Any]] = [
                lateral.c[c.name] for c in entities.read_columns(member)
            ]
        else:
            written = [_json_of(connection, scope, item.render)]
        statement = (
            select(*written, parent_key)
            .select_from(parent.join(lateral, true()))
            .where(parent.c.tenant_id == tenant, parent.c.id.in_(keys))
            .order_by(parent.c.id, *_order_by(outer))
        )
        for row in connection.execute(statement):
            add(row._mapping["_parent"], row)
    else:
        # One statement for every parent, built and compiled once (fetch), run once each.
        each = (
            select(*columns, *sorts)
            .select_from(parent.join(member, and_(*link)))
            .where(parent.c.tenant_id == tenant, parent.c.id == bindparam("parent"), *kept)
            .order_by(*_order_by(compiled.order))
            .limit(item.window.limit)
            .offset(item.window.offset or None)
        )
        if item.render is not None:
            each = _rendered(connection, scope, each, compiled.order, item.render)
        for key in keys:
            for values in fetch(connection, each, {"parent": key}):
                add(key, values)
    counts: dict[str, int] = {}
    if item.query.count:
        number = select(func.count()).select_from(member).where(*kept, *link).correlate(parent)
        numbers = select(parent.c.id, number.scalar_subquery()).where(
            parent.c.tenant_id == tenant, parent.c.id.in_(keys)
        )
        counts = {row[0]: int(row[1]) for row in connection.execute(numbers)}
    for record in parents:
        record.expanded[name] = pages[record.id]
        if item.query.count:
            record.expanded[f"{name}@odata.count"] = counts[record.id]
    return members
