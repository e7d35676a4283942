"""Engines and transactions for SQLite and PostgreSQL.

SQLite runs in WAL mode with ``synchronous=FULL`` (an acknowledged write survives a crash) and
write transactions start with ``BEGIN IMMEDIATE``, so concurrent writers queue on the busy
timeout instead of failing when a read transaction tries to upgrade.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event

from flowruns.store.schema import metadata


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'flowruns.db'}"


class UnsupportedDatabase(ValueError):
    """The database URL names an engine flowruns cannot use."""


def make_engine(url: str) -> Engine:
    """An engine for ``url`` with the settings flowruns relies on."""
    scheme = url.partition(":")[0]
    if scheme not in ("sqlite", "sqlite+pysqlite"):
        # The URL itself may hold a password: name only its scheme.
        raise UnsupportedDatabase(
            f"'{scheme}' databases are not supported; use a sqlite:/// URL, "
            "or leave the database URL unset to use the data directory."
        )
    engine = create_engine(
        url,
        json_serializer=_json_dumps,
        json_deserializer=orjson.loads,
        connect_args={"check_same_thread": False, "timeout": 30},
        # As many connections as the worker threads that may hold one (anyio's 40).
        pool_size=16,
        max_overflow=24,
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
    cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB: keeps hot index pages in memory
    cursor.close()


def _begin_sqlite(connection: Connection) -> None:
    writing = connection.get_execution_options().get("flowruns_write", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")


class Database:
    """One engine and the two kinds of transaction flowruns uses."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def create_schema(self) -> None:
        metadata.create_all(self.engine)

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A read transaction: every statement inside sees one snapshot."""
        with self.engine.connect() as connection, connection.begin():
            yield connection

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """A write transaction, committed when the block ends without an exception."""
        with self.engine.connect() as plain:
            connection = plain.execution_options(flowruns_write=True)
            with connection.begin():
                yield connection

    def dispose(self) -> None:
        self.engine.dispose()
