"""Lineage as data over HTTP, on both engines: recording a run's inputs and outputs, the
datasets they create, reading both sides with the query engine, and the errors."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from flowruns.api.app import create_app
from flowruns.auth.scopes import FLOW_READ_WRITE, RUN_READ, RUN_READ_WRITE
from flowruns.settings import Settings
from tests.api.steps import assert_error, create_run, finished_run, get_json
from tests.conftest import HUB, bearer
from tests.webhooks import start_receiver


def record(
    client: TestClient, run: str, side: str, name: str, status: int = 201, **values: Any
) -> dict[str, Any]:
    response = client.post(f"{HUB}/runs/{run}/{side}", json={"name": name, **values})
    assert response.status_code == status, response.text
    return dict(response.json())


def test_an_output_creates_its_dataset_and_is_read_from_both_sides(client: TestClient) -> None:
    run = finished_run(client, "load orders")["id"]
    access = record(
        client,
        run,
        "outputs",
        "warehouse.orders",
        namespace="postgres://db:5432",
        rowCount=120,
        byteCount=4096,
        fileCount=1,
        facets={"schema": {"fields": [{"name": "id"}]}},
    )
    assert access["direction"] == "output"
    assert access["runId"] == run
    assert access["runStatus"] == "completed"
    assert access["runStartDateTime"] == "2026-01-01T00:00:00Z"
    assert access["runEndDateTime"] == "2026-01-01T01:00:00Z"
    assert (access["rowCount"], access["byteCount"], access["fileCount"]) == (120, 4096, 1)
    assert access["facets"] == {"schema": {"fields": [{"name": "id"}]}}
    (dataset,) = get_json(client, f"{HUB}/datasets")["value"]
    assert dataset["id"] == access["datasetId"]
    assert (dataset["namespace"], dataset["name"]) == ("postgres://db:5432", "warehouse.orders")
    # Written by a completed run: fresh as of its end.
    assert dataset["lastWrittenDateTime"] == "2026-01-01T01:00:00Z"
    assert dataset["lastWrittenRunId"] == run
    writes = get_json(client, f"{HUB}/datasets/{dataset['id']}/writes")["value"]
    assert [w["id"] for w in writes] == [access["id"]]
    assert get_json(client, f"{HUB}/datasets/{dataset['id']}/reads")["value"] == []
    outputs = get_json(client, f"{HUB}/runs/{run}/outputs")["value"]
    assert [o["id"] for o in outputs] == [access["id"]]
    assert get_json(client, f"{HUB}/runs/{run}/inputs")["value"] == []
    one = get_json(client, f"{HUB}/runs/{run}/outputs/{access['id']}")
    assert one["name"] == "warehouse.orders"
    assert client.get(f"{HUB}/runs/{run}/outputs/$count").text == "1"
    assert client.get(f"{HUB}/datasets/$count").text == "1"


def test_recording_again_replaces_the_counts_and_the_namespace_defaults(
    client: TestClient,
) -> None:
    run = create_run(client, "load", startDateTime="2026-01-01T00:00:00Z")["id"]
    first = record(client, run, "inputs", "orders", rowCount=1)
    assert first["namespace"] == "flowruns"
    again = record(client, run, "inputs", "orders", status=200, rowCount=2)
    assert again["id"] == first["id"]
    assert again["rowCount"] == 2
    # The same name as an output is another access to the same dataset.
    out = record(client, run, "outputs", "orders")
    assert out["datasetId"] == first["datasetId"]
    assert out["id"] != first["id"]
    # A running run wrote it: not fresh yet; it completes, and the dataset is.
    dataset = get_json(client, f"{HUB}/datasets/{first['datasetId']}")
    assert dataset["lastWrittenDateTime"] is None
    patched = client.patch(
        f"{HUB}/runs/{run}", json={"status": "completed", "endDateTime": "2026-01-01T02:00:00Z"}
    )
    assert patched.status_code == 200, patched.text
    dataset = get_json(client, f"{HUB}/datasets/{first['datasetId']}")
    assert dataset["lastWrittenDateTime"] == "2026-01-01T02:00:00Z"
    assert dataset["lastWrittenRunId"] == run
    access = get_json(client, f"{HUB}/runs/{run}/outputs/{out['id']}")
    assert access["runStatus"] == "completed"
    assert access["runEndDateTime"] == "2026-01-01T02:00:00Z"


def test_runs_filtered_by_their_outputs_and_expanded(client: TestClient) -> None:
    a = finished_run(client, "a")["id"]
    b = finished_run(client, "b")["id"]
    record(client, a, "outputs", "warehouse.orders", rowCount=5)
    record(client, b, "outputs", "warehouse.customers", rowCount=7)
    record(client, b, "inputs", "warehouse.orders")
    found = get_json(client, f"{HUB}/runs?$filter=outputs/any(d: d/name eq 'warehouse.orders')")
    assert [r["id"] for r in found["value"]] == [a]
    found = get_json(client, f"{HUB}/runs?$filter=inputs/any(d: d/name eq 'warehouse.orders')")
    assert [r["id"] for r in found["value"]] == [b]
    expanded = get_json(client, f"{HUB}/runs/{b}?$expand=outputs($select=name,rowCount)")
    assert [(o["name"], o["rowCount"]) for o in expanded["outputs"]] == [("warehouse.customers", 7)]
    access = get_json(
        client, f"{HUB}/runs?$filter=outputs/any(d: d/dataset/reads/any(r: r/runId eq '{b}'))"
    )
    assert [r["id"] for r in access["value"]] == [a]
    writes = get_json(
        client,
        f"{HUB}/runs/{a}/outputs?$expand=run($select=displayName),dataset($select=name)",
    )["value"]
    assert writes[0]["run"]["displayName"] == "a"
    assert writes[0]["dataset"]["name"] == "warehouse.orders"


def test_datasets_and_accesses_are_searched_by_name(client: TestClient) -> None:
    run = finished_run(client)["id"]
    for name in ("warehouse.orders", "warehouse.customers", "raw.orders"):
        record(client, run, "outputs", name)
    found = get_json(client, f'{HUB}/datasets?$search="ORDERS"&$orderby=name')["value"]
    assert [d["name"] for d in found] == ["raw.orders", "warehouse.orders"]
    found = get_json(client, f"{HUB}/runs/{run}/outputs?$search=warehouse NOT orders")["value"]
    assert [d["name"] for d in found] == ["warehouse.customers"]


def test_bad_bodies_are_refused_naming_the_member_and_change_nothing(client: TestClient) -> None:
    run = finished_run(client)["id"]
    for body, target in (
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x", "rowCount": "many"}, "rowCount"),
        ({"name": "x", "runId": run}, "runId"),
        ({"name": "x", "unknown": 1}, "unknown"),
        ({"name": "x", "facets": []}, "facets"),
    ):
        response = client.post(f"{HUB}/runs/{run}/outputs", json=body)
        assert_error(response, 400, "invalidRequest", target)
    assert client.get(f"{HUB}/datasets/$count").text == "0"
    assert client.get(f"{HUB}/runs/{run}/outputs/$count").text == "0"


def test_missing_runs_datasets_and_accesses_are_404(client: TestClient) -> None:
    missing = "00000000-0000-0000-0000-000000000000"
    response = client.post(f"{HUB}/runs/{missing}/outputs", json={"name": "x"})
    assert_error(response, 404, "itemNotFound")
    assert client.get(f"{HUB}/datasets/$count").text == "0"
    assert_error(client.get(f"{HUB}/datasets/{missing}"), 404, "itemNotFound")
    assert_error(client.get(f"{HUB}/datasets/{missing}/writes"), 404, "itemNotFound")
    run = finished_run(client)["id"]
    assert_error(client.get(f"{HUB}/runs/{run}/inputs/{missing}"), 404, "itemNotFound")


def test_reading_needs_the_run_permission_and_recording_the_write_one(
    client: TestClient, settings: Settings
) -> None:
    run = finished_run(client)["id"]
    access = record(client, run, "outputs", "orders")
    flows_only = bearer(settings, scopes=(FLOW_READ_WRITE,))
    for url in (
        f"{HUB}/datasets",
        f"{HUB}/datasets/$count",
        f"{HUB}/datasets/delta()",
        f"{HUB}/datasets/{access['datasetId']}",
        f"{HUB}/datasets/{access['datasetId']}/writes",
        f"{HUB}/runs/{run}/outputs",
    ):
        assert_error(client.get(url, headers=flows_only), 403, "accessDenied")
    read_only = bearer(settings, scopes=(RUN_READ,))
    assert client.get(f"{HUB}/datasets", headers=read_only).status_code == 200
    response = client.post(f"{HUB}/runs/{run}/outputs", json={"name": "y"}, headers=read_only)
    assert_error(response, 403, "accessDenied")
    writer = bearer(settings, scopes=(RUN_READ_WRITE,))
    response = client.post(f"{HUB}/runs/{run}/outputs", json={"name": "y"}, headers=writer)
    assert response.status_code == 201, response.text
    # Processes' readers cannot learn of datasets through a filter of runs either.
    response = client.get(
        f"{HUB}/processes?$filter=runs/any(r: r/outputs/any(d: d/name eq 'y'))",
        headers=flows_only,
    )
    assert_error(response, 403, "accessDenied")


def test_datasets_are_in_the_change_log(client: TestClient) -> None:
    first = get_json(client, f"{HUB}/datasets/delta()")
    assert first["value"] == []
    run = create_run(client, "load", startDateTime="2026-01-01T00:00:00Z")["id"]
    created = record(client, run, "outputs", "warehouse.orders")
    changed = get_json(client, first["@odata.deltaLink"])
    assert [d["id"] for d in changed["value"]] == [created["datasetId"]]
    # The run that wrote it completes: the dataset's freshness changes, and so does it.
    done = {"status": "completed", "endDateTime": "2026-01-01T01:00:00Z"}
    assert client.patch(f"{HUB}/runs/{run}", json=done).status_code == 200
    fresh = get_json(client, changed["@odata.deltaLink"])["value"]
    assert [d["lastWrittenDateTime"] for d in fresh] == ["2026-01-01T01:00:00Z"]


@pytest.fixture
def hooked(settings: Settings) -> Iterator[TestClient]:
    """A server that may notify the loopback address of the test's receiver."""
    private = dataclasses.replace(settings, notification_allow_private=True)
    with TestClient(create_app(private), headers=bearer(private)) as client:
        yield client


