"""Where the SQL of SQLite and PostgreSQL differs: one object per engine.

The compiler, the entity statements and the day counts write one SQLAlchemy expression for both
engines and ask the connection's :class:`Dialect` for the pieces the engines spell differently:
collation, case folding, string search and trimming, truncation, calendar parts, JSON access,
random versions, row locking and the change log's horizon. Each is chosen once, by
:func:`dialect_of`, from the engine's name; nothing else in the store tests which engine it runs
on for the SQL it writes.

JSON is the widest difference. SQLite keeps JSON as text and reads it with path strings
(``json_type(doc, '$."a"')``, ``json_each``); PostgreSQL stores ``JSONB`` and reads it with
operators (``doc #> '{a}'``, ``jsonb_typeof``, ``jsonb_array_elements``). Both are reached
through a :class:`JsonRef`, a document and a member path in it, and both report a member's
type in their own words, which :data:`Dialect.json_type_names` maps onto :class:`JsonType`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import Enum
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Integer,
    Select,
    String,
    Text,
    case,
    cast,
    collate,
    extract,
    false,
    func,
    literal,
    literal_column,
    null,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.sql.expression import FromClause
from sqlalchemy.sql.operators import custom_op

SQL = ColumnElement[Any]
# The characters OData's trim() removes: ASCII whitespace, not every Unicode space.
TRIM_CHARACTERS = " \t\n\r"


class JsonType(Enum):
    """The JSON types a query tests members for."""

    NUMBER = "number"
    STRING = "string"
    BOOLEAN = "boolean"
    ARRAY = "array"


@dataclass(frozen=True)
class JsonRef:
    """A JSON document (a column, or the current element of a lambda) and a member path in it."""

    doc: SQL
    path: tuple[str, ...] = ()
    # SQLite's json_each reports each element's type in a column of its own; the element's
    # value is then a plain SQL value (JSON text only for arrays and objects).
    element_type: SQL | None = None

    def member(self, path: tuple[str, ...]) -> JsonRef:
        return JsonRef(self.doc, self.path + path, self.element_type)


class Dialect(ABC):
    """The SQL one engine needs where the engines differ."""

    name: str
    # Whether several transactions write at once (PostgreSQL), or one at a time (SQLite).
    concurrent_writers: bool
    # Whether a subquery in FROM may read the rows before it (LATERAL): PostgreSQL's does.
    lateral_joins: bool
    # The engine's names of each JSON type, as json_type reports them.
    json_type_names: ClassVar[dict[JsonType, tuple[str, ...]]]

    # -- strings ---------------------------------------------------------------------------

    @abstractmethod
    def code_point_order(self, value: SQL) -> SQL:
        """``value`` (a string) compared and sorted by code point."""

    @abstractmethod
    def lower(self, value: SQL) -> SQL:
        """Lower case by Python's rules (``str.lower``), not ASCII only."""

    @abstractmethod
    def upper(self, value: SQL) -> SQL:
        """Upper case by Python's rules (``str.upper``)."""

    @abstractmethod
    def position(self, haystack: SQL, needle: SQL) -> SQL:
        """The 1-based position of ``needle`` in ``haystack``, 0 when absent."""

    @abstractmethod
    def trim(self, value: SQL) -> SQL:
        """``value`` without :data:`TRIM_CHARACTERS` at either end."""

    # -- numbers and dates -----------------------------------------------------------------

    @abstractmethod
    def truncate(self, value: SQL) -> SQL:
        """A double truncated toward zero."""

    @abstractmethod
    def calendar(self, part: str, days: SQL) -> SQL:
        """The ``year``, ``month`` or ``day`` of the date ``days`` after 1970-01-01."""

    # -- planning --------------------------------------------------------------------------

    @abstractmethod
    def not_an_index_start(self, value: SQL) -> SQL:
        """``value`` (a column) unchanged, written so that the engine's planner does not start
        reading from an index by it: for a statement whose rows another condition names by key
        (store/queries.py)."""

    # -- JSON ------------------------------------------------------------------------------

    @abstractmethod
    def json_document(self, column: SQL) -> SQL:
        """A stored JSON column as a document to read members from."""

    @abstractmethod
    def json_type(self, ref: JsonRef) -> SQL:
        """The member's JSON type in the engine's words (null when it is missing)."""

    def json_is(self, ref: JsonRef, kind: JsonType) -> SQL:
        """Whether the member has the JSON type ``kind`` (never null)."""
        return func.coalesce(self.json_type(ref).in_(self.json_type_names[kind]), false())

    def json_is_null(self, ref: JsonRef) -> SQL:
        """Whether the member is JSON null or missing (both engines call null ``null``)."""
        return func.coalesce(self.json_type(ref), "null") == "null"

    @abstractmethod
    def json_scalar(self, ref: JsonRef) -> SQL:
        """The member as SQL text or number (meaningful for strings and numbers)."""

    @abstractmethod
    def json_true(self, ref: JsonRef) -> SQL:
        """Whether the member is JSON ``true`` (meaningful for Booleans)."""

    @abstractmethod
    def json_array_length(self, ref: JsonRef) -> SQL:
        """The member's length (meaningful for arrays)."""

    @abstractmethod
    def json_elements(self, ref: JsonRef, is_array: SQL) -> tuple[FromClause, JsonRef]:
        """A table of the member's elements (none unless ``is_array``), and the current one."""

    # -- writing JSON --------------------------------------------------------------------------

    @abstractmethod
    def json_string(self, value: SQL) -> SQL:
        """``value`` (text) as a JSON string, escaped as orjson escapes it; ``null`` for NULL."""

    @abstractmethod
    def json_from_text(self, text: SQL) -> SQL:
        """The JSON text ``text`` as the value of a JSON column (stored without being parsed
        in Python)."""

    @abstractmethod
    def date_time_text(self, ticks: SQL) -> SQL:
        """Non-null ``ticks`` as :func:`flowruns.edm.datetimes.format_ticks` writes them:
        ``YYYY-MM-DDThh:mm:ss[.fffffff]Z``, the fraction's trailing zeros dropped."""

    # -- writing ---------------------------------------------------------------------------

    @abstractmethod
    def random_etag(self) -> SQL:
        """A fresh 16-hex-digit version per row, computed by the database itself."""

    @abstractmethod
    def skip_locked(self, statement: Select[Any]) -> Select[Any]:
        """``statement`` locking the rows it picks, passing over those another transaction
        holds (where transactions can hold rows: see :attr:`concurrent_writers`)."""

    # -- the change log ----------------------------------------------------------------------

    @abstractmethod
    def change_horizon(self, position: SQL) -> tuple[SQL, SQL]:
        """The key (transaction, position) below which the reader's snapshot holds every
        change that will ever be logged, given the log's counter ``position``: see
        :mod:`flowruns.store.changes`."""


