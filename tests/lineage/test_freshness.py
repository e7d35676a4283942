"""Dataset freshness over HTTP, on both engines: a dataset's freshness expectation, the stale
incidents its evaluation opens and resolves (the server's evaluation, called with the test's
``now``), the errors, and who may read and write it."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from flowruns.api.app import create_app, open_database
from flowruns.auth.scopes import FLOW_READ, FLOW_READ_WRITE, RUN_READ, RUN_READ_WRITE
from flowruns.edm.datetimes import parse
from flowruns.service import freshness
from flowruns.settings import Settings
from flowruns.store.database import Database
from tests.api.steps import assert_error, finished_run, get_json
from tests.conftest import HUB, bearer


def _at(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclasses.dataclass
class Server:
    client: TestClient
    db: Database
    settings: Settings
    # The test's "now": an hour past the real one, so that writes and expectations recorded
    # with the server's clock are all in its past.
    now: datetime = dataclasses.field(
        default_factory=lambda: datetime.now(UTC).replace(microsecond=0)
    )

    def evaluate(self, moment: datetime) -> int:
        ticks = parse(_at(moment))
        return freshness.evaluate_due(self.db, now=lambda: ticks)

    def write(self, name: str, end: datetime, status: str = "completed") -> str:
        run = finished_run(self.client, "load", status, _at(end - timedelta(minutes=10)), _at(end))[
            "id"
        ]
        response = self.client.post(f"{HUB}/runs/{run}/outputs", json={"name": name})
        assert response.status_code == 201, response.text
        return str(run)

    def dataset(self, name: str) -> dict[str, Any]:
        found = get_json(self.client, f"{HUB}/datasets?$filter=name eq '{name}'")["value"]
        assert len(found) == 1
        return dict(found[0])

    def expect(self, dataset: str, status: int = 201, **members: Any) -> dict[str, Any]:
        response = self.client.put(f"{HUB}/datasets/{dataset}/expectation", json=members)
        assert response.status_code == status, response.text
        return dict(response.json())

    def expectation(self, dataset: str) -> dict[str, Any]:
        return get_json(self.client, f"{HUB}/datasets/{dataset}/expectation")

    def incidents(self, dataset: str) -> list[dict[str, Any]]:
        url = f"{HUB}/datasets/{dataset}/incidents?$orderby=openedDateTime"
        return list(get_json(self.client, url)["value"])


@pytest.fixture
def server(settings: Settings) -> Iterator[Server]:
    quiet = dataclasses.replace(settings, evaluate_health=False)
    db = open_database(quiet)
    with TestClient(create_app(quiet), headers=bearer(quiet)) as client:
        yield Server(client, db, quiet)
    db.dispose()


def test_a_dataset_not_written_in_time_goes_stale_and_the_next_write_resolves_it(
    server: Server,
) -> None:
    now = server.now
    first = server.write("warehouse.orders", now - timedelta(hours=20))
    dataset = server.dataset("warehouse.orders")["id"]
    written = server.expect(dataset, writtenEvery="P1D", owner="data-platform")
    assert written["state"] == "fresh"
    assert written["writeDueDateTime"] == _at(now + timedelta(hours=4))
    assert written["owner"] == "data-platform"
    assert server.expectation(dataset)["@odata.context"].endswith(
        "$metadata#external/industryData/datasets('" + dataset + "')/expectation/$entity"
    )
    # Before the deadline nothing happens; past it, one incident names the last write.
    server.evaluate(now + timedelta(hours=3))
    assert server.incidents(dataset) == []
    server.evaluate(now + timedelta(hours=4, minutes=1))
    server.evaluate(now + timedelta(hours=5))
    (stale,) = server.incidents(dataset)
    assert stale["kind"] == "stale"
    assert stale["datasetId"] == dataset
    assert stale["runId"] == first
    assert stale["openedDateTime"] == _at(now + timedelta(hours=4))
    assert stale["expectedDateTime"] == _at(now + timedelta(hours=4))
    assert stale["resolvedDateTime"] is None
    assert stale["message"] == (
        "warehouse.orders: not written by a successful run since "
        f"{_at(now - timedelta(hours=20))} (expected every P1D)."
    )
    assert server.expectation(dataset)["state"] == "stale"
    # The incident is also among the tenant's, with its dataset and no process.
    one = get_json(server.client, f"{HUB}/incidents/{stale['id']}?$expand=dataset,process")
    assert one["dataset"]["name"] == "warehouse.orders"
    assert one["process"] is None
    assert get_json(server.client, f"{HUB}/incidents/{stale['id']}/dataset")["id"] == dataset
    assert_error(server.client.get(f"{HUB}/incidents/{stale['id']}/process"), 404, "itemNotFound")
    changes = get_json(server.client, f"{HUB}/incidents/delta()?$filter=kind eq 'stale'")
    assert [c["id"] for c in changes["value"]] == [stale["id"]]
    open_stale = "kind eq 'stale' and resolvedDateTime eq null"
    listed = get_json(server.client, f"{HUB}/incidents?$filter={open_stale}")["value"]
    assert [i["id"] for i in listed] == [stale["id"]]
    # A failed write does not count; a successful one resolves the incident at its end.
    server.write("warehouse.orders", now + timedelta(hours=5, minutes=10), status="failed")
    server.evaluate(now + timedelta(hours=5, minutes=20))
    assert server.incidents(dataset)[0]["resolvedDateTime"] is None
    server.write("warehouse.orders", now + timedelta(hours=5, minutes=30))
    server.evaluate(now + timedelta(hours=5, minutes=31))
    (resolved,) = server.incidents(dataset)
    assert resolved["resolvedDateTime"] == _at(now + timedelta(hours=5, minutes=30))
    fresh = server.expectation(dataset)
    assert fresh["state"] == "fresh"
    assert fresh["writeDueDateTime"] == _at(now + timedelta(days=1, hours=5, minutes=30))


def test_a_write_makes_the_dataset_due_at_once(server: Server) -> None:
    """The trigger on a dataset's freshness brings its evaluation forward: the write is judged
    within seconds, not at the deadline or the hourly refresh."""
    now = server.now
    server.write("orders", now - timedelta(days=2))
    dataset = server.dataset("orders")["id"]
    assert server.expect(dataset, writtenEvery="P1D")["state"] == "stale"
    (stale,) = server.incidents(dataset)
    # Nothing is due in the next minutes: the stale dataset is evaluated again hourly.
    assert server.evaluate(now + timedelta(minutes=2)) == 0
    server.write("orders", now - timedelta(minutes=1))
    assert server.evaluate(now + timedelta(minutes=2)) == 1
    (resolved,) = server.incidents(dataset)
    # Written (by a run recorded late) before the incident opened: it ends when it opened.
    assert resolved["resolvedDateTime"] == stale["openedDateTime"]
    assert server.expectation(dataset)["state"] == "fresh"


def test_a_dataset_never_written_goes_stale_a_period_after_the_expectation(
    server: Server,
) -> None:
    now = server.now
    run = finished_run(server.client, "reads", "completed")["id"]
    response = server.client.post(f"{HUB}/runs/{run}/inputs", json={"name": "raw.events"})
    assert response.status_code == 201, response.text
    dataset = server.dataset("raw.events")["id"]
    written = server.expect(dataset, writtenEvery="PT1H")
    assert written["state"] == "unknown"
    server.evaluate(now + timedelta(hours=2))
    (stale,) = server.incidents(dataset)
    assert "no successful run has written it yet" in stale["message"]
    assert stale["runId"] is None


def test_pausing_resolves_and_holds_the_evaluation(server: Server) -> None:
    now = server.now
    server.write("orders", now - timedelta(days=2))
    dataset = server.dataset("orders")["id"]
    server.expect(dataset, writtenEvery="P1D")
    (stale,) = server.incidents(dataset)
    assert stale["resolvedDateTime"] is None
    etag = server.expectation(dataset)["@odata.etag"]
    response = server.client.patch(
        f"{HUB}/datasets/{dataset}/expectation",
        json={"paused": True},
        headers={"If-Match": etag},
    )
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "paused"
    assert response.json()["writtenEvery"] == "P1D"
    assert server.incidents(dataset)[0]["resolvedDateTime"] is not None
    server.evaluate(now + timedelta(days=3))
    assert len(server.incidents(dataset)) == 1
    # Unpaused and still not written: a new incident.
    response = server.client.patch(f"{HUB}/datasets/{dataset}/expectation", json={"paused": False})
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "stale"
    assert len(server.incidents(dataset)) == 2


def test_removing_the_expectation_resolves_its_incident(server: Server) -> None:
    server.write("orders", server.now - timedelta(days=2))
    dataset = server.dataset("orders")["id"]
    server.expect(dataset, writtenEvery="P1D")
    assert server.client.delete(f"{HUB}/datasets/{dataset}/expectation").status_code == 204
    assert server.incidents(dataset)[0]["resolvedDateTime"] is not None
    assert_error(server.client.get(f"{HUB}/datasets/{dataset}/expectation"), 404, "itemNotFound")
    assert_error(server.client.delete(f"{HUB}/datasets/{dataset}/expectation"), 404, "itemNotFound")
    # Replaced by PUT, it is created again (201), and a second PUT replaces it (200).
    server.expect(dataset, writtenEvery="P2D")
    assert server.expect(dataset, status=200, writtenEvery="P3D")["writtenEvery"] == "P3D"


@pytest.mark.parametrize(
    ("members", "target"),
    [
        ({}, "writtenEvery"),
        ({"writtenEvery": None}, "writtenEvery"),
        ({"writtenEvery": "tomorrow"}, "writtenEvery"),
        ({"writtenEvery": "PT0S"}, "writtenEvery"),
        ({"writtenEvery": "-P1D"}, "writtenEvery"),
        ({"writtenEvery": "P1D", "pausedUntil": "2026-12-01T00:00:00Z"}, "pausedUntil"),
        ({"writtenEvery": "P1D", "tags": [f"t{n}" for n in range(51)]}, "tags"),
    ],
)
def test_a_bad_expectation_is_refused_naming_the_member_and_changes_nothing(
    server: Server, members: dict[str, Any], target: str
) -> None:
    server.write("orders", server.now - timedelta(hours=1))
    dataset = server.dataset("orders")["id"]
    response = server.client.put(f"{HUB}/datasets/{dataset}/expectation", json=members)
    assert_error(response, 400, "invalidRequest", target)
    assert_error(server.client.get(f"{HUB}/datasets/{dataset}/expectation"), 404, "itemNotFound")


def test_read_only_members_and_unknown_datasets_are_refused(server: Server) -> None:
    server.write("orders", server.now - timedelta(hours=1))
    dataset = server.dataset("orders")["id"]
    response = server.client.put(
        f"{HUB}/datasets/{dataset}/expectation", json={"writtenEvery": "P1D", "state": "fresh"}
    )
    assert_error(response, 400, "invalidRequest")
    unknown = "00000000-0000-4000-8000-000000000000"
    response = server.client.put(
        f"{HUB}/datasets/{unknown}/expectation", json={"writtenEvery": "P1D"}
    )
    assert_error(response, 404, "itemNotFound")
    response = server.client.patch(
        f"{HUB}/datasets/{dataset}/expectation", json={"writtenEvery": "P1D"}
    )
    assert_error(response, 404, "itemNotFound")
    assert server.client.get(f"{HUB}/datasets/{dataset}/incidents/$count").text == "0"


def test_reading_needs_the_run_permission_and_writing_run_read_write(server: Server) -> None:
    server.write("orders", server.now - timedelta(hours=1))
    dataset = server.dataset("orders")["id"]
    server.expect(dataset, writtenEvery="P1D")
    url = f"{HUB}/datasets/{dataset}/expectation"
    settings = server.settings
    reader = {"Authorization": bearer(settings, scopes=(RUN_READ,))["Authorization"]}
    flows = {"Authorization": bearer(settings, scopes=(FLOW_READ_WRITE,))["Authorization"]}
    writer = {"Authorization": bearer(settings, scopes=(RUN_READ_WRITE,))["Authorization"]}
    assert server.client.get(url, headers=reader).status_code == 200
    assert_error(server.client.get(url, headers=flows), 403, "accessDenied")
    assert_error(server.client.patch(url, json={"owner": "x"}, headers=reader), 403, "accessDenied")
    assert_error(server.client.patch(url, json={"owner": "x"}, headers=flows), 403, "accessDenied")
    assert server.client.patch(url, json={"owner": "x"}, headers=writer).status_code == 200
    # A dataset's incidents, like a process's, need both read permissions.
    assert_error(
        server.client.get(f"{HUB}/datasets/{dataset}/incidents", headers=reader),
        403,
        "accessDenied",
    )


def test_following_a_dataset_to_its_incidents_needs_both_read_permissions(
    server: Server,
) -> None:
    """An incident is an answer about runs and part of the health of what it is about: reading
    one through a dataset needs the permission the incidents' own paths need, not only the
    dataset's."""
    server.write("orders", server.now - timedelta(days=2))
    dataset = server.dataset("orders")["id"]
    server.expect(dataset, writtenEvery="P1D")
    reader = {"Authorization": bearer(server.settings, scopes=(RUN_READ,))["Authorization"]}
    both = {"Authorization": bearer(server.settings, scopes=(RUN_READ, FLOW_READ))["Authorization"]}
    for url in (
        f"{HUB}/datasets/{dataset}?$expand=incidents",
        f"{HUB}/datasets?$filter=incidents/any(i: i/kind eq 'stale')",
        f"{HUB}/datasets?$filter=incidents/$count gt 0",
    ):
        assert_error(server.client.get(url, headers=reader), 403, "accessDenied")
        assert server.client.get(url, headers=both).status_code == 200, url
