"""Runs over HTTP: create, read, list, update, delete and the type-cast forms (SPEC §1, §3)."""

from __future__ import annotations

import re
import uuid

import pytest
from starlette.testclient import TestClient

from tests.api.steps import (
    BASE_URL,
    INCOMING,
    OUTGOING,
    RUN_GROUP,
    add_member,
    assert_error,
    count,
    create_group,
    create_process,
    create_run,
    finished_run,
    get_json,
    run_url,
)
from tests.conftest import HUB, NS

CAST_OUTGOING = f"{HUB}/runs/{NS}.outgoingFlowRun"
CAST_INCOMING = f"{HUB}/runs/{NS}.incomingFlowRun"


def test_create_returns_201_with_location_and_the_entity(client: TestClient) -> None:
    response = client.post(
        f"{HUB}/runs", json={"@odata.type": OUTGOING, "displayName": "nightly export"}
    )
    assert response.status_code == 201
    body = response.json()
    assert response.headers["Location"] == f"{BASE_URL}{HUB}/runs/{body['id']}"
    assert body["@odata.type"] == OUTGOING
    assert body["displayName"] == "nightly export"
    assert get_json(client, response.headers["Location"]) == body


def test_create_fills_the_defaults(client: TestClient) -> None:
    run = create_run(client)
    assert run["status"] == "running"
    assert run["statistics"] == {}
    assert run["endDateTime"] is None
    assert run["blockingError"] is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,7})?Z", run["startDateTime"])


def test_server_assigns_guid_ids_and_ignores_a_client_id(client: TestClient) -> None:
    first = create_run(client, id="my-own-id")
    second = create_run(client, id="my-own-id")
    for run in (first, second):
        assert str(uuid.UUID(run["id"])) == run["id"]
    assert first["id"] != second["id"]
    assert client.get(run_url("my-own-id")).status_code == 404


def test_patch_ignores_a_client_id(client: TestClient) -> None:
    run = create_run(client)
    response = client.patch(run_url(run["id"]), json={"id": str(uuid.uuid4())})
    assert response.status_code == 200
    assert response.json()["id"] == run["id"]
    assert response.json()["@odata.etag"] == run["@odata.etag"]


@pytest.mark.parametrize(
    "odata_type", [OUTGOING, f"{NS}.outgoingFlowRun", f"#{NS}.OUTGOINGflowrun"]
)
def test_odata_type_is_accepted_with_or_without_hash_in_any_case(
    client: TestClient, odata_type: str
) -> None:
    assert create_run(client, odata_type=odata_type)["@odata.type"] == OUTGOING


def test_a_run_may_be_created_already_finished(client: TestClient) -> None:
    run = finished_run(
        client,
        status="failed",
        blockingError={"code": "diskFull", "message": "no space left"},
        statistics={"recordsProcessed": 10},
    )
    assert run["status"] == "failed"
    assert run["startDateTime"] == "2026-01-01T00:00:00Z"
    assert run["endDateTime"] == "2026-01-01T01:00:00Z"
    assert run["blockingError"]["code"] == "diskFull"
    assert run["statistics"] == {"recordsProcessed": 10}


def test_get_by_key_in_both_forms(client: TestClient) -> None:
    run = create_run(client)
    for url in (
        f"{HUB}/runs/{run['id']}",
        f"{HUB}/runs('{run['id']}')",
        f"{HUB}/runs(id='{run['id']}')",
    ):
        assert get_json(client, url)["id"] == run["id"]


def test_get_unknown_id_is_item_not_found(client: TestClient) -> None:
    assert_error(client.get(run_url(str(uuid.uuid4()))), 404, "itemNotFound")
    assert_error(client.get(f"{HUB}/runs('nope')"), 404, "itemNotFound")


def test_runs_lists_every_run_type(client: TestClient) -> None:
    outgoing = create_run(client, "out", OUTGOING)
    incoming = create_run(client, "in", INCOMING)
    group = create_run(client, "group", RUN_GROUP)
    body = get_json(client, f"{HUB}/runs")
    assert {r["id"] for r in body["value"]} == {outgoing["id"], incoming["id"], group["id"]}
    types = {r["id"]: r["@odata.type"] for r in body["value"]}
    assert types[incoming["id"]] == INCOMING
    assert types[group["id"]] == RUN_GROUP


def test_type_cast_lists_only_that_type(client: TestClient) -> None:
    outgoing = create_run(client, "out", OUTGOING)
    create_run(client, "in", INCOMING)
    create_run(client, "group", RUN_GROUP)
    body = get_json(client, CAST_OUTGOING)
    assert [r["id"] for r in body["value"]] == [outgoing["id"]]
    assert body["@odata.context"].endswith(f"#external/industryData/runs/{NS}.outgoingFlowRun")


def test_type_cast_get_is_404_for_a_run_of_another_type(client: TestClient) -> None:
    incoming = create_run(client, "in", INCOMING)
    outgoing = create_run(client, "out", OUTGOING)
    body = get_json(client, f"{run_url(outgoing['id'])}/{NS}.outgoingFlowRun")
    assert body["id"] == outgoing["id"]
    assert body["@odata.context"].endswith(f"runs/{NS}.outgoingFlowRun/$entity")
    assert_error(client.get(f"{run_url(incoming['id'])}/{NS}.outgoingFlowRun"), 404, "itemNotFound")
    assert_error(client.get(f"{CAST_OUTGOING}/{incoming['id']}"), 404, "itemNotFound")