def test_a_subscription_to_datasets_pushes_new_ones_and_accesses_are_refused(
    hooked: TestClient, tmp_path: Path
) -> None:
    client = hooked
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    run = finished_run(client)["id"]
    refused = client.post(
        "/beta/subscriptions",
        json={
            "changeType": "created",
            "notificationUrl": "https://example.com/hook",
            "resource": f"external/industryData/runs/{run}/outputs",
            "expirationDateTime": later,
        },
    )
    assert_error(refused, 400, "invalidRequest", "resource")
    receiver = start_receiver(tmp_path / "received.jsonl")
    try:
        subscription = {
            "changeType": "created",
            "notificationUrl": receiver.url,
            "resource": "external/industryData/datasets?$filter=startswith(name, 'warehouse.')",
            "expirationDateTime": later,
        }
        created = client.post("/beta/subscriptions", json=subscription)
        assert created.status_code == 201, created.text
        record(client, run, "outputs", "staging.orders")
        wanted = record(client, run, "outputs", "warehouse.orders")
        receiver.wait_for(lambda found: len(found) >= 1)
        time.sleep(1)  # nothing else comes
        assert [i["resource"] for i in receiver.items()] == [
            f"external/industryData/datasets/{wanted['datasetId']}"
        ]
    finally:
        receiver.stop()
