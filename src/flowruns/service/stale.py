"""The stale-run rule: a ``running`` run that no writer has touched for longer than the
run timeout becomes ``failed`` with ``blockingError.code`` ``runTimedOut``.

Every server process checks on its own, every quarter of the timeout (at most every minute).
Each check is a series of small write transactions that choose and fail the stale runs in one
statement, so any number of processes can check at once: a run is failed once, and a run
touched while a check runs is left alone.
"""

from __future__ import annotations

import logging

import anyio

from flowruns.edm.datetimes import TICKS_PER_SECOND, now_ticks
from flowruns.errors import GraphError
from flowruns.odata.literals import format_duration
from flowruns.store import entities
from flowruns.store.database import Database, StoreError

log = logging.getLogger("flowruns.stale")

RUN_TIMED_OUT = "runTimedOut"
# Runs failed per transaction: short transactions keep writers of other runs waiting briefly.
BATCH = 500
MAX_CHECK_INTERVAL_SECONDS = 60.0


def check_interval(timeout_seconds: float) -> float:
    """Seconds between two checks: a run is failed within a quarter of the timeout (at most a
    minute) after it became stale."""
    return min(timeout_seconds / 4, MAX_CHECK_INTERVAL_SECONDS)


def fail_stale_runs(db: Database, timeout_seconds: float, now: int | None = None) -> int:
    """Fail every running run, in every tenant, untouched for longer than ``timeout_seconds``;
    how many were failed."""
    now = now_ticks() if now is None else now
    timeout = round(timeout_seconds * TICKS_PER_SECOND)
    error = {
        "code": RUN_TIMED_OUT,
        "message": (
            "No writer touched the run for longer than the run timeout "
            f"({format_duration(timeout)}); its writer is presumed to have stopped."
        ),
    }
    failed = 0
    while True:
        with db.writing() as connection:
            batch = entities.fail_stale_runs(
                connection, cutoff=now - timeout, now=now, error=error, limit=BATCH
            )
        failed += batch
        if batch < BATCH:
            return failed


async def check_forever(db: Database, timeout_seconds: float) -> None:
    """Apply the rule every :func:`check_interval` until cancelled; a failed check (the database
    unreachable, say) is logged and tried again at the next interval."""
    interval = check_interval(timeout_seconds)
    while True:
        await anyio.sleep(interval)
        try:
            failed = await anyio.to_thread.run_sync(fail_stale_runs, db, timeout_seconds)
        except (StoreError, GraphError) as error:
            log.warning("The stale-run check failed; trying again in %gs: %s", interval, error)
            continue
        if failed:
            log.info("Failed %d running runs untouched for longer than the run timeout", failed)
