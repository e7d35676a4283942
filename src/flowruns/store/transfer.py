"""Copying every row of users' data from one flowruns database into another (SQLite to
PostgreSQL, typically).

:data:`TABLES` are copied, parents first, each in primary-key order and in batches, one target
transaction per batch. Key order is the same on both engines (code-point order), so after an
interruption the target holds a prefix of each table and a new copy resumes after the target's
last key. At the end the rows of every table copied are counted on both sides: the copy is
verified only if they agree. :data:`LEFT_OUT` names every other table and why it is not copied;
between them they name every table of the schema.

**The target's triggers.** Rows arrive through the target's triggers, which keep what is derived
from them (day counts, the change log, a process's health state) as for any write. A trigger
that would rewrite a row already copied is kept from it by the order of :data:`TABLES` (a run's
insert brings its process's evaluation forward: expectations come after runs) or, for the
accesses whose insert sets their dataset's freshness and gives it a new ETag, by dropping the
triggers of lineage (store/datasets.py) in each batch's transaction and creating them again
before it commits: the datasets keep the source's freshness and ETags, and an interrupted copy
leaves the triggers in place.

The source should not change meanwhile (stop its server), nor the target be served: rows written
during a copy may be missed, which the verification then reports.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Column, Connection, Table, Text, func, select, tuple_, type_coerce

from flowruns.store import bulk, datasets, downstream
from flowruns.store.database import Database
from flowruns.store.schema import (
    change_baselines,
    change_log,
    changes,
    dataset_accesses,
    dataset_expectations,
    expectations,
    idempotency_keys,
    incidents,
    lineage_events,
    lineage_runs,
    notifications,
    processes,
    run_days,
    run_group_members,
    runs,
    subscriptions,
)
from flowruns.store.schema import datasets as dataset_table
from flowruns.store.triggers import Triggers

# The tables copied, in order: each after the tables its foreign keys name, and after those
# whose inserts fire a trigger that writes it.
TABLES = (
    processes,
    runs,
    run_group_members,
    idempotency_keys,
    expectations,  # after runs: an inserted run makes its process's expectation due
    dataset_table,
    dataset_accesses,
    dataset_expectations,
    incidents,
    lineage_runs,
    lineage_events,
)

# The tables not copied, and why.
LEFT_OUT = {
    run_days: "counted again by the target's triggers as the runs arrive",
    changes: "the target logs the copied rows as they arrive, under its own epoch",
    change_baselines: "the target's log starts with the copy",
    change_log: "the target's log has an epoch of its own",
    subscriptions: "their cursors point into the source's log: subscribe again",
    notifications: "owed by the source's subscriptions, which are not copied",
}

# Tables copied without the triggers that would rewrite rows copied before them. An access's
# trigger sets its dataset's freshness from the accesses the target holds so far, with a new ETag
# at each change; the runs' flag of store/downstream.py comes with the runs, as the source
# computed it from all the accesses.
_QUIET: dict[Table, tuple[Triggers, ...]] = {
    dataset_accesses: (datasets.TRIGGERS, downstream.TRIGGERS),
}

BATCH = 10_000


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
    columns = [type_coerce(c, Text) if isinstance(c.type, JSON) else c for c in table.columns]
    statement = select(*columns).order_by(*_key(table)).limit(size)
    if after is not None:
        statement = statement.where(tuple_(*_key(table)) > tuple_(*after))
    return [tuple(row) for row in connection.execute(statement)]


def _load(
    connection: Connection, table: Table, names: list[str], rows: list[tuple[Any, ...]]
) -> None:
    """Insert ``rows``, without the triggers :data:`_QUIET` names for ``table``."""
    quiet = _QUIET.get(table, ())
    for triggers in quiet:
        triggers.uninstall(connection)
    bulk.load(connection, table, names, rows)
    for triggers in quiet:
        triggers.install(connection)


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
            _load(connection, table, names, rows)
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
    """Copy the rows of :data:`TABLES` from ``source`` into ``target`` (both at the current
    schema revision)."""
    return [copy_table(source, target, table, batch=batch, progress=progress) for table in TABLES]
