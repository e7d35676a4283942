"""The day counts (see :mod:`flowruns.store.rollup`): runs by status, and folding their slots
in the background.

On PostgreSQL every server process folds every half minute, in short transactions of at most
:data:`~flowruns.store.rollup.FOLD_BATCH` rows that skip the rows writers hold, so any number
of processes can fold at once and no writer waits for a fold. Folding changes no answer, only
how many rows an answer reads; a fold that fails is tried again next time.
"""

from __future__ import annotations

import logging

import anyio

from flowruns.edm.industrydata import run_status
from flowruns.store import rollup
from flowruns.store.database import Database, StoreError

log = logging.getLogger("flowruns.counting")

FOLD_INTERVAL_SECONDS = 30.0


def runs_by_status(db: Database) -> dict[str, int]:
    """How many runs of all tenants have each status now; every status is listed."""
    with db.reading() as transaction:
        counted = rollup.runs_by_status(transaction)
    return {status: counted.get(status, 0) for status in run_status.members}


def fold_all(db: Database) -> int:
    """Fold every slot row nobody holds; how many rows were folded."""
    folded = 0
    while True:
        with db.writing() as connection:
            moved = rollup.fold(connection)
        folded += moved
        if moved < rollup.FOLD_BATCH:
            return folded


async def fold_forever(db: Database) -> None:
    """:func:`fold_all` every :data:`FOLD_INTERVAL_SECONDS` until cancelled."""
    while True:
        await anyio.sleep(FOLD_INTERVAL_SECONDS)
        try:
            await anyio.to_thread.run_sync(fold_all, db)
        except StoreError as error:
            log.warning("Folding the day counts failed; trying again later: %s", error)
