"""SQLite's writer: the writes that queue for it share one transaction and one commit, each in
its own savepoint, so a write that fails fails alone, and a write returns only once its group
has committed.

Each test holds the writer with a write of its own while it starts the others, and waits until
they all queue behind it: the group they form is certain, not a matter of timing.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Connection, event, insert, select
from sqlalchemy.exc import IntegrityError

from flowruns.api.app import open_database
from flowruns.edm.datetimes import now_ticks
from flowruns.edm.industrydata import run_status
from flowruns.errors import DatabaseUnavailable
from flowruns.settings import DEFAULT_TENANT, Settings
from flowruns.store.database import Database, is_writing
from flowruns.store.schema import change_log, changes, runs
from flowruns.store.writer import NestedWrite
from tests.engines import ENGINES

WAIT_SECONDS = 30

pytestmark = pytest.mark.parametrize(
    "database_url", [e for e in ENGINES if e == "sqlite"], indirect=True
)


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = open_database(settings)
    yield database
    database.dispose()


def _commits(db: Database) -> list[int]:
    """A list that grows by one at every commit of a write transaction."""
    seen: list[int] = []

    def committed(connection: Connection) -> None:
        if is_writing(connection):
            seen.append(1)

    event.listen(db.engine, "commit", committed)
    return seen


def _insert(connection: Connection, run_id: str) -> None:
    now = now_ticks()
    connection.execute(
        insert(runs).values(
            tenant_id=DEFAULT_TENANT,
            id=run_id,
            type="outgoingFlowRun",
            etag=secrets.token_hex(8),
            touched=now,
            display_name=run_id,
            start_date_time=now,
            status=run_status.value_of("running"),
            statistics={},
        )
    )


def _stored(db: Database, *run_ids: str) -> set[str]:
    with db.reading() as connection:
        found = connection.execute(select(runs.c.id).where(runs.c.id.in_(run_ids))).scalars()
        return set(found)


def _queued(db: Database, count: int) -> None:
    assert db.writer is not None
    deadline = time.monotonic() + WAIT_SECONDS
    while db.writer.waiting < count:
        assert time.monotonic() < deadline, "the writes did not queue for the writer"
        time.sleep(0.01)


def _in_one_group(
    db: Database, writes: list[Callable[[Connection], Any]], held: Callable[[Connection], Any]
) -> list[Future[Any]]:
    """Run ``held`` in a write that holds the writer until every one of ``writes`` (each in a
    write transaction of its own thread) has queued behind it, in the order given; the
    finished futures."""

    def write(block: Callable[[Connection], Any]) -> Any:
        with db.writing() as connection:
            return block(connection)

    with ThreadPoolExecutor(max_workers=len(writes) + 1) as pool:
        holder: Future[Any] = Future()
        started = threading.Event()

        def hold() -> None:
            try:
                with db.writing() as connection:
                    held(connection)
                    started.set()
                    _queued(db, len(writes))
                holder.set_result(None)
            except BaseException as error:
                holder.set_exception(error)
                started.set()

        pool.submit(hold)
        started.wait(WAIT_SECONDS)
        futures = []
        for number, block in enumerate(writes, start=1):
            futures.append(pool.submit(write, block))
            _queued(db, number)
    return [holder, *futures]


def test_queued_writes_share_one_commit_and_a_failing_one_fails_alone(db: Database) -> None:
    commits = _commits(db)
    existing = str(uuid.uuid4())
    with db.writing() as connection:
        _insert(connection, existing)
    commits.clear()
    first, second, third, undone = (str(uuid.uuid4()) for _ in range(4))

    def raises_after_writing(connection: Connection) -> None:
        _insert(connection, undone)
        raise ValueError("the request was refused after it wrote")

    outcomes = _in_one_group(
        db,
        [
            lambda connection: _insert(connection, second),
            lambda connection: _insert(connection, existing),  # the primary key is taken
            raises_after_writing,
            lambda connection: _insert(connection, third),
        ],
        held=lambda connection: _insert(connection, first),
    )

    holder, good, duplicate, refused, last = outcomes
    for kept in (holder, good, last):
        assert kept.result() is None
    assert isinstance(duplicate.exception(), IntegrityError)
    assert isinstance(refused.exception(), ValueError)
    assert len(commits) == 1
    assert _stored(db, first, second, third, undone) == {first, second, third}


def test_a_failed_write_takes_back_its_change_log_rows_and_positions(db: Database) -> None:
    run_ids = [str(uuid.uuid4()) for _ in range(3)]

    def refused(connection: Connection) -> None:
        _insert(connection, str(uuid.uuid4()))
        raise ValueError("refused")

    _in_one_group(
        db,
        [lambda c: _insert(c, run_ids[1]), refused, lambda c: _insert(c, run_ids[2])],
        held=lambda c: _insert(c, run_ids[0]),
    )
    with db.reading() as connection:
        logged = connection.execute(
            select(changes.c.entity_id, changes.c.position).order_by(changes.c.position)
        ).all()
        counter = connection.execute(select(change_log.c.position)).scalar_one()
    # One change per kept write, in the order they ran, with no gap where the refused one was.
    assert [row.entity_id for row in logged] == run_ids
    positions = [row.position for row in logged]
    assert positions == list(range(positions[0], positions[0] + 3))
    assert counter == positions[-1]


def test_when_the_transaction_itself_is_lost_its_writes_fail_and_none_is_acknowledged(
    db: Database,
) -> None:
    held, queued, after = (str(uuid.uuid4()) for _ in range(3))

    def loses_the_transaction(connection: Connection) -> None:
        connection.exec_driver_sql("ROLLBACK")  # as SQLite does itself on a full disk
        raise OSError("disk full")

    holder, first, lost, last = _in_one_group(
        db,
        [
            lambda c: _insert(c, queued),
            loses_the_transaction,
            lambda c: _insert(c, after),
        ],
        held=lambda c: _insert(c, held),
    )
    assert isinstance(holder.exception(), DatabaseUnavailable)
    assert isinstance(first.exception(), DatabaseUnavailable)
    assert isinstance(lost.exception(), OSError)
    assert last.result() is None  # the next write opens a new group
    assert _stored(db, held, queued, after) == {after}


def test_a_write_inside_another_of_the_same_thread_is_refused(db: Database) -> None:
    with db.writing(), pytest.raises(NestedWrite), db.writing():
        pass  # pragma: no cover - never entered
    with db.writing() as connection:  # the writer is free again
        _insert(connection, str(uuid.uuid4()))
