"""Payload and header rules every response follows (SPEC §4)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx2
import pytest
from starlette.testclient import TestClient

from tests.api.steps import (
    BASE_URL,
    JSON_CONTENT_TYPE,
    OUTGOING,
    assert_error,
    create_process,
    create_run,
    get_json,
    process_url,
    run_url,
)
from tests.conftest import HUB, NS

METADATA = f"{BASE_URL}/beta/$metadata"


def _responses(client: TestClient) -> dict[str, httpx2.Response]:
    """One response of every kind: JSON, XML, text, empty and error."""
    run = create_run(client)
    return {
        "entity": client.get(run_url(run["id"])),
        "collection": client.get(f"{HUB}/runs"),
        "created": client.post(f"{HUB}/runs", json={"@odata.type": OUTGOING, "displayName": "x"}),
        "metadata": client.get("/beta/$metadata"),
        "count": client.get(f"{HUB}/runs/$count"),
        "deleted": client.delete(run_url(run["id"])),
        "error": client.get(run_url(run["id"])),
        "outside": client.get("/nowhere"),
    }


def test_json_responses_have_the_exact_content_type(client: TestClient) -> None:
    responses = _responses(client)
    for name in ("entity", "collection", "created", "error", "outside"):
        assert responses[name].headers["content-type"] == JSON_CONTENT_TYPE, name
    assert responses["metadata"].headers["content-type"] == "application/xml"
    assert responses["count"].headers["content-type"] == "text/plain;charset=utf-8"


def test_every_response_carries_odata_version_and_a_fresh_request_id(client: TestClient) -> None:
    responses = _responses(client)
    request_ids = set()
    for name, response in responses.items():
        assert response.headers["OData-Version"] == "4.0", name
        request_id = response.headers["request-id"]
        assert str(uuid.UUID(request_id)) == request_id
        request_ids.add(request_id)
        assert response.headers["client-request-id"], name
    assert len(request_ids) == len(responses)


def test_client_request_id_is_echoed(client: TestClient) -> None:
    sent = "my-trace-42"
    assert (
        client.get(f"{HUB}/runs", headers={"client-request-id": sent}).headers["client-request-id"]
        == sent
    )
    error = client.get(run_url("missing"), headers={"client-request-id": sent})
    assert error.headers["client-request-id"] == sent
    assert error.json()["error"]["innerError"]["client-request-id"] == sent


def test_client_request_id_is_generated_when_absent(client: TestClient) -> None:
    first = client.get(f"{HUB}/runs").headers["client-request-id"]
    second = client.get(f"{HUB}/runs").headers["client-request-id"]
    assert str(uuid.UUID(first)) == first
    assert first != second


def test_error_envelope_has_the_graph_shape(client: TestClient) -> None:
    response = client.post(
        f"{HUB}/runs",
        json={"@odata.type": OUTGOING, "displayName": ""},
        headers={"client-request-id": "abc"},
    )
    error = assert_error(response, 400, "invalidRequest", "displayName")
    assert set(error) <= {"code", "message", "target", "details", "innerError"}
    inner = error["innerError"]
    assert inner["request-id"] == response.headers["request-id"]
    assert inner["client-request-id"] == "abc"
    date = datetime.strptime(inner["date"], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    assert abs(date - datetime.now(UTC)) < timedelta(minutes=5)


def test_error_without_a_target_omits_it(client: TestClient) -> None:
    error = assert_error(client.get(run_url("missing")), 404, "itemNotFound")
    assert "target" not in error


# -- entity and collection shapes ------------------------------------------------------------


def test_entity_carries_type_etag_id_and_entity_context(client: TestClient) -> None:
    run = create_run(client)
    body = get_json(client, run_url(run["id"]))
    assert body["@odata.context"] == f"{METADATA}#external/industryData/runs/$entity"
    assert body["@odata.type"] == f"#{NS}.outgoingFlowRun"
    assert body["@odata.etag"].startswith('W/"')
    assert set(body) == {
        "@odata.context",
        "@odata.type",
        "@odata.etag",
        "id",
        "displayName",
        "startDateTime",
        "endDateTime",
        "status",
        "blockingError",
        "statistics",
    }


def test_collection_shape(client: TestClient) -> None:
    create_run(client)
    create_process(client)
    runs = get_json(client, f"{HUB}/runs")
    assert set(runs) == {"@odata.context", "value"}
    assert runs["@odata.context"] == f"{METADATA}#external/industryData/runs"
    processes = get_json(client, f"{HUB}/processes")
    assert processes["@odata.context"] == f"{METADATA}#external/industryData/processes"
    for row in runs["value"] + processes["value"]:
        assert row["@odata.type"].startswith(f"#{NS}.")
        assert row["id"]
        assert row["@odata.etag"]


def test_select_appears_in_the_entity_context(client: TestClient) -> None:
    run = create_run(client)
    body = get_json(client, f"{run_url(run['id'])}?$select=status,displayName")
    assert body["@odata.context"] == (
        f"{METADATA}#external/industryData/runs(status,displayName)/$entity"
    )
    assert set(body) == {
        "@odata.context",
        "@odata.type",
        "@odata.etag",
        "id",
        "status",
        "displayName",
    }


def test_process_entity_context(client: TestClient) -> None:
    process = create_process(client)
    body = get_json(client, process_url(process["id"]))
    assert body["@odata.context"] == f"{METADATA}#external/industryData/processes/$entity"
    assert body["@odata.type"] == f"#{NS}.insightsOutgoingFlow"


@pytest.mark.parametrize("field", ["startDateTime", "endDateTime"])
def test_timestamps_are_utc_with_z_and_at_most_7_fractional_digits(
    client: TestClient, field: str
) -> None:
    run = create_run(client)
    client.patch(run_url(run["id"]), json={"status": "completed"})
    listed = get_json(client, f"{HUB}/runs")["value"][0]
    value = listed[field]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,6}[1-9])?Z", value), value