class SqliteDialect(Dialect):
    name = "sqlite"
    concurrent_writers = False
    lateral_joins = False
    json_type_names: ClassVar[dict[JsonType, tuple[str, ...]]] = {
        JsonType.NUMBER: ("integer", "real"),
        JsonType.STRING: ("text",),
        JsonType.BOOLEAN: ("true", "false"),
        JsonType.ARRAY: ("array",),
    }

    @staticmethod
    def register_functions(dbapi_connection: Any) -> None:
        """Python's case folding for :meth:`lower` and :meth:`upper` (SQLite's own folds ASCII
        only), on each new connection."""
        for name, method in (("flowruns_lower", str.lower), ("flowruns_upper", str.upper)):
            dbapi_connection.create_function(
                name, 1, lambda v, m=method: None if v is None else m(v), deterministic=True
            )

    def code_point_order(self, value: SQL) -> SQL:
        return value  # SQLite's BINARY collation already compares code points

    def lower(self, value: SQL) -> SQL:
        return func.flowruns_lower(value)

    def upper(self, value: SQL) -> SQL:
        return func.flowruns_upper(value)

    def position(self, haystack: SQL, needle: SQL) -> SQL:
        return func.instr(haystack, needle)

    def trim(self, value: SQL) -> SQL:
        return func.trim(value, TRIM_CHARACTERS)

    def truncate(self, value: SQL) -> SQL:
        return cast(value, Integer())

    def not_an_index_start(self, value: SQL) -> SQL:
        # SQLite keeps no statistics: it takes ``tenant_id = ?`` to leave ten rows of any index
        # that starts with it, and prefers the index that gives the order asked (walking every
        # row of the tenant) to looking up the few rows a semi-join names. A column under the
        # unary ``+`` (a no-op) is SQLite's documented way to keep an index from being used.
        return UnaryExpression(value, operator=custom_op("+"), type_=value.type)

    def calendar(self, part: str, days: SQL) -> SQL:
        pattern = {"year": "%Y", "month": "%m", "day": "%d"}[part]
        return cast(func.strftime(pattern, days * 86_400, "unixepoch"), BigInteger())

    @staticmethod
    def _path(path: tuple[str, ...]) -> str:
        return "$" + "".join('."' + p.replace('"', '""') + '"' for p in path)

    def json_document(self, column: SQL) -> SQL:
        return column

    def json_type(self, ref: JsonRef) -> SQL:
        if ref.element_type is None:
            return func.json_type(ref.doc, self._path(ref.path))
        if not ref.path:
            return ref.element_type
        # Members of an element exist only where the element is an object.
        inner = func.json_type(ref.doc, self._path(ref.path))
        return case((ref.element_type == "object", inner), else_=null())

    def json_scalar(self, ref: JsonRef) -> SQL:
        if ref.element_type is not None and not ref.path:
            return ref.doc
        extracted = func.json_extract(ref.doc, self._path(ref.path))
        if ref.element_type is not None:
            return case((ref.element_type == "object", extracted), else_=null())
        return extracted

    def json_true(self, ref: JsonRef) -> SQL:
        return self.json_type(ref) == "true"

    def json_array_length(self, ref: JsonRef) -> SQL:
        return func.json_array_length(ref.doc, self._path(ref.path))

    def json_elements(self, ref: JsonRef, is_array: SQL) -> tuple[FromClause, JsonRef]:
        # json_each of a non-array walks an object's members or yields a scalar: the caller
        # tests is_array beside it, as json_each cannot be told to yield nothing.
        elements = func.json_each(ref.doc, self._path(ref.path)).table_valued("value", "type")
        return elements, JsonRef(elements.c.value, (), elements.c.type)

    def json_string(self, value: SQL) -> SQL:
        return func.json_quote(value)  # json_quote(NULL) is 'null'

    def json_from_text(self, text: SQL) -> SQL:
        return text  # SQLite keeps JSON as its text

    def date_time_text(self, ticks: SQL) -> SQL:
        seconds, fraction = _seconds_and_fraction(ticks)
        whole = func.strftime("%Y-%m-%dT%H:%M:%S", seconds, "unixepoch")
        return whole + _fraction_text(fraction, func.printf("%07d", fraction))

    def random_etag(self) -> SQL:
        return func.lower(func.hex(func.randomblob(8)))

    def skip_locked(self, statement: Select[Any]) -> Select[Any]:
        return statement  # one writer at a time: no row is held by another

    def change_horizon(self, position: SQL) -> tuple[SQL, SQL]:
        # Positions are taken under the write lock, in commit order: the next one is the horizon.
        return literal(0, BigInteger()), position + 1


