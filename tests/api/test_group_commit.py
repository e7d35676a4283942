"""Writes sent at once, as clients meet them: each is answered for itself, every acknowledged
write is there afterwards, and on SQLite the writes that queue together share one commit
without one's failure touching another's answer."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import httpx2
import pytest
from sqlalchemy import Connection, event
from starlette.testclient import TestClient

from flowruns.api.app import create_app, open_database
from flowruns.settings import Settings
from flowruns.store.database import Database, is_writing
from tests.api.steps import create_process, create_run, finished_run, get_json, run_url
from tests.conftest import HUB, NS, bearer
from tests.engines import ENGINES

WAIT_SECONDS = 30
RUN = {"@odata.type": f"#{NS}.outgoingFlowRun"}


@pytest.fixture
def served(settings: Settings) -> Iterator[tuple[TestClient, Database]]:
    """The server over ASGI and its database, for a test to hold the writer itself."""
    db = open_database(settings)
    app = create_app(settings, db)
    with TestClient(app, base_url="http://testserver", headers=bearer(settings)) as client:
        yield client, db
    db.dispose()


def test_writes_from_many_clients_at_once_are_all_acknowledged_and_kept(
    served: tuple[TestClient, Database],
) -> None:
    client, _ = served
    process = create_process(client)
    writers, rounds = 8, 6

    def write(writer: int) -> dict[str, int]:
        counters: dict[str, int] = {}
        for step in range(rounds):
            created = client.post(
                f"{HUB}/processes/{process['id']}/runs", json={**RUN, "displayName": f"w{writer}"}
            )
            assert created.status_code == 201, created.text
            run_id = created.json()["id"]
            for counter in (1, 2):
                patched = client.patch(
                    run_url(run_id), json={"statistics": {"counter": counter, "step": step}}
                )
                assert patched.status_code == 200, patched.text
            counters[run_id] = 2
        return counters

    with ThreadPoolExecutor(max_workers=writers) as pool:
        acknowledged = {k: v for part in pool.map(write, range(writers)) for k, v in part.items()}
    assert len(acknowledged) == writers * rounds
    for run_id, counter in acknowledged.items():
        assert get_json(client, run_url(run_id))["statistics"]["counter"] == counter
    listed = get_json(client, f"{HUB}/processes/{process['id']}/runs?$count=true&$top=0")
    assert listed["@odata.count"] == writers * rounds


def _queued(db: Database, count: int) -> None:
    assert db.writer is not None
    deadline = time.monotonic() + WAIT_SECONDS
    while db.writer.waiting < count:
        assert time.monotonic() < deadline, "the requests did not queue for the writer"
        time.sleep(0.01)


# PostgreSQL commits each write on its own connection: groups are SQLite's.
SQLITE_ONLY = pytest.mark.parametrize(
    "database_url", [e for e in ENGINES if e == "sqlite"], indirect=True
)


@SQLITE_ONLY
def test_requests_queued_together_share_one_commit_and_each_gets_its_own_answer(
    served: tuple[TestClient, Database], settings: Settings
) -> None:
    client, db = served
    process = create_process(client)
    target = create_run(client, "target")
    finished = finished_run(client, "finished")
    commits: list[Connection] = []

    def committed(connection: Connection) -> None:
        if is_writing(connection):
            commits.append(connection)

    event.listen(db.engine, "commit", committed)
    keyed = {"Idempotency-Key": "one-run-only"}
    requests: list[tuple[str, str, dict[str, Any], dict[str, str]]] = [
        ("POST", f"{HUB}/processes/{process['id']}/runs", {"displayName": "first"}, {}),
        ("PATCH", run_url(target["id"]), {"displayName": "stale"}, {"If-Match": 'W/"old"'}),
        ("PATCH", run_url(finished["id"]), {"status": "running"}, {}),
        ("POST", f"{HUB}/runs", {**RUN, "displayName": "keyed"}, keyed),
        ("POST", f"{HUB}/runs", {**RUN, "displayName": "keyed"}, keyed),
        ("PATCH", run_url(target["id"]), {"displayName": "renamed"}, {}),
        ("DELETE", run_url("00000000-0000-0000-0000-000000000000"), {}, {}),
        ("POST", f"{HUB}/processes/{process['id']}/runs", {"displayName": "last"}, {}),
    ]

    def send(method: str, url: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
        content = None if method == "DELETE" else body
        return client.request(method, url, json=content, headers=headers)

    answers: list[Future[httpx2.Response]] = []
    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        with db.writing():  # holds the writer until every request has queued behind it
            for number, request in enumerate(requests, start=1):
                answers.append(pool.submit(send, *request))
                _queued(db, number)
        statuses = [answer.result().status_code for answer in answers]

    assert statuses == [201, 412, 409, 201, 201, 200, 404, 201]
    assert len(commits) == 1  # the holder's and all eight requests' writes
    first, keyed_once, keyed_again, last = (answers[i].result().json() for i in (0, 3, 4, 7))
    assert keyed_again["id"] == keyed_once["id"]  # the second saw the first in the group
    for created in (first, keyed_once, last):
        assert get_json(client, run_url(created["id"]))["displayName"] == created["displayName"]
    assert get_json(client, run_url(target["id"]))["displayName"] == "renamed"
    assert get_json(client, run_url(finished["id"]))["status"] == "completed"
    counted = client.get(f"{HUB}/runs/$count").text
    assert int(counted) == 5  # target, finished, first, keyed (once), last


@SQLITE_ONLY
def test_a_write_is_answered_only_once_its_group_has_committed(
    served: tuple[TestClient, Database], settings: Settings
) -> None:
    client, db = served
    events = [threading.Event() for _ in range(5)]
    answered, held, holder_may_end, behind_started, behind_may_end = events

    def create() -> httpx2.Response:
        response = client.post(f"{HUB}/runs", json={**RUN, "displayName": "waits"})
        answered.set()
        return response

    def hold(started: threading.Event, may_end: threading.Event) -> None:
        with db.writing():
            started.set()
            may_end.wait(WAIT_SECONDS)

    with ThreadPoolExecutor(max_workers=3) as pool:
        holding = pool.submit(hold, held, holder_may_end)
        assert held.wait(WAIT_SECONDS)
        # The create, then a write that stays open, queue behind the held write.
        created = pool.submit(create)
        _queued(db, 1)
        open_write = pool.submit(hold, behind_started, behind_may_end)
        _queued(db, 2)
        holder_may_end.set()
        assert behind_started.wait(WAIT_SECONDS)
        # The create has run inside the group, which has not committed: no answer yet, and
        # no reader sees the run.
        assert not answered.is_set()
        assert client.get(f"{HUB}/runs/$count").text == "0"
        behind_may_end.set()
        holding.result()
        open_write.result()
        assert created.result().status_code == 201
    assert client.get(f"{HUB}/runs/$count").text == "1"
