"""Keeping the change log to its retention: every server process prunes changes older than
the retention (7 days by default, ``FLOWRUNS_CHANGE_RETENTION``) every few minutes.

Pruning goes tenant by tenant and table by table, in short write transactions of at most
:data:`~flowruns.store.changes.PRUNE_BATCH` changes, oldest first. Writers only ever add new
changes, so on PostgreSQL no writer waits for a prune (on SQLite a batch holds the one write
lock for a moment). A prune that fails is tried again next time; several processes pruning at
once remove each change once.
"""

from __future__ import annotations

import logging

import anyio

from flowruns.edm.datetimes import TICKS_PER_SECOND, now_ticks
from flowruns.store import changes
from flowruns.store.database import Database, StoreError

log = logging.getLogger("flowruns.retention")

MAX_PRUNE_INTERVAL_SECONDS = 300.0


def prune_all(db: Database, retention_seconds: float, now: int | None = None) -> int:
    """Remove every change older than the retention; how many were removed."""
    now = now_ticks() if now is None else now
    before = now - round(retention_seconds * TICKS_PER_SECOND)
    with db.reading() as transaction:
        tenants = changes.tenants(transaction)
    removed = 0
    for tenant in tenants:
        for entity_set in changes.ENTITY_SETS:
            while True:
                with db.writing() as connection:
                    batch = changes.prune(connection, tenant, entity_set, before)
                removed += batch
                if batch < changes.PRUNE_BATCH:
                    break
    return removed


async def prune_forever(db: Database, retention_seconds: float) -> None:
    """:func:`prune_all` every few minutes (a tenth of the retention, at most five minutes)
    until cancelled."""
    interval = min(retention_seconds / 10, MAX_PRUNE_INTERVAL_SECONDS)
    while True:
        await anyio.sleep(interval)
        try:
            removed = await anyio.to_thread.run_sync(prune_all, db, retention_seconds)
        except StoreError as error:
            log.warning("Pruning the change log failed; trying again later: %s", error)
            continue
        if removed:
            log.info("Pruned %d changes older than the change retention", removed)
