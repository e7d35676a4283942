"""Processes: CRUD, their runs, and what deleting one does (SPEC §1, §3)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.api.steps import (
    BASE_URL,
    DATA_SHARE,
    INCOMING,
    INSIGHTS,
    OUTGOING,
    add_member,
    assert_error,
    assert_unchanged,
    count,
    create_group,
    create_process,
    create_run,
    finished_run,
    get_json,
    process_url,
    run_url,
)
from tests.conftest import HUB, NS


def test_create_a_process(client: TestClient) -> None:
    response = client.post(
        f"{HUB}/processes",
        json={
            "@odata.type": DATA_SHARE,
            "displayName": "share with partner",
            "shareName": "orders",
            "inviteeUserIds": ["u1", "u2"],
            "sharingState": "pending",
            "readinessStatus": "ready",
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["Location"] == f"{BASE_URL}{process_url(body['id'])}"
    assert body["@odata.context"].endswith("#external/industryData/processes/$entity")
    assert body["@odata.type"] == DATA_SHARE
    assert body["shareName"] == "orders"
    assert body["inviteeUserIds"] == ["u1", "u2"]
    assert body["sharingState"] == "pending"
    assert body["readinessStatus"] == "ready"
    assert str(uuid.UUID(body["id"])) == body["id"]
    assert get_json(client, process_url(body["id"])) == body


def test_process_etag_property_equals_the_etag_header_and_annotation(client: TestClient) -> None:
    process = create_process(client)
    response = client.get(process_url(process["id"]))
    assert response.json()["eTag"] == response.json()["@odata.etag"] == response.headers["ETag"]


@pytest.mark.parametrize("odata_type", [None, f"#{NS}.process", f"#{NS}.outgoingFlow", OUTGOING])
def test_process_create_needs_a_concrete_process_type(
    client: TestClient, odata_type: str | None
) -> None:
    body: dict[str, str] = {"displayName": "p"}
    if odata_type is not None:
        body["@odata.type"] = odata_type
    assert_error(client.post(f"{HUB}/processes", json=body), 400, "invalidRequest", "@odata.type")
    assert count(client, "processes") == 0


def test_process_create_validates_properties(client: TestClient) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "displayName"),
        ({"displayName": ""}, "displayName"),
        ({"displayName": "p", "readinessStatus": "unknownFutureValue"}, "readinessStatus"),
        ({"displayName": "p", "readinessStatus": "sleepy"}, "readinessStatus"),
        ({"displayName": "p", "shareName": 5}, "shareName"),
        ({"displayName": "p", "inviteeUserIds": "u1"}, "inviteeUserIds"),
        ({"displayName": "p", "inviteeUserIds": ["u1", 2]}, "inviteeUserIds[1]"),
        ({"displayName": "p", "eTag": 'W/"0"'}, "eTag"),
        ({"displayName": "p", "runs": []}, "runs"),
    ]
    for extra, target in cases:
        response = client.post(f"{HUB}/processes", json={"@odata.type": DATA_SHARE, **extra})
        assert_error(response, 400, "invalidRequest", target)
    assert count(client, "processes") == 0


def test_derived_properties_only_on_their_type(client: TestClient) -> None:
    response = client.post(
        f"{HUB}/processes",
        json={"@odata.type": INSIGHTS, "displayName": "p", "shareName": "x"},
    )
    assert_error(response, 400, "invalidRequest", "shareName")
    assert count(client, "processes") == 0


def test_a_collection_property_is_never_null(client: TestClient) -> None:
    """OData: a collection holds no value as an empty collection, never as null."""
    created = create_process(client, odata_type=DATA_SHARE)
    assert created["inviteeUserIds"] == []
    url = process_url(created["id"])
    assert get_json(client, url)["inviteeUserIds"] == []
    cast = f"{HUB}/processes/{NS}.dataShareOutgoingFlow"
    assert [p["inviteeUserIds"] for p in get_json(client, cast)["value"]] == [[]]
    nulled = client.post(
        f"{HUB}/processes",
        json={"@odata.type": DATA_SHARE, "displayName": "p", "inviteeUserIds": None},
    )
    assert_error(nulled, 400, "invalidRequest", "inviteeUserIds")
    before = get_json(client, url)
    assert_error(client.patch(url, json={"inviteeUserIds": None}), 400, "invalidRequest")
    assert count(client, "processes") == 1
    assert_unchanged(client, url, before)


def test_list_processes_by_display_name_with_every_type(client: TestClient) -> None:
    create_process(client, "b insights", INSIGHTS)
    create_process(client, "a share", DATA_SHARE)
    create_process(client, "c share", DATA_SHARE)
    body = get_json(client, f"{HUB}/processes")
    assert body["@odata.context"].endswith("#external/industryData/processes")
    assert [p["displayName"] for p in body["value"]] == ["a share", "b insights", "c share"]
    assert [p["@odata.type"] for p in body["value"]] == [DATA_SHARE, INSIGHTS, DATA_SHARE]
    assert count(client, "processes") == 3


def test_type_cast_list_of_processes(client: TestClient) -> None:
    create_process(client, "insights", INSIGHTS)
    share = create_process(client, "share", DATA_SHARE)
    cast = f"{HUB}/processes/{NS}.dataShareOutgoingFlow"
    body = get_json(client, cast)
    assert [p["id"] for p in body["value"]] == [share["id"]]
    assert client.get(f"{cast}/$count").text == "1"
    assert len(get_json(client, f"{HUB}/processes/{NS}.outgoingFlow")["value"]) == 2


def test_patch_a_process(client: TestClient) -> None:
    process = create_process(client, "old", DATA_SHARE, shareName="s")
    response = client.patch(
        process_url(process["id"]), json={"displayName": "new", "sharingState": "running"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["displayName"] == "new"
    assert body["sharingState"] == "running"
    assert body["shareName"] == "s"
    assert body["eTag"] != process["eTag"]
    assert get_json(client, process_url(process["id"])) == body


def test_patch_a_process_rejects_bad_values_and_changes_nothing(client: TestClient) -> None:
    process = create_process(client, "p", DATA_SHARE)
    for body, target in [
        ({"displayName": ""}, "displayName"),
        ({"eTag": 'W/"x"'}, "eTag"),
        ({"sharingState": "broken"}, "sharingState"),
        ({"status": "running"}, "status"),
        ({"@odata.type": INSIGHTS}, "@odata.type"),
    ]:
        response = client.patch(process_url(process["id"]), json=body)
        assert_error(response, 400, "invalidRequest", target)
    assert_unchanged(client, process_url(process["id"]), process)


def test_patch_process_ignores_unknown_future_value(client: TestClient) -> None:
    process = create_process(client, readinessStatus="ready")
    response = client.patch(
        process_url(process["id"]), json={"readinessStatus": "unknownFutureValue"}
    )
    assert response.status_code == 200
    assert get_json(client, process_url(process["id"]))["readinessStatus"] == "ready"


def test_delete_a_process_deletes_its_runs_but_not_others(client: TestClient) -> None:
    process = create_process(client)
    other = create_process(client, "other")
    runs_url = f"{process_url(process['id'])}/runs"
    finished = finished_run(client, collection=runs_url)
    unrelated = create_run(client, "unrelated", collection=f"{process_url(other['id'])}/runs")
    loose = create_run(client, "loose")
    assert client.delete(process_url(process["id"])).status_code == 204
    assert_error(client.get(process_url(process["id"])), 404, "itemNotFound")
    assert_error(client.get(run_url(finished["id"])), 404, "itemNotFound")
    remaining = {r["id"] for r in get_json(client, f"{HUB}/runs")["value"]}
    assert remaining == {unrelated["id"], loose["id"]}


def test_delete_a_process_with_a_running_run_is_a_conflict(client: TestClient) -> None:
    process = create_process(client)
    running = create_run(client, collection=f"{process_url(process['id'])}/runs")
    assert_error(client.delete(process_url(process["id"])), 409, "conflict")
    assert_unchanged(client, process_url(process["id"]), process)
    assert get_json(client, run_url(running["id"]))["status"] == "running"


def test_prefer_cascade_running_deletes_running_runs_too(client: TestClient) -> None:
    process = create_process(client)
    running = create_run(client, collection=f"{process_url(process['id'])}/runs")
    response = client.delete(process_url(process["id"]), headers={"Prefer": "cascade-running"})
    assert response.status_code == 204
    assert_error(client.get(run_url(running["id"])), 404, "itemNotFound")
    assert count(client, "processes") == 0


def test_deleting_a_run_leaves_its_process(client: TestClient) -> None:
    process = create_process(client)
    run = create_run(client, collection=f"{process_url(process['id'])}/runs")
    assert client.delete(run_url(run["id"])).status_code == 204
    assert_unchanged(client, process_url(process["id"]), process)
    assert count(client, f"processes/{process['id']}/runs") == 0


def test_delete_unknown_process_is_404(client: TestClient) -> None:
    assert_error(client.delete(process_url(str(uuid.uuid4()))), 404, "itemNotFound")


# -- processes/{id}/runs ---------------------------------------------------------------------


def test_post_to_a_process_runs_links_and_defaults_to_outgoing_flow_run(
    client: TestClient,
) -> None:
    for process_type in (INSIGHTS, DATA_SHARE):
        process = create_process(client, odata_type=process_type)
        runs_url = f"{process_url(process['id'])}/runs"
        response = client.post(runs_url, json={"displayName": "linked"})
        assert response.status_code == 201, response.text
        run = response.json()
        assert run["@odata.type"] == OUTGOING
        assert response.headers["Location"] == f"{BASE_URL}{run_url(run['id'])}"
        assert get_json(client, f"{run_url(run['id'])}/process")["id"] == process["id"]


def test_post_to_a_process_runs_accepts_an_explicit_run_type(client: TestClient) -> None:
    process = create_process(client)
    run = create_run(client, odata_type=INCOMING, collection=f"{process_url(process['id'])}/runs")
    assert run["@odata.type"] == INCOMING


def test_process_runs_are_newest_first_and_only_its_own(client: TestClient) -> None:
    process = create_process(client)
    runs_url = f"{process_url(process['id'])}/runs"
    for day in ("02", "03", "01"):
        create_run(
            client, f"day {day}", collection=runs_url, startDateTime=f"2026-01-{day}T00:00:00Z"
        )
    create_run(client, "not mine", startDateTime="2026-01-04T00:00:00Z")
    body = get_json(client, runs_url)
    assert [r["displayName"] for r in body["value"]] == ["day 03", "day 02", "day 01"]
    assert body["@odata.context"].endswith(
        f"#external/industryData/processes('{process['id']}')/runs"
    )
    assert count(client, f"processes/{process['id']}/runs") == 3


def test_runs_of_an_unknown_process_are_404(client: TestClient) -> None:
    missing = f"{process_url(str(uuid.uuid4()))}/runs"
    assert_error(client.get(missing), 404, "itemNotFound")
    assert_error(client.get(f"{missing}/$count"), 404, "itemNotFound")
    assert_error(client.post(missing, json={"displayName": "x"}), 404, "itemNotFound")
    assert count(client, "runs") == 0


def test_a_run_of_a_process_by_key_below_it(client: TestClient) -> None:
    process = create_process(client)
    runs_url = f"{process_url(process['id'])}/runs"
    mine = create_run(client, collection=runs_url)
    other = create_run(client)
    assert get_json(client, f"{runs_url}/{mine['id']}")["id"] == mine["id"]
    assert_error(client.get(f"{runs_url}/{other['id']}"), 404, "itemNotFound")


def test_patch_a_derived_property_of_another_type_is_400(client: TestClient) -> None:
    process = create_process(client, "insights", INSIGHTS)
    response = client.patch(process_url(process["id"]), json={"shareName": "x"})
    assert_error(response, 400, "invalidRequest", "shareName")
    assert_unchanged(client, process_url(process["id"]), process)


def test_patch_through_the_type_cast_form(client: TestClient) -> None:
    process = create_process(client, "share", DATA_SHARE)
    url = f"{process_url(process['id'])}/{NS}.dataShareOutgoingFlow"
    response = client.patch(url, json={"shareName": "orders"})
    assert response.status_code == 200, response.text
    assert response.json()["@odata.context"].endswith(
        f"processes/{NS}.dataShareOutgoingFlow/$entity"
    )
    assert get_json(client, process_url(process["id"]))["shareName"] == "orders"


def test_deleting_a_process_removes_its_runs_from_run_groups(client: TestClient) -> None:
    process = create_process(client)
    run = finished_run(client, collection=f"{process_url(process['id'])}/runs")
    group = create_group(client)
    assert add_member(client, group["id"], run["id"]).status_code == 204
    assert client.delete(process_url(process["id"])).status_code == 204
    assert get_json(client, f"{HUB}/runGroups/{group['id']}")["id"] == group["id"]
    assert count(client, f"runGroups/{group['id']}/runs") == 0
