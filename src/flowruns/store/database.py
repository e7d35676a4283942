"""Engines and transactions for SQLite and PostgreSQL.

SQLite runs in WAL mode with ``synchronous=FULL`` (an acknowledged write survives a crash).
Within a process, writes queue for one writer that commits them in groups
(:mod:`flowruns.store.writer`); its transactions start with ``BEGIN IMMEDIATE``, so the
writers of several processes on one file queue on the busy timeout instead of failing when a
read transaction tries to upgrade.

PostgreSQL runs through psycopg 3 with a pool of connections. Write transactions use READ
COMMITTED and lock every row they read before deciding on it (see :func:`is_writing`), so two
writers of one row take turns; read transactions are REPEATABLE READ, READ ONLY, so every
statement of a request (a page and its count) sees one snapshot, as on SQLite.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeAlias

import orjson
import psycopg
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from flowruns.datadir import create_private_file, make_private_directory
from flowruns.errors import ServiceUnavailable
from flowruns.store.dialect import SQLITE
from flowruns.store.writer import GroupWriter

# One open transaction, from Database.reading() or Database.writing(): what every store
# function works in. Code outside the store only passes it on.
Transaction: TypeAlias = Connection
# What a failed statement or connection raises on either engine: code outside the store that
# must outlive a database failure (a background check) catches this, not the library's name.
StoreError = SQLAlchemyError

# The driver flowruns speaks to PostgreSQL with, whichever spelling the URL uses.
POSTGRESQL_DRIVER = "postgresql+psycopg"
_POSTGRESQL_SCHEMES = ("postgresql", "postgres", POSTGRESQL_DRIVER)
_SQLITE_SCHEMES = ("sqlite", "sqlite+pysqlite")

# SQLSTATEs of a transaction PostgreSQL gave up on because of a concurrent one: a deadlock, a
# serialization failure, or a lock it could not take. Sending the request again succeeds.
_TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03"})
RETRY_AFTER_SECONDS = 1

# What says the database cannot serve now, as opposed to a statement it refused. PostgreSQL:
# the SQLSTATE classes of a broken connection (08), exhausted resources (53: too many
# connections, a full disk, no memory) and system errors such as I/O errors (58), and a server
# shutting down or starting up (57P01-57P03); psycopg's own connection failures carry none.
_UNAVAILABLE_SQLSTATE_CLASSES = frozenset({"08", "53", "58"})
_UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03"})
# SQLite's primary result codes for the same: busy or locked beyond the busy timeout, out of
# memory, an I/O error, a full disk, a file it cannot open, a lock race on the WAL index.
_UNAVAILABLE_SQLITE_CODES = frozenset(
    {
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_NOMEM,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_PROTOCOL,
    }
)


# Pool size and overflow per server process. SQLite: as many connections as the worker threads
# that may hold one (anyio's 40). PostgreSQL: modest, as several processes share one server.
_POOLS = {"sqlite": (16, 24), "postgresql": (10, 10)}
# SQLite's page cache of each connection, in KiB. Each pooled connection fills its own (the pool
# hands them out in turn), so a server's memory grows by this much per connection: with 64 MiB
# a worker that had walked a list of a million runs held 273 MB, with 8 MiB 153 MB and with
# 4 MiB 147 MB, its reads as fast on each (the operating system caches the file once for
# all of them; docs/performance.md, "Reads near a fair ceiling").
SQLITE_CACHE_KIB = 4096


def pool_limit(engine: Engine) -> int:
    """The most connections ``engine``'s pool opens at once."""
    size, overflow = _POOLS[engine.dialect.name]
    return size + overflow


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'flowruns.db'}"


def chosen_url(database_url: str | None, data_dir: Path) -> str:
    """The database a server or command uses: ``database_url`` when one is set, else SQLite in
    the data directory."""
    return database_url or sqlite_url(data_dir)


def open_engine(database_url: str | None, data_dir: Path) -> Engine:
    """The engine of the :func:`chosen_url` database; for SQLite in the data directory, the
    directory is made first (private) when it is missing."""
    if not database_url:
        make_private_directory(data_dir)
    return make_engine(chosen_url(database_url, data_dir))


class UnsupportedDatabase(ValueError):
    """The database URL names an engine flowruns cannot use."""


def engine_url(url: str) -> URL:
    """``url`` as SQLAlchemy needs it: any PostgreSQL spelling goes through psycopg 3."""
    scheme = url.partition(":")[0]
    if scheme not in _POSTGRESQL_SCHEMES + _SQLITE_SCHEMES:
        # The URL itself may hold a password: name only its scheme.
        raise UnsupportedDatabase(
            f"'{scheme}' databases are not supported; use a postgresql:// or sqlite:/// URL, "
            "or leave the database URL unset to use the data directory."
        )
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise UnsupportedDatabase(f"The {scheme} database URL cannot be parsed.") from None
    if scheme in _POSTGRESQL_SCHEMES:
        parsed = parsed.set(drivername=POSTGRESQL_DRIVER)
    return parsed


def display_url(url: str) -> str:
    """``url`` with its password masked, fit for logs and messages."""
    return engine_url(url).render_as_string(hide_password=True)


