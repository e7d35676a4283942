"""Entities written as OData JSON by the database itself, for pages that go straight out.

A page of a hundred runs read into records and formatted in Python costs more than everything
else of the request together: converting each column, building a record and a dictionary, and
formatting two timestamps per row. For a page read to be answered, the statement instead selects
one text per row, the entity's JSON exactly as :func:`flowruns.odata.payload.entity_json` and
orjson write it — the same members in the same order, strings escaped as orjson escapes them,
date-times with seven fractional digits and their trailing zeros dropped, stored JSON
(``statistics``, ``blockingError``, collections) passed through as stored — so a response joins
the texts. ``tests/store/test_rendering.py`` holds the two renderings to the same bytes over
random entities on both engines.

Each expression is built once per engine, table, type scope and ``$select`` (a bounded cache),
and depends on nothing else: SQLAlchemy finds the compiled statement of a page by a cache key
that covers it, and it carries no parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache, reduce

import orjson
from sqlalchemy import Connection, Text, case, cast, func, literal_column, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect as SqlalchemyDialect
from sqlalchemy.sql.expression import FromClause

from flowruns.edm.model import ComplexType, EntityType, EnumType, Primitive, Property
from flowruns.store.dialect import SQL, Dialect, dialect_of
from flowruns.store.entities import TableSpec
from flowruns.store.schema import PropertyColumn


@dataclass(frozen=True)
class Rendering:
    """Which properties each rendered entity holds: every property of its type (``names`` is
    None) or only those named (``$select``). The type and ETag annotations and the ``id`` are
    always there."""

    names: frozenset[str] | None = None


def _text(value: str) -> SQL:
    """A constant of the rendering, as an SQL string literal (never a bound parameter)."""
    return literal_column("'" + value.replace("'", "''") + "'", Text())


def _json_key(name: str) -> str:
    return orjson.dumps(name).decode() + ":"


def _value(dialect: Dialect, column: PropertyColumn, stored: SQL) -> SQL:
    """The JSON text of one stored property (``null`` when it is NULL)."""
    prop = column.property
    if isinstance(prop.type, EnumType):
        whens = [
            (i, _text(orjson.dumps(member).decode())) for i, member in enumerate(prop.type.members)
        ]
        return case(*((stored == value, text) for value, text in whens), else_=_text("null"))
    if prop.type is Primitive.DATE_TIME_OFFSET:
        quoted = _text('"') + dialect.date_time_text(stored) + _text('"')
        return case((stored.is_(None), _text("null")), else_=quoted)
    if prop.collection:
        # Rows written before collections defaulted to [] hold NULL; OData never writes null.
        return func.coalesce(cast(stored, Text), _text("[]"))
    if isinstance(prop.type, ComplexType):
        # The stored JSON text, as a page read into records embeds it.
        return func.coalesce(cast(stored, Text), _text("null"))
    if prop.type is Primitive.STRING:
        return dialect.json_string(stored)
    if prop.type is Primitive.INT64:
        return func.coalesce(cast(stored, Text), _text("null"))
    raise AssertionError(f"no JSON rendering for {prop.name} ({prop.type})")


def _concat(parts: Sequence[SQL | str]) -> SQL:
    """``parts`` joined with ``||``, adjacent constants merged into one literal."""
    merged: list[SQL] = []
    pending = ""
    for part in parts:
        if isinstance(part, str):
            pending += part
            continue
        if pending:
            merged.append(_text(pending))
            pending = ""
        merged.append(part)
    if pending:
        merged.append(_text(pending))
    return reduce(lambda left, right: left.concat(right), merged)


def _entity(
    dialect: Dialect,
    entity_type: EntityType,
    columns: dict[str, PropertyColumn],
    rows: FromClause,
    names: frozenset[str] | None,
) -> SQL:
    """One entity's JSON text from the columns of ``rows``."""
    etag, key = rows.c.etag, rows.c.id
    annotation = _json_key("@odata.type") + orjson.dumps(f"#{entity_type.qualified_name}").decode()
    etag_json = dialect.json_string(_text('W/"') + etag + _text('"'))
    parts: list[SQL | str] = ["{" + annotation + "," + _json_key("@odata.etag"), etag_json]
    parts += ["," + _json_key("id"), dialect.json_string(key)]
    for prop in _properties(entity_type, names):
        parts.append("," + _json_key(prop.name))
        if prop.name == "eTag":
            parts.append(etag_json)
        else:
            column = columns[prop.name]
            parts.append(_value(dialect, column, rows.c[column.column.name]))
    parts.append("}")
    return _concat(parts)


def _properties(entity_type: EntityType, names: frozenset[str] | None) -> list[Property]:
    return [p for p in entity_type.properties if not p.key and (names is None or p.name in names)]


# What the rendering reads its rows from: a subquery of the entity table's columns, under this
# name. The page is chosen, ordered and cut inside it, so that the engine writes the JSON of
# the rows of the page only, not of every row a sort takes in.
ROWS = "page_rows"

# Each engine's SQL, to write an expression out once: without bound parameters (every constant
# is a literal) and without the doubled percent signs of the psycopg driver's parameter style,
# which the statement that embeds the text adds itself.
_SQLALCHEMY_DIALECTS: dict[str, SqlalchemyDialect] = {
    "sqlite": sqlite.dialect(),
    "postgresql": postgresql.dialect(paramstyle="named"),  # type: ignore[no-untyped-call]
}


@lru_cache(maxsize=256)
def entity_json(
    dialect: Dialect, spec: TableSpec, scope_type: str, names: frozenset[str] | None
) -> SQL:
    """The JSON text of each row of ``spec``'s table holding ``scope_type`` or a type derived
    from it, by the row's stored type, read from the columns of a subquery named :data:`ROWS`.

    It is one opaque SQL text: SQLAlchemy computes the cache key of every statement it runs,
    and the key of a text is the text, where the key of the expression would be a walk over
    its hundreds of elements (about 150 µs a page, measured).
    """
    expression = _by_type(dialect, spec, scope_type, names)
    compiled = expression.compile(
        dialect=_SQLALCHEMY_DIALECTS[dialect.name], compile_kwargs={"literal_binds": True}
    )
    return literal_column(str(compiled), Text())


def _by_type(
    dialect: Dialect, spec: TableSpec, scope_type: str, names: frozenset[str] | None
) -> SQL:
    table = spec.table.alias(ROWS)
    return case(
        *(
            (
                table.c.type == t.name,
                _entity(dialect, t, spec.columns, table, names),
            )
            for t in spec.readers[scope_type][0].concrete_subtypes()
        ),
        else_=None,
    )


@cache
def _rows(spec: TableSpec) -> FromClause:
    """``spec``'s table under the name the rendering reads: made once, since building an
    alias's column collection for each read cost a fifth of reading the expanded entities."""
    return spec.table.alias(ROWS)


def read_many(
    connection: Connection,
    spec: TableSpec,
    tenant: str,
    keys: Sequence[str],
    scope_type: EntityType,
    render: Rendering,
) -> dict[str, orjson.Fragment]:
    """The JSON of each entity of ``spec``'s table with one of ``keys`` that exists and is a
    ``scope_type``, by key, as the database writes it (an expanded process of a page's runs)."""
    if not keys:
        return {}
    rows = _rows(spec)
    text = entity_json(dialect_of(connection), spec, scope_type.name, render.names)
    statement = select(text, rows.c.id).where(rows.c.tenant_id == tenant, rows.c.id.in_(keys))
    return {key: orjson.Fragment(json) for json, key in connection.execute(statement) if json}
