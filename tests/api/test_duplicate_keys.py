"""A request body naming one member twice in an object is refused (400), as a strict JSON reader
would, at any depth; nothing is written. Without this the last value silently won."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.api.steps import (
    BASE_URL,
    INCOMING,
    INSIGHTS,
    OUTGOING,
    assert_error,
    count,
    create_group,
    create_process,
    create_run,
    get_json,
    run_url,
)
from tests.conftest import HUB

JSON = {"Content-Type": "application/json"}

CREATES = {
    "displayName twice": f'{{"@odata.type": "{OUTGOING}", "displayName": "a", "displayName": "b"}}',
    "@odata.type twice": (
        f'{{"@odata.type": "{OUTGOING}", "@odata.type": "{INCOMING}", "displayName": "a"}}'
    ),
    "a statistics member twice": (
        f'{{"@odata.type": "{OUTGOING}", "displayName": "a",'
        ' "statistics": {"recordsFailed": 0, "recordsFailed": 9}}'
    ),
    "a member twice deep inside statistics": (
        f'{{"@odata.type": "{OUTGOING}", "displayName": "a",'
        ' "statistics": {"errors": [{"code": "x", "code": "y"}]}}'
    ),
    "twice, once written with an escape": (
        f'{{"@odata.type": "{OUTGOING}", "displayName": "a", "display\\u004eame": "b"}}'
    ),
    "blockingError twice": (
        f'{{"@odata.type": "{OUTGOING}", "displayName": "a", "status": "failed",'
        ' "blockingError": {"code": "a", "message": "m", "code": "b"}}'
    ),
}


@pytest.mark.parametrize("body", list(CREATES.values()), ids=list(CREATES))
def test_a_create_naming_a_member_twice_is_refused(client: TestClient, body: str) -> None:
    before = count(client, "runs")
    response = client.post(f"{HUB}/runs", content=body, headers=JSON)
    error = assert_error(response, 400, "invalidRequest")
    assert "twice" in error["message"]
    assert count(client, "runs") == before


def test_a_patch_naming_a_member_twice_changes_nothing(client: TestClient) -> None:
    run = create_run(client, "kept", statistics={"recordsFailed": 1})
    for body in (
        '{"displayName": "a", "displayName": "b"}',
        '{"statistics": {"recordsFailed": 2, "recordsFailed": 3}}',
        '{"statistics": {"nested": {"a": 1, "a": 2}}}',
    ):
        response = client.patch(run_url(run["id"]), content=body, headers=JSON)
        assert_error(response, 400, "invalidRequest")
    after = get_json(client, run_url(run["id"]))
    assert (after["displayName"], after["@odata.etag"]) == ("kept", run["@odata.etag"])
    assert after["statistics"] == {"recordsFailed": 1}


def test_every_body_the_service_reads_refuses_a_member_twice(client: TestClient) -> None:
    process = create_process(client)
    run = create_run(client)
    group = create_group(client)
    process_ref = f"{BASE_URL}{HUB}/processes/{process['id']}"
    run_ref = f"{BASE_URL}{run_url(run['id'])}"
    members = f"{HUB}/runGroups/{group['id']}/runs/$ref"
    cases = [
        (
            f"{HUB}/processes",
            f'{{"@odata.type": "{INSIGHTS}", "displayName": "a", "displayName": "b"}}',
        ),
        (f"{run_url(run['id'])}/process/$ref", f'{{"@odata.id": "{process_ref}", "@odata.id": 1}}'),
        (members, f'{{"@odata.id": "{run_ref}", "@odata.id": 2}}'),
    ]
    for url, body in cases:
        assert_error(client.post(url, content=body, headers=JSON), 400, "invalidRequest")
    assert count(client, "processes") == 1
    assert client.get(f"{run_url(run['id'])}/process").status_code == 404
    assert get_json(client, members.removesuffix("/$ref"))["value"] == []


def test_members_that_differ_only_in_case_are_not_duplicates(client: TestClient) -> None:
    body = (
        f'{{"@odata.type": "{OUTGOING}", "displayName": "a",'
        ' "statistics": {"rows": 1, "Rows": 2, "nested": [{"a": 1}, {"a": 2}]}}'
    )
    response = client.post(f"{HUB}/runs", content=body, headers=JSON)
    assert response.status_code == 201, response.text
    assert response.json()["statistics"] == {"rows": 1, "Rows": 2, "nested": [{"a": 1}, {"a": 2}]}


def test_a_body_nested_as_deep_as_json_allows_is_a_400(client: TestClient) -> None:
    # orjson reads up to 1024 levels; the duplicate check reads the same body again.
    depth = 1020
    body = f'{{"@odata.type": "{OUTGOING}", "displayName": "a", "statistics": {{"x": '
    body += "[" * depth + "]" * depth + "}}"
    before = count(client, "runs")
    assert_error(client.post(f"{HUB}/runs", content=body, headers=JSON), 400, "invalidRequest")
    assert count(client, "runs") == before