def make_engine(url: str) -> Engine:
    """An engine for ``url`` with the settings flowruns relies on."""
    target = engine_url(url)
    if target.get_backend_name() == "postgresql":
        size, overflow = _POOLS["postgresql"]
        return create_engine(
            target,
            json_serializer=_json_dumps,
            json_deserializer=orjson.loads,
            pool_size=size,
            max_overflow=overflow,
            pool_recycle=1800,
            connect_args={"connect_timeout": 10},
            hide_parameters=True,  # error messages and logs carry no values clients sent
        )
    if target.database and target.database != ":memory:":
        # Made here, 0600, rather than by SQLite with the umask's mode; SQLite gives its -wal and
        # -shm files the database file's mode.
        create_private_file(Path(target.database))
    engine = create_engine(
        target,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
        connect_args={"check_same_thread": False, "timeout": 30},
        pool_size=_POOLS["sqlite"][0],
        max_overflow=_POOLS["sqlite"][1],
        hide_parameters=True,  # error messages and logs carry no values clients sent
    )
    event.listen(engine, "connect", _configure_sqlite)
    event.listen(engine, "begin", _begin_sqlite)
    return engine


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control from the sqlite3 module; _begin_sqlite issues BEGIN itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cursor.close()
    SQLITE.register_functions(dbapi_connection)


def _begin_sqlite(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE" if is_writing(connection) else "BEGIN")


def is_writing(connection: Connection) -> bool:
    """Whether ``connection`` is inside :meth:`Database.writing`.

    Reads made there decide what gets written, so on PostgreSQL they lock the rows they return
    (``SELECT … FOR UPDATE``); on SQLite the whole write transaction already holds the lock.
    """
    return bool(connection.get_execution_options().get("flowruns_write", False))


def _transient(error: OperationalError) -> bool:
    """A failure caused by a concurrent transaction, not by the request itself."""
    sqlstate = getattr(error.orig, "sqlstate", None)
    return sqlstate in _TRANSIENT_SQLSTATES or "database is locked" in str(error.orig)


def unavailable(error: BaseException) -> bool:
    """Whether ``error`` says the database could not serve — unreachable, its connection
    broken, shutting down, out of resources, locked beyond the busy timeout, no pooled
    connection free in time — rather than that it refused the statement: the same work may
    succeed later."""
    if isinstance(error, PoolTimeout):
        return True
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    driver_error = error.orig
    if isinstance(driver_error, sqlite3.Error):
        # Extended result codes keep the primary code in their low byte.
        return driver_error.sqlite_errorcode & 0xFF in _UNAVAILABLE_SQLITE_CODES
    if isinstance(driver_error, psycopg.OperationalError):
        state = driver_error.sqlstate
        return (
            state is None
            or state[:2] in _UNAVAILABLE_SQLSTATE_CLASSES
            or state in _UNAVAILABLE_SQLSTATES
        )
    return False


def unavailable_reason(error: BaseException) -> str:
    """What the driver said about an :func:`unavailable` database, in one line (no statement,
    no parameters)."""
    cause = error.orig if isinstance(error, DBAPIError) else error
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(cause).__name__


# Beside a SQLite database: the file whose flock its writers take turns on.
WRITER_TURNS_SUFFIX = "-writer"


def _turns_file(engine: Engine) -> Path | None:
    """The file beside a SQLite database whose ``flock`` its writers take turns on (see
    :mod:`flowruns.store.writer`); None for an in-memory one."""
    database = engine.url.database
    if not database or database == ":memory:":
        return None
    turns = Path(database + WRITER_TURNS_SUFFIX)
    create_private_file(turns)
    return turns


class Database:
    """One engine and the two kinds of transaction flowruns uses."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        # SQLite: every write of this process goes through one writer, in groups.
        self.writer = GroupWriter(engine, _turns_file(engine)) if self.is_sqlite else None

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def reading(self) -> Iterator[Transaction]:
        """A read transaction: every statement inside sees one snapshot."""
        with self.engine.connect() as plain:
            connection = plain
            if self.is_postgresql:
                connection = plain.execution_options(
                    isolation_level="REPEATABLE READ", postgresql_readonly=True
                )
            with connection.begin():
                yield connection

    @contextmanager
    def writing(self) -> Iterator[Transaction]:
        """A write transaction, committed when the block ends without an exception; on
        SQLite, one write of a group (see :mod:`flowruns.store.writer`), and the block returns
        once its group committed.

        A transaction the database aborted because of a concurrent one becomes a 503 with
        ``Retry-After``: nothing was written and the same request can simply be sent again.
        """
        try:
            if self.writer is not None:
                with self.writer.write() as connection:
                    yield connection
                return
            with self.engine.connect() as plain:
                connection = plain.execution_options(flowruns_write=True)
                with connection.begin():
                    yield connection
        except OperationalError as error:
            if not _transient(error):
                raise
            raise ServiceUnavailable(
                "The request collided with a concurrent change and was not applied; send it again.",
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            ) from error

    def dispose(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.engine.dispose()