class PostgresqlDialect(Dialect):
    name = "postgresql"
    concurrent_writers = True
    lateral_joins = True
    json_type_names: ClassVar[dict[JsonType, tuple[str, ...]]] = {
        JsonType.NUMBER: ("number",),
        JsonType.STRING: ("string",),
        JsonType.BOOLEAN: ("boolean",),
        JsonType.ARRAY: ("array",),
    }

    def code_point_order(self, value: SQL) -> SQL:
        return collate(value, "C")

    def lower(self, value: SQL) -> SQL:
        return func.lower(collate(value, "und-x-icu"))

    def upper(self, value: SQL) -> SQL:
        return func.upper(collate(value, "und-x-icu"))

    def position(self, haystack: SQL, needle: SQL) -> SQL:
        return func.strpos(haystack, needle)

    def trim(self, value: SQL) -> SQL:
        return func.btrim(value, TRIM_CHARACTERS)

    def truncate(self, value: SQL) -> SQL:
        return func.trunc(value)

    def not_an_index_start(self, value: SQL) -> SQL:
        return value  # PostgreSQL's statistics tell it how many rows each way reads

    def calendar(self, part: str, days: SQL) -> SQL:
        day: SQL = literal_column("DATE '1970-01-01'") + cast(days, Integer())
        return cast(extract(part, day), BigInteger())

    @staticmethod
    def _member(ref: JsonRef) -> SQL:
        if not ref.path:
            return ref.doc
        path = literal(list(ref.path), ARRAY(String()))
        return type_coerce(ref.doc.op("#>")(path), JSONB())

    def json_document(self, column: SQL) -> SQL:
        return type_coerce(column, JSONB())

    def json_type(self, ref: JsonRef) -> SQL:
        return func.jsonb_typeof(self._member(ref))

    def json_scalar(self, ref: JsonRef) -> SQL:
        # #>> with an empty path: the member as text, a JSON string unquoted.
        return type_coerce(self._member(ref).op("#>>")(literal_column("'{}'::text[]")), String())

    def json_true(self, ref: JsonRef) -> SQL:
        return self.json_scalar(ref) == "true"

    def json_array_length(self, ref: JsonRef) -> SQL:
        return func.jsonb_array_length(self._member(ref))

    def json_elements(self, ref: JsonRef, is_array: SQL) -> tuple[FromClause, JsonRef]:
        # jsonb_array_elements fails on a non-array: an empty array stands in for one.
        array = case((is_array, self._member(ref)), else_=cast(literal("[]"), JSONB()))
        elements = func.jsonb_array_elements(array).table_valued("value")
        return elements, JsonRef(elements.c.value)

    def json_string(self, value: SQL) -> SQL:
        return func.coalesce(cast(func.to_json(value), Text), literal_column("'null'"))

    def json_from_text(self, text: SQL) -> SQL:
        return cast(text, JSONB())

    def date_time_text(self, ticks: SQL) -> SQL:
        seconds, fraction = _seconds_and_fraction(ticks)
        utc = func.timezone("UTC", func.to_timestamp(seconds))
        whole = func.to_char(utc, 'YYYY-MM-DD"T"HH24:MI:SS')
        digits = func.lpad(cast(fraction, Text), 7, "0")
        return whole + _fraction_text(fraction, digits)

    def random_etag(self) -> SQL:
        return func.left(func.md5(cast(func.random(), Text)), 16)

    def skip_locked(self, statement: Select[Any]) -> Select[Any]:
        return statement.with_for_update(skip_locked=True)

    def change_horizon(self, position: SQL) -> tuple[SQL, SQL]:
        return _PG_HORIZON, literal(0, BigInteger())


