"""Loading many rows at once, by each engine's fastest safe path.

PostgreSQL: ``COPY … FROM STDIN`` through psycopg, which streams rows without a statement per
row. SQLite: one prepared ``INSERT`` run over all rows by the driver (``executemany``), inside
the caller's transaction. Either way the rows go through every constraint and index, like any
insert; nothing is switched off.

Rows are tuples in the order of ``columns``; JSON columns may hold Python values or JSON text.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import orjson
from sqlalchemy import JSON, Connection, Table

# SQLite page cache while loading: large enough for the primary-key index of a million runs,
# whose random ids touch pages all over it; with less, pages are spilled and rewritten.
_LOADING_CACHE_KIB = 512 * 1024


@contextmanager
def loading(connection: Connection) -> Iterator[None]:
    """The span of a large load on ``connection`` (on SQLite, with a larger page cache)."""
    if connection.dialect.name != "sqlite":
        yield
        return
    previous = connection.exec_driver_sql("PRAGMA cache_size").scalar_one()
    connection.exec_driver_sql(f"PRAGMA cache_size=-{_LOADING_CACHE_KIB}")
    try:
        yield
    finally:
        connection.exec_driver_sql(f"PRAGMA cache_size={int(previous)}")


def _json_text(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def _json_positions(table: Table, columns: Sequence[str]) -> list[int]:
    return [i for i, name in enumerate(columns) if isinstance(table.c[name].type, JSON)]


def load(
    connection: Connection, table: Table, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]
) -> int:
    """Insert ``rows`` into ``table`` in the transaction of ``connection``; how many there were."""
    positions = _json_positions(table, columns)
    if positions:
        rows = (_with_json_text(row, positions) for row in rows)
    raw: Any = connection.connection.driver_connection
    names = ", ".join(columns)
    if connection.dialect.name == "postgresql":
        count = 0
        with raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
        return count
    batch = list(rows)
    marks = ", ".join("?" * len(columns))
    cursor = raw.cursor()
    try:
        cursor.executemany(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", batch)
    finally:
        cursor.close()
    return len(batch)


def _with_json_text(row: tuple[Any, ...], positions: list[int]) -> tuple[Any, ...]:
    values = list(row)
    for i in positions:
        values[i] = _json_text(values[i])
    return tuple(values)
