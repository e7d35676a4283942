"""The statistics convention the server enforces: ``errors`` and ``warnings`` hold at most 20
entries each (SPEC §3), on create and after a PATCH's merge; the entries themselves stay free."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from flowruns.edm.industrydata import STATISTICS_MAX_PROBLEMS
from tests.api.steps import OUTGOING, assert_error, count, create_run, get_json, run_url
from tests.conftest import HUB


def _entries(n: int) -> list[dict[str, Any]]:
    return [{"code": "rowRejected", "message": f"row {i}", "target": f"rows/{i}"} for i in range(n)]


@pytest.mark.parametrize("member", ["errors", "warnings"])
def test_a_create_with_more_than_twenty_entries_is_refused(client: TestClient, member: str) -> None:
    before = count(client, "runs")
    body = {"@odata.type": OUTGOING, "displayName": "a", "statistics": {member: _entries(21)}}
    error = assert_error(client.post(f"{HUB}/runs", json=body), 400, "invalidRequest")
    assert error["target"] == f"statistics/{member}"
    assert "20" in error["message"]
    assert count(client, "runs") == before
    body["statistics"] = {member: _entries(STATISTICS_MAX_PROBLEMS)}
    assert client.post(f"{HUB}/runs", json=body).status_code == 201


@pytest.mark.parametrize("member", ["errors", "warnings"])
def test_a_patch_leaving_more_than_twenty_entries_is_refused(
    client: TestClient, member: str
) -> None:
    run = create_run(client, statistics={member: _entries(20), "recordsFailed": 20})
    patch = {"statistics": {member: _entries(21), "recordsFailed": 21}}
    error = assert_error(client.patch(run_url(run["id"]), json=patch), 400, "invalidRequest")
    assert error["target"] == f"statistics/{member}"
    after = get_json(client, run_url(run["id"]))
    assert after["statistics"] == run["statistics"]
    assert after["@odata.etag"] == run["@odata.etag"]
    # Other members still merge beside a full list.
    merged = client.patch(run_url(run["id"]), json={"statistics": {"recordsFailed": 21}})
    assert merged.status_code == 200, merged.text
    assert len(merged.json()["statistics"][member]) == 20


def test_only_the_count_is_enforced_not_the_entries_shape(client: TestClient) -> None:
    free = ["a plain string", 7, {"code": "x", "extra": {"rows": [1, 2]}}, None]
    run = create_run(client, statistics={"errors": free, "warnings": "not a list at all"})
    assert run["statistics"]["errors"] == free
    assert run["statistics"]["warnings"] == "not a list at all"
    nested = {"errors": {"errors": _entries(25)}}  # the limit is on the top-level members only
    assert create_run(client, statistics=nested)["statistics"] == nested
