"""Concurrent writers of one entity: each request sees the others' committed result.

Each test holds a lock on the row the requests need (a row lock on PostgreSQL, the write lock
on SQLite) while it starts them, so every request has read or queued before any of them writes:
the race is certain, not a matter of luck.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import psycopg
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from flowruns.settings import Settings
from tests.api.steps import add_member, create_group, create_run, get_json, run_url
from tests.conftest import HUB

WAIT_SECONDS = 20


def _waiting_on_locks(connection: psycopg.Connection[tuple[Any, ...]]) -> int:
    row = connection.execute(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    ).fetchone()
    assert row is not None
    return int(row[0])


@contextmanager
def _sqlite_locked(settings: Settings) -> Iterator[Callable[[int], None]]:
    holder = sqlite3.connect(settings.data_dir / "flowruns.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")

    def queued(_: int) -> None:
        # SQLite cannot tell who waits on its lock; give the requests time to get there.
        time.sleep(0.5)

    try:
        yield queued
    finally:
        holder.execute("COMMIT")
        holder.close()


@contextmanager
def _postgres_row_locked(url: str, row_id: str) -> Iterator[Callable[[int], None]]:
    libpq = make_url(url).render_as_string(hide_password=False)
    with psycopg.connect(libpq) as holder, psycopg.connect(libpq, autocommit=True) as watcher:
        holder.execute("SELECT 1 FROM runs WHERE id = %s FOR UPDATE", (row_id,))

        def queued(n: int) -> None:
            deadline = time.monotonic() + WAIT_SECONDS
            while _waiting_on_locks(watcher) < n:
                assert time.monotonic() < deadline, "the requests never reached the lock"
                time.sleep(0.02)

        yield queued
        holder.commit()


def _row_held(settings: Settings, row_id: str) -> AbstractContextManager[Callable[[int], None]]:
    """Hold the run ``row_id`` locked; the context gives a function that waits until ``n``
    requests queue behind the lock. The lock is released when the block ends."""
    if settings.database_url is None:
        return _sqlite_locked(settings)
    return _postgres_row_locked(settings.database_url, row_id)


def _all(futures: list[Future[Any]]) -> list[Any]:
    return [f.result(timeout=WAIT_SECONDS) for f in futures]


def test_two_patches_with_one_etag_cannot_both_win(client: TestClient, settings: Settings) -> None:
    run = create_run(client)
    etag = client.get(run_url(run["id"])).headers["ETag"]

    def patch(name: str) -> int:
        response = client.patch(
            run_url(run["id"]), json={"displayName": name}, headers={"If-Match": etag}
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=2) as pool, _row_held(settings, run["id"]) as queued:
        futures = [pool.submit(patch, name) for name in ("first", "second")]
        queued(2)
    statuses = _all(futures)
    assert sorted(statuses) == [200, 412]
    winner = ("first", "second")[statuses.index(200)]
    assert get_json(client, run_url(run["id"]))["displayName"] == winner


def test_a_patch_racing_a_delete_finds_the_run_gone_or_deleted_after_it(
    client: TestClient, settings: Settings
) -> None:
    run = create_run(client)
    with ThreadPoolExecutor(max_workers=2) as pool, _row_held(settings, run["id"]) as queued:
        deleting = pool.submit(client.delete, run_url(run["id"]))
        patching = pool.submit(client.patch, run_url(run["id"]), json={"displayName": "late"})
        queued(2)
    deleted, patched = _all([deleting, patching])
    assert deleted.status_code == 204
    assert patched.status_code in (200, 404)
    assert client.get(run_url(run["id"])).status_code == 404


def test_the_same_member_added_at_once_is_one_membership(
    client: TestClient, settings: Settings
) -> None:
    group = create_group(client)
    run = create_run(client)
    with ThreadPoolExecutor(max_workers=3) as pool, _row_held(settings, group["id"]) as queued:
        futures = [pool.submit(add_member, client, group["id"], run["id"]) for _ in range(3)]
        queued(3)
    assert [r.status_code for r in _all(futures)] == [204, 204, 204]
    members = get_json(client, f"{HUB}/runGroups/{group['id']}/runs")["value"]
    assert [m["id"] for m in members] == [run["id"]]


def test_two_groups_adding_each_other_at_once_both_succeed(client: TestClient) -> None:
    for _ in range(5):
        a, b = create_group(client, "a"), create_group(client, "b")
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = [
                pool.submit(add_member, client, a["id"], b["id"]),
                pool.submit(add_member, client, b["id"], a["id"]),
            ]
        assert [r.status_code for r in _all(futures)] == [204, 204]