# The oldest transaction of the snapshot still in flight that may write this database's log,
# or, with none, the snapshot's first unassigned id. A transaction in flight is left out only
# when its session is connected to another database (it can never write here): the snapshot's
# ids are the whole server's, and CREATE DATABASE or a long load elsewhere would otherwise
# hold every reader back. One that ended since the snapshot was taken is no longer listed, so
# it counts, as it must (its changes are not in the snapshot).
_PG_HORIZON: SQL = literal_column(
    """coalesce(
  (SELECT min(x) FROM pg_snapshot_xip(pg_current_snapshot()) AS x
   WHERE xid(x) NOT IN (
     SELECT backend_xid FROM pg_stat_activity
     WHERE backend_xid IS NOT NULL
       AND datid <> (SELECT oid FROM pg_database WHERE datname = current_database()))),
  pg_snapshot_xmax(pg_current_snapshot())
)::text::bigint""",
    BigInteger(),
)


def _seconds_and_fraction(ticks: SQL) -> tuple[SQL, SQL]:
    """Whole seconds (rounded down, as ``divmod`` does) and the ticks past them (0 to 10^7-1);
    both engines truncate integer division toward zero, so the fraction is made non-negative
    first."""
    per_second = literal_column("10000000", BigInteger())
    fraction = ((ticks % per_second) + per_second) % per_second
    whole = (ticks - fraction).self_group().op("/", return_type=BigInteger())(per_second)
    return whole, fraction


def _fraction_text(fraction: SQL, seven_digits: SQL) -> SQL:
    """``.fffffff`` without trailing zeros and then ``Z``; just ``Z`` for a whole second."""
    dot = literal_column("'.'", Text()) + func.rtrim(seven_digits, "0")
    return type_coerce(
        case((fraction == 0, literal_column("''")), else_=dot), Text()
    ) + literal_column("'Z'", Text())


SQLITE = SqliteDialect()
POSTGRESQL = PostgresqlDialect()
_DIALECTS: dict[str, Dialect] = {d.name: d for d in (SQLITE, POSTGRESQL)}


def dialect_of(connection: Connection) -> Dialect:
    """The dialect of the engine ``connection`` belongs to."""
    return _DIALECTS[connection.dialect.name]
