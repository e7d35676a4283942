"""Crash safety: a server killed with SIGKILL in the middle of a write load loses no write it
had acknowledged (201, 200 or 204), on either engine.

Writers create runs, PATCH a counter into each run's statistics and delete some runs, and
remember every answer they got. The server is killed while they write, started again on the
same database, and every acknowledged write must be found: each created run is there (unless
its deletion was acknowledged), its counter is at least the last acknowledged value (a write
in flight at the kill may or may not have landed, a deletion too), and each acknowledged
deletion is gone. On SQLite the writers are enough for their writes to share commits (a
write is acknowledged only once its group committed), so the kill also lands between the
writes of a group and its commit.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from flowruns.store import migrations
from flowruns.store.database import make_engine
from tests.conftest import HUB, NS
from tests.engines import ENGINES, created_database
from tests.servers import AUTH, Server, start, wait_ready

WRITERS = 8
ACKNOWLEDGED_BEFORE_KILL = 80
# Each writer stops on its own after this many requests, killed or not.
MAX_REQUESTS_PER_WRITER = 400


@dataclass
class Acknowledged:
    """What the server said it had done, per run: the last counter and whether it is deleted."""

    counters: dict[str, int] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    # Deletions sent, acknowledged or not: one in flight at the kill may have landed.
    deleting: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self) -> int:
        with self.lock:
            return len(self.counters) + sum(self.counters.values()) + len(self.deleted)


def _write(base: str, writer: int, acked: Acknowledged, stop: threading.Event) -> None:
    with httpx.Client(base_url=base, headers=AUTH, timeout=10) as http:
        run_id: str | None = None
        counter = 0
        for request in range(MAX_REQUESTS_PER_WRITER):
            if stop.is_set():
                return
            try:
                if run_id is None:
                    body = {"@odata.type": f"#{NS}.outgoingFlowRun", "displayName": f"w{writer}"}
                    created = http.post(f"{HUB}/runs", json=body)
                    if created.status_code == 201:
                        run_id, counter = created.json()["id"], 0
                        with acked.lock:
                            acked.counters[run_id] = 0
                elif request % 7 == 6:
                    with acked.lock:
                        acked.deleting.add(run_id)
                    if http.delete(f"{HUB}/runs/{run_id}").status_code == 204:
                        with acked.lock:
                            acked.deleted.add(run_id)
                    run_id = None
                else:
                    counter += 1
                    patched = http.patch(
                        f"{HUB}/runs/{run_id}", json={"statistics": {"counter": counter}}
                    )
                    if patched.status_code == 200:
                        with acked.lock:
                            acked.counters[run_id] = counter
            except httpx.TransportError:
                return  # the server is gone


@pytest.fixture(params=ENGINES)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[str]]:
    """``serve`` arguments naming a fresh database of one engine."""
    if request.param == "sqlite":
        yield ["--data-dir", str(tmp_path / "data")]
        return
    with created_database("flowruns_crash") as url:
        engine = make_engine(url)
        migrations.upgrade(engine)
        engine.dispose()
        yield ["--database-url", url, "--data-dir", str(tmp_path / "data")]


def test_an_acknowledged_write_survives_sigkill(database: list[str], tmp_path: Path) -> None:
    server: Server = start(tmp_path / "first.log", *database)
    acked, stop = Acknowledged(), threading.Event()
    writers = [
        threading.Thread(target=_write, args=(server.base, n, acked, stop)) for n in range(WRITERS)
    ]
    try:
        wait_ready(server)
        for thread in writers:
            thread.start()
        deadline = time.monotonic() + 60
        while acked.count() < ACKNOWLEDGED_BEFORE_KILL:
            assert time.monotonic() < deadline, "the writers made too little progress"
            time.sleep(0.01)
        server.stop(signal.SIGKILL)  # mid-load: requests are in flight
    finally:
        stop.set()
        for thread in writers:
            thread.join(timeout=30)
        server.stop(signal.SIGKILL)
    assert acked.counters

    restarted = start(tmp_path / "second.log", *database)
    try:
        wait_ready(restarted)
        with httpx.Client(base_url=restarted.base, headers=AUTH, timeout=10) as http:
            for run_id, counter in acked.counters.items():
                response = http.get(f"{HUB}/runs/{run_id}")
                if run_id in acked.deleted:
                    assert response.status_code == 404, response.text
                    continue
                if run_id in acked.deleting and response.status_code == 404:
                    continue
                assert response.status_code == 200, response.text
                assert response.json()["statistics"].get("counter", 0) >= counter
    finally:
        restarted.stop()
