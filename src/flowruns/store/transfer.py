"""Copying every row of one flowruns database into another (SQLite to PostgreSQL, typically).

Tables go parents first (processes, runs, memberships, idempotency keys), each in primary-key
order and in batches, one target transaction per batch. Key order is the same on both engines
(code-point order), so after an interruption the target holds a prefix of each table and a new
copy resumes after the target's last key. At the end the rows of every table are counted on
both sides: the copy is verified only if they agree.

The source should not change meanwhile (stop its server): rows written during a copy may be
missed, which the verification then reports.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Table,
    Text,
    func,
    null,
    select,
    tuple_,
    type_coerce,
)

from flowruns.store import bulk
from flowruns.store.database import Database
from flowruns.store.schema import (
    MIRRORED,
    idempotency_keys,
    processes,
    run_group_members,
    runs,
)

TABLES = (processes, runs, run_group_members, idempotency_keys)  # parents before children
BATCH = 10_000
_COPIES = frozenset((c.table.name, c.name) for c in MIRRORED.values())


class ForeignRows(ValueError):
    """The target holds rows that did not come from the source: it cannot be resumed into."""


@dataclass(frozen=True)
class TableCopy:
    """One table's outcome: rows copied by this run, and the counts on both sides after it."""

    table: str
    copied: int
    source_rows: int
    target_rows: int

    @property
    def verified(self) -> bool:
        return self.source_rows == self.target_rows


def _key(table: Table) -> list[Column[Any]]:
    return list(table.primary_key.columns)


def _last_key(connection: Connection, table: Table) -> Sequence[Any] | None:
    key = _key(table)
    row = connection.execute(select(*key).order_by(*(c.desc() for c in key)).limit(1)).first()
    return None if row is None else tuple(row)


def _count(connection: Connection, table: Table) -> int:
    return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def _batch(
    connection: Connection, table: Table, after: Sequence[Any] | None, size: int
) -> list[tuple[Any, ...]]:
    # JSON stays as the source stored it (text on SQLite): no decoding and encoding per row.
    # A copy of a contained entity's column goes as null: the copy carries no expectations.
    columns = [
        null().label(c.name)
        if (table.name, c.name) in _COPIES
        else type_coerce(c, Text)
        if isinstance(c.type, JSON)
        else c
        for c in table.columns
    ]
    statement = select(*columns).order_by(*_key(table)).limit(size)
    if after is not None:
        statement = statement.where(tuple_(*_key(table)) > tuple_(*after))
    return [tuple(row) for row in connection.execute(statement)]


def copy_table(
    source: Database,
    target: Database,
    table: Table,
    *,
    batch: int = BATCH,
    progress: Callable[[str, int], None] = lambda _table, _rows: None,
) -> TableCopy:
    """Copy the rows of ``table`` the target lacks; ``progress`` hears the running total."""
    names = [c.name for c in table.columns]
    with target.reading() as connection:
        after = _last_key(connection, table)
    if after is not None:
        with source.reading() as connection:
            found = connection.execute(
                select(func.count()).select_from(table).where(tuple_(*_key(table)) == after)
            ).scalar_one()
        if not found:
            raise ForeignRows(
                f"The target's {table.name} hold rows the source does not have; copy into an "
                "empty database (or one an earlier copy of this source filled)."
            )
    copied = 0
    while True:
        with source.reading() as connection:
            rows = _batch(connection, table, after, batch)
        if not rows:
            break
        with target.writing() as connection:
            bulk.load(connection, table, names, rows)
        copied += len(rows)
        positions = [names.index(c.name) for c in _key(table)]
        after = tuple(rows[-1][i] for i in positions)
        progress(table.name, copied)
    with source.reading() as connection:
        source_rows = _count(connection, table)
    with target.reading() as connection:
        target_rows = _count(connection, table)
    return TableCopy(table.name, copied, source_rows, target_rows)


def copy_database(
    source: Database,
    target: Database,
    *,
    batch: int = BATCH,
    progress: Callable[[str, int], None] = lambda _table, _rows: None,
) -> list[TableCopy]:
    """Copy every table of ``source`` into ``target`` (both at the current schema revision)."""
    return [copy_table(source, target, table, batch=batch, progress=progress) for table in TABLES]
