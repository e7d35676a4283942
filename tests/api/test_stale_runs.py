"""The stale-run rule over HTTP: a running run nobody touches for longer than the run timeout
is failed with runTimedOut; a heartbeated one stays running; a finished one is left alone."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from flowruns.api.app import create_app, open_database
from flowruns.edm.datetimes import TICKS_PER_SECOND, now_ticks, parse
from flowruns.service import stale
from flowruns.settings import InvalidSetting, Settings, parse_run_timeout
from tests.conftest import HUB, NS, bearer

TIMEOUT_SECONDS = 2.0
WAIT_SECONDS = 30.0


@pytest.fixture
def short_timeout(settings: Settings) -> Iterator[TestClient]:
    """A server whose runs time out after two seconds without a write."""
    quick = dataclasses.replace(settings, run_timeout_seconds=TIMEOUT_SECONDS)
    with TestClient(create_app(quick), headers=bearer(quick)) as client:
        yield client


def _create(client: TestClient, **values: object) -> dict[str, object]:
    body = {"@odata.type": f"#{NS}.outgoingFlowRun", "displayName": "nightly", **values}
    response = client.post(f"{HUB}/runs", json=body)
    assert response.status_code == 201, response.text
    run: dict[str, object] = response.json()
    return run


def test_only_the_untouched_running_run_is_failed(short_timeout: TestClient) -> None:
    client = short_timeout
    silent = _create(client)
    beating = _create(client)
    finished = _create(
        client,
        status="completed",
        startDateTime="2026-01-01T00:00:00Z",
        endDateTime="2026-01-01T01:00:00Z",
    )
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        assert client.patch(f"{HUB}/runs/{beating['id']}", json={}).status_code == 200
        current = client.get(f"{HUB}/runs/{silent['id']}").json()
        if current["status"] != "running":
            break
        assert time.monotonic() < deadline, "the silent run was never failed"
        time.sleep(0.1)

    assert current["status"] == "failed"
    assert current["blockingError"]["code"] == "runTimedOut"
    assert "run timeout (PT2S)" in current["blockingError"]["message"]
    assert current["@odata.etag"] != silent["@odata.etag"]
    assert parse(current["endDateTime"]) >= parse(str(silent["startDateTime"]))
    response = client.get(f"{HUB}/runs/{silent['id']}")
    assert response.headers["ETag"] == current["@odata.etag"]
    # The failed run is final, like any other.
    again = client.patch(f"{HUB}/runs/{silent['id']}", json={"status": "completed"})
    assert again.status_code == 409

    assert client.get(f"{HUB}/runs/{beating['id']}").json()["status"] == "running"
    untouched = client.get(f"{HUB}/runs/{finished['id']}").json()
    assert untouched["status"] == "completed"
    assert untouched["@odata.etag"] == finished["@odata.etag"]


def test_a_run_starting_in_the_future_ends_at_its_start(short_timeout: TestClient) -> None:
    client = short_timeout
    run = _create(client, startDateTime="2099-01-01T00:00:00Z")
    deadline = time.monotonic() + WAIT_SECONDS
    while (current := client.get(f"{HUB}/runs/{run['id']}").json())["status"] == "running":
        assert time.monotonic() < deadline, "the run was never failed"
        time.sleep(0.1)
    assert current["endDateTime"] == "2099-01-01T00:00:00Z"


def test_concurrent_checks_fail_each_stale_run_once(client: TestClient, settings: Settings) -> None:
    """Many server processes check at once; together they fail every stale run exactly once."""
    ids = {str(_create(client)["id"]) for _ in range(12)}
    later = now_ticks() + 3600 * TICKS_PER_SECOND
    database = open_database(settings)
    counts: list[int] = []
    lock = threading.Lock()

    def check() -> None:
        failed = stale.fail_stale_runs(database, 60, now=later)
        with lock:
            counts.append(failed)

    threads = [threading.Thread(target=check) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    database.dispose()
    assert sum(counts) == len(ids)
    for run_id in ids:
        assert client.get(f"{HUB}/runs/{run_id}").json()["blockingError"]["code"] == "runTimedOut"


@pytest.mark.parametrize(
    ("text", "seconds"), [("3600", 3600.0), ("0.5", 0.5), ("PT1H30M", 5400.0), ("p1d", 86400.0)]
)
def test_the_run_timeout_takes_seconds_or_a_duration(text: str, seconds: float) -> None:
    assert parse_run_timeout(text) == seconds


@pytest.mark.parametrize("text", ["", "-5", "-PT1H", "soon", "nan", "inf"])
def test_a_bad_run_timeout_is_refused(text: str) -> None:
    with pytest.raises(InvalidSetting):
        parse_run_timeout(text)
