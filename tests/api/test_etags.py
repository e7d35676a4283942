"""ETags, If-Match, If-None-Match and the heartbeat (SPEC §3, decisions 4 and 17)."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from tests.api.steps import (
    assert_error,
    assert_unchanged,
    count,
    create_process,
    create_run,
    get_json,
    process_url,
    run_url,
)

ETAG = re.compile(r'W/"[0-9a-f]{16}"')


def test_every_entity_carries_an_etag_matching_the_header(client: TestClient) -> None:
    run = create_run(client)
    response = client.get(run_url(run["id"]))
    assert ETAG.fullmatch(response.headers["ETag"])
    assert response.json()["@odata.etag"] == response.headers["ETag"]
    listed = get_json(client, "/beta/external/industryData/runs")["value"][0]
    assert listed["@odata.etag"] == response.headers["ETag"]


def test_the_etag_changes_on_every_write(client: TestClient) -> None:
    run = create_run(client)
    process = create_process(client)
    seen = {run["@odata.etag"]}
    writes = [
        ("PATCH", run_url(run["id"]), {"displayName": "one"}),
        ("PATCH", run_url(run["id"]), {"statistics": {"recordsProcessed": 1}}),
        ("PUT", f"{run_url(run['id'])}/process/$ref", {"@odata.id": process_url(process["id"])}),
        ("DELETE", f"{run_url(run['id'])}/process/$ref", None),
        ("PATCH", run_url(run["id"]), {"status": "completed"}),
    ]
    for method, url, body in writes:
        response = client.request(method, url, json=body)
        assert response.status_code in (200, 204), response.text
        etag = client.get(run_url(run["id"])).headers["ETag"]
        assert etag not in seen
        seen.add(etag)


def test_process_etag_changes_on_write(client: TestClient) -> None:
    process = create_process(client)
    patched = client.patch(process_url(process["id"]), json={"displayName": "renamed"})
    assert patched.json()["eTag"] != process["eTag"]
    assert patched.headers["ETag"] == patched.json()["eTag"]


def test_heartbeat_keeps_the_etag_and_everything_else(client: TestClient) -> None:
    run = create_run(client, statistics={"a": 1})
    response = client.patch(run_url(run["id"]), json={})
    assert response.status_code == 200
    assert response.json()["@odata.etag"] == run["@odata.etag"]
    assert_unchanged(client, run_url(run["id"]), run)


def test_patch_with_current_values_keeps_the_etag(client: TestClient) -> None:
    run = create_run(client, statistics={"a": 1})
    response = client.patch(
        run_url(run["id"]), json={"displayName": run["displayName"], "statistics": {"a": 1}}
    )
    assert response.json()["@odata.etag"] == run["@odata.etag"]
    process = create_process(client)
    again = client.patch(process_url(process["id"]), json={"displayName": process["displayName"]})
    assert again.json()["eTag"] == process["eTag"]


@pytest.mark.parametrize("form", ["weak", "bare", "list", "star"])
def test_if_match_with_the_current_etag_or_star_succeeds(client: TestClient, form: str) -> None:
    run = create_run(client)
    etag = run["@odata.etag"]
    header = {
        "weak": etag,
        "bare": etag.removeprefix("W/"),
        "list": f'W/"0000000000000000", {etag}',
        "star": "*",
    }[form]
    response = client.patch(
        run_url(run["id"]), json={"displayName": "x"}, headers={"If-Match": header}
    )
    assert response.status_code == 200, response.text


def test_if_match_mismatch_is_412_and_changes_nothing(client: TestClient) -> None:
    run = create_run(client)
    stale = run["@odata.etag"]
    fresh = client.patch(run_url(run["id"]), json={"displayName": "newer"}).json()
    headers = {"If-Match": stale}
    response = client.patch(run_url(run["id"]), json={"displayName": "lost"}, headers=headers)
    assert_error(response, 412, "resourceModified")
    assert_error(client.delete(run_url(run["id"]), headers=headers), 412, "resourceModified")
    assert_unchanged(client, run_url(run["id"]), fresh)


def test_if_match_on_process_delete_and_patch(client: TestClient) -> None:
    process = create_process(client)
    headers = {"If-Match": 'W/"0000000000000000"'}
    url = process_url(process["id"])
    assert_error(
        client.patch(url, json={"displayName": "x"}, headers=headers), 412, "resourceModified"
    )
    assert_error(client.delete(url, headers=headers), 412, "resourceModified")
    assert_unchanged(client, url, process)
    assert client.delete(url, headers={"If-Match": process["eTag"]}).status_code == 204
    assert count(client, "processes") == 0


def test_if_match_star_on_a_missing_entity_is_404(client: TestClient) -> None:
    response = client.patch(
        run_url("00000000-0000-0000-0000-000000000000"),
        json={"displayName": "x"},
        headers={"If-Match": "*"},
    )
    assert_error(response, 404, "itemNotFound")


def test_if_none_match_gives_304_while_unchanged(client: TestClient) -> None:
    run = create_run(client)
    url = run_url(run["id"])
    not_modified = client.get(url, headers={"If-None-Match": run["@odata.etag"]})
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified.headers["ETag"] == run["@odata.etag"]
    client.patch(url, json={"displayName": "changed"})
    modified = client.get(url, headers={"If-None-Match": run["@odata.etag"]})
    assert modified.status_code == 200
    assert modified.json()["displayName"] == "changed"


def test_if_none_match_on_a_process(client: TestClient) -> None:
    process = create_process(client)
    response = client.get(process_url(process["id"]), headers={"If-None-Match": process["eTag"]})
    assert response.status_code == 304