def test_post_to_a_type_cast_collection_defaults_the_type(client: TestClient) -> None:
    run = create_run(client, odata_type="", collection=CAST_INCOMING)
    assert run["@odata.type"] == INCOMING


def test_post_to_runs_needs_a_concrete_type(client: TestClient) -> None:
    missing = client.post(f"{HUB}/runs", json={"displayName": "x"})
    assert_error(missing, 400, "invalidRequest", "@odata.type")
    abstract = client.post(f"{HUB}/runs", json={"@odata.type": f"#{NS}.run", "displayName": "x"})
    assert_error(abstract, 400, "invalidRequest", "@odata.type")
    assert count(client, "runs") == 0


def test_count_of_runs_and_of_a_type_cast(client: TestClient) -> None:
    create_run(client, "a", OUTGOING)
    create_run(client, "b", OUTGOING)
    create_run(client, "c", INCOMING)
    response = client.get(f"{HUB}/runs/$count")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain;charset=utf-8"
    assert response.text == "3"
    assert client.get(f"{CAST_OUTGOING}/$count").text == "2"
    assert client.get(f"{CAST_INCOMING}/$count").text == "1"


def test_patch_returns_the_updated_entity(client: TestClient) -> None:
    run = create_run(client)
    response = client.patch(run_url(run["id"]), json={"displayName": "renamed"})
    assert response.status_code == 200
    assert response.json()["displayName"] == "renamed"
    assert response.json()["@odata.context"].endswith("#external/industryData/runs/$entity")
    assert get_json(client, run_url(run["id"]))["displayName"] == "renamed"


def test_patch_with_return_minimal_is_204(client: TestClient) -> None:
    run = create_run(client)
    response = client.patch(
        run_url(run["id"]), json={"displayName": "quiet"}, headers={"Prefer": "return=minimal"}
    )
    assert response.status_code == 204
    assert response.content == b""
    assert response.headers["Preference-Applied"] == "return=minimal"
    current = get_json(client, run_url(run["id"]))
    assert current["displayName"] == "quiet"
    assert response.headers["ETag"] == current["@odata.etag"]


def test_post_with_return_minimal_is_204_with_location(client: TestClient) -> None:
    response = client.post(
        f"{HUB}/runs",
        json={"@odata.type": OUTGOING, "displayName": "quiet"},
        headers={"Prefer": "return=minimal"},
    )
    assert response.status_code == 204
    location = response.headers["Location"]
    assert response.headers["OData-EntityId"] == location
    assert get_json(client, location)["displayName"] == "quiet"


def test_patch_of_an_unknown_run_is_404(client: TestClient) -> None:
    response = client.patch(run_url(str(uuid.uuid4())), json={"displayName": "x"})
    assert_error(response, 404, "itemNotFound")
    assert count(client, "runs") == 0


def test_patch_through_the_type_cast_form(client: TestClient) -> None:
    run = create_run(client, odata_type=INCOMING)
    response = client.patch(f"{run_url(run['id'])}/{NS}.incomingFlowRun", json={"displayName": "c"})
    assert response.status_code == 200
    wrong = client.patch(f"{run_url(run['id'])}/{NS}.outgoingFlowRun", json={"displayName": "d"})
    assert_error(wrong, 404, "itemNotFound")
    assert get_json(client, run_url(run["id"]))["displayName"] == "c"


def test_patch_cannot_change_the_type(client: TestClient) -> None:
    run = create_run(client, odata_type=INCOMING)
    response = client.patch(run_url(run["id"]), json={"@odata.type": OUTGOING, "displayName": "z"})
    assert_error(response, 400, "invalidRequest", "@odata.type")
    assert get_json(client, run_url(run["id"]))["displayName"] == "run"


def test_delete_returns_204_and_the_run_is_gone(client: TestClient) -> None:
    run = create_run(client)
    keep = create_run(client, "keep")
    response = client.delete(run_url(run["id"]))
    assert response.status_code == 204
    assert response.content == b""
    assert_error(client.get(run_url(run["id"])), 404, "itemNotFound")
    assert [r["id"] for r in get_json(client, f"{HUB}/runs")["value"]] == [keep["id"]]
    assert_error(client.delete(run_url(run["id"])), 404, "itemNotFound")


def test_delete_by_parenthesised_key(client: TestClient) -> None:
    run = create_run(client)
    assert client.delete(f"{HUB}/runs('{run['id']}')").status_code == 204
    assert count(client, "runs") == 0


def test_parenthesised_keys_work_below_navigations(client: TestClient) -> None:
    process = create_process(client)
    run = create_run(client, collection=f"{HUB}/processes('{process['id']}')/runs")
    below = get_json(client, f"{HUB}/processes('{process['id']}')/runs('{run['id']}')")
    assert below["id"] == run["id"]
    assert get_json(client, f"{HUB}/runs('{run['id']}')/process")["id"] == process["id"]
    group = create_group(client)
    assert add_member(client, group["id"], run["id"]).status_code == 204
    removed = client.delete(f"{HUB}/runGroups('{group['id']}')/runs('{run['id']}')/$ref")
    assert removed.status_code == 204
    assert count(client, f"runGroups/{group['id']}/runs") == 0
