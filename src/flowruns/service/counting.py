"""Folding the day counts' slots (see :mod:`flowruns.store.rollup`), in the background.

On PostgreSQL every server process folds every half minute, in short transactions of at most
:data:`~flowruns.store.rollup.FOLD_BATCH` rows that skip the rows writers hold, so any number
of processes can fold at once and no writer waits for a fold. Folding changes no answer, only
how many rows an answer reads; a fold that fails is tried again next time.
"""

from __future__ import annotations

import logging

import anyio
from sqlalchemy.exc import SQLAlchemyError

from flowruns.store import rollup
from flowruns.store.database import Database

log = logging.getLogger("flowruns.counting")

FOLD_INTERVAL_SECONDS = 30.0


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
        except SQLAlchemyError as error:
            log.warning("Folding the day counts failed; trying again later: %s", error)
