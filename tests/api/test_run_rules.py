"""The invariants and lifecycle of runs, enforced on every write (SPEC §3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest
from starlette.testclient import TestClient

from tests.api.steps import (
    OUTGOING,
    assert_error,
    assert_unchanged,
    count,
    create_run,
    finished_run,
    get_json,
    run_url,
)
from tests.conftest import HUB

FINISHED = ["completed", "completedWithErrors", "completedWithWarnings", "failed"]


def _post(client: TestClient, **body: Any) -> httpx2.Response:
    return client.post(f"{HUB}/runs", json={"@odata.type": OUTGOING, **body})


# -- displayName -----------------------------------------------------------------------------


def test_display_name_is_required(client: TestClient) -> None:
    assert_error(_post(client), 400, "invalidRequest", "displayName")
    assert count(client, "runs") == 0


@pytest.mark.parametrize("name", ["", "x" * 257, None, 7])
def test_display_name_must_be_1_to_256_characters(client: TestClient, name: object) -> None:
    assert_error(_post(client, displayName=name), 400, "invalidRequest", "displayName")
    assert count(client, "runs") == 0


def test_display_name_of_1_and_256_characters_is_accepted(client: TestClient) -> None:
    assert create_run(client, "x")["displayName"] == "x"
    assert create_run(client, "é" * 256)["displayName"] == "é" * 256


def test_patch_cannot_empty_the_display_name(client: TestClient) -> None:
    run = create_run(client, "keep me")
    for value in ("", None, "y" * 257):
        response = client.patch(run_url(run["id"]), json={"displayName": value})
        assert_error(response, 400, "invalidRequest", "displayName")
    assert get_json(client, run_url(run["id"]))["displayName"] == "keep me"


# -- start and end ---------------------------------------------------------------------------


def test_end_must_be_null_while_running(client: TestClient) -> None:
    response = _post(client, displayName="r", endDateTime="2026-01-01T00:00:00Z")
    assert_error(response, 400, "invalidRequest", "endDateTime")
    assert count(client, "runs") == 0
    run = create_run(client, startDateTime="2026-01-01T00:00:00Z")
    patched = client.patch(run_url(run["id"]), json={"endDateTime": "2026-01-01T01:00:00Z"})
    assert_error(patched, 400, "invalidRequest", "endDateTime")
    assert_unchanged(client, run_url(run["id"]), run)


@pytest.mark.parametrize("status", FINISHED)
def test_finishing_without_an_end_sets_it_to_now(client: TestClient, status: str) -> None:
    run = create_run(client)
    before = datetime.now(UTC) - timedelta(seconds=1)
    body: dict[str, Any] = {"status": status}
    if status == "failed":
        body["blockingError"] = {"code": "boom", "message": "it broke"}
    response = client.patch(run_url(run["id"]), json=body)
    assert response.status_code == 200, response.text
    end = datetime.fromisoformat(response.json()["endDateTime"])
    assert before <= end <= datetime.now(UTC) + timedelta(seconds=1)
    assert end >= datetime.fromisoformat(run["startDateTime"])


def test_creating_a_finished_run_without_an_end_sets_it_to_now(client: TestClient) -> None:
    run = create_run(client, status="completed", startDateTime="2026-01-01T00:00:00Z")
    assert run["status"] == "completed"
    end = datetime.fromisoformat(run["endDateTime"])
    assert abs(end - datetime.now(UTC)) < timedelta(minutes=5)


def test_finishing_with_a_given_end_keeps_it(client: TestClient) -> None:
    run = create_run(client, startDateTime="2026-01-01T00:00:00Z")
    response = client.patch(
        run_url(run["id"]), json={"status": "completed", "endDateTime": "2026-01-01T02:00:00Z"}
    )
    assert response.json()["endDateTime"] == "2026-01-01T02:00:00Z"


def test_finishing_a_run_that_starts_in_the_future_needs_an_end(client: TestClient) -> None:
    run = create_run(client, startDateTime="2999-01-01T00:00:00Z")
    response = client.patch(run_url(run["id"]), json={"status": "completed"})
    assert_error(response, 400, "invalidRequest", "endDateTime")
    assert get_json(client, run_url(run["id"]))["status"] == "running"


def test_end_must_not_be_before_start(client: TestClient) -> None:
    response = _post(
        client,
        displayName="r",
        status="completed",
        startDateTime="2026-01-02T00:00:00Z",
        endDateTime="2026-01-01T00:00:00Z",
    )
    assert_error(response, 400, "invalidRequest", "endDateTime")
    assert count(client, "runs") == 0
    run = create_run(client, startDateTime="2026-01-02T00:00:00Z")
    patched = client.patch(
        run_url(run["id"]), json={"status": "completed", "endDateTime": "2026-01-01T23:59:59Z"}
    )
    assert_error(patched, 400, "invalidRequest", "endDateTime")
    assert get_json(client, run_url(run["id"]))["status"] == "running"


def test_end_equal_to_start_is_accepted(client: TestClient) -> None:
    run = finished_run(client, start="2026-01-01T00:00:00Z", end="2026-01-01T00:00:00Z")
    assert run["endDateTime"] == run["startDateTime"]


def test_start_may_change_while_running(client: TestClient) -> None:
    run = create_run(client)
    response = client.patch(run_url(run["id"]), json={"startDateTime": "2026-03-01T00:00:00Z"})
    assert response.json()["startDateTime"] == "2026-03-01T00:00:00Z"


# -- blockingError ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["running", "completed", "completedWithErrors"])
def test_blocking_error_only_when_failed_on_create(client: TestClient, status: str) -> None:
    body: dict[str, Any] = {"displayName": "r", "status": status, "blockingError": {"code": "x"}}
    if status != "running":
        body |= {"startDateTime": "2026-01-01T00:00:00Z", "endDateTime": "2026-01-01T01:00:00Z"}
    assert_error(_post(client, **body), 400, "invalidRequest", "blockingError")
    assert count(client, "runs") == 0


def test_blocking_error_only_when_failed_on_patch(client: TestClient) -> None:
    run = create_run(client)
    response = client.patch(run_url(run["id"]), json={"blockingError": {"code": "x"}})
    assert_error(response, 400, "invalidRequest", "blockingError")
    response = client.patch(
        run_url(run["id"]), json={"status": "completed", "blockingError": {"code": "x"}}
    )
    assert_error(response, 400, "invalidRequest", "blockingError")
    current = get_json(client, run_url(run["id"]))
    assert current["status"] == "running"
    assert current["blockingError"] is None


def test_failing_with_a_blocking_error(client: TestClient) -> None:
    run = create_run(client)
    error = {
        "code": "sourceUnavailable",
        "message": "the source did not answer",
        "target": "source",
        "details": [{"code": "timeout", "message": "after 30 s", "target": "source"}],
        "innerError": {"code": "socket", "message": "reset", "target": "tcp"},
    }
    response = client.patch(run_url(run["id"]), json={"status": "failed", "blockingError": error})
    assert response.status_code == 200, response.text
    stored = get_json(client, run_url(run["id"]))["blockingError"]
    assert stored == error


# -- unknownFutureValue ----------------------------------------------------------------------


def test_unknown_future_value_is_rejected_on_create(client: TestClient) -> None:
    response = _post(client, displayName="r", status="unknownFutureValue")
    assert_error(response, 400, "invalidRequest", "status")
    assert count(client, "runs") == 0


def test_unknown_future_value_is_ignored_on_patch(client: TestClient) -> None:
    run = create_run(client)
    response = client.patch(
        run_url(run["id"]), json={"status": "unknownFutureValue", "displayName": "still"}
    )
    assert response.status_code == 200, response.text
    current = get_json(client, run_url(run["id"]))
    assert current["status"] == "running"
    assert current["displayName"] == "still"


def test_unknown_status_name_is_rejected(client: TestClient) -> None:
    assert_error(_post(client, displayName="r", status="done"), 400, "invalidRequest", "status")
    run = create_run(client)
    patched = client.patch(run_url(run["id"]), json={"status": "Completed"})
    assert_error(patched, 400, "invalidRequest", "status")
    assert get_json(client, run_url(run["id"]))["status"] == "running"


# -- finished is final -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"status": "running", "endDateTime": None},
        {"status": "failed", "blockingError": {"code": "late"}},
        {"status": "completedWithErrors"},
        {"startDateTime": "2025-12-31T00:00:00Z"},
        {"endDateTime": "2026-01-01T03:00:00Z"},
    ],
)
def test_finished_run_times_and_status_cannot_change(
    client: TestClient, change: dict[str, Any]
) -> None:
    run = finished_run(client)
    response = client.patch(run_url(run["id"]), json=change)
    assert_error(response, 409, "conflict")
    assert_unchanged(client, run_url(run["id"]), run)


def test_finished_conflict_names_the_property(client: TestClient) -> None:
    run = finished_run(client)
    response = client.patch(run_url(run["id"]), json={"startDateTime": "2025-01-01T00:00:00Z"})
    assert_error(response, 409, "conflict", "startDateTime")


def test_finished_run_still_takes_name_and_statistics(client: TestClient) -> None:
    run = finished_run(client, statistics={"recordsProcessed": 5})
    response = client.patch(
        run_url(run["id"]),
        json={"displayName": "renamed", "statistics": {"note": "checked"}},
    )
    assert response.status_code == 200, response.text
    current = get_json(client, run_url(run["id"]))
    assert current["displayName"] == "renamed"
    assert current["statistics"] == {"recordsProcessed": 5, "note": "checked"}
    assert current["status"] == "completed"


def test_finished_run_accepts_its_own_unchanged_values(client: TestClient) -> None:
    run = finished_run(client)
    same = {k: run[k] for k in ("status", "startDateTime", "endDateTime")}
    response = client.patch(run_url(run["id"]), json=same)
    assert response.status_code == 200, response.text
    assert response.json()["@odata.etag"] == run["@odata.etag"]


# -- statistics ------------------------------------------------------------------------------


def test_statistics_patch_is_a_json_merge_patch(client: TestClient) -> None:
    run = create_run(
        client,
        statistics={
            "recordsProcessed": 10,
            "recordsFailed": 1,
            "source": {"table": "orders", "shard": 3},
            "warnings": [{"code": "a"}],
        },
    )
    response = client.patch(
        run_url(run["id"]),
        json={
            "statistics": {
                "recordsProcessed": 20,
                "recordsFailed": None,
                "source": {"shard": None, "region": "eu"},
                "warnings": [{"code": "b"}],
                "errorCount": 0,
            }
        },
    )
    assert response.status_code == 200, response.text
    assert get_json(client, run_url(run["id"]))["statistics"] == {
        "recordsProcessed": 20,
        "source": {"table": "orders", "region": "eu"},
        "warnings": [{"code": "b"}],
        "errorCount": 0,
    }


def test_removing_a_missing_statistics_key_changes_nothing(client: TestClient) -> None:
    run = create_run(client, statistics={"a": 1})
    response = client.patch(run_url(run["id"]), json={"statistics": {"b": None}})
    assert response.status_code == 200
    assert response.json()["statistics"] == {"a": 1}
    assert response.json()["@odata.etag"] == run["@odata.etag"]


@pytest.mark.parametrize("value", [None, [], "text", 3])
def test_statistics_must_be_an_object(client: TestClient, value: object) -> None:
    response = _post(client, displayName="r", statistics=value)
    assert_error(response, 400, "invalidRequest", "statistics")
    assert count(client, "runs") == 0


def _nested(levels: int) -> dict[str, Any]:
    """An object whose objects nest ``levels`` deep, counting itself."""
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(levels - 1):
        value = {"next": value}
    return value


def test_statistics_nest_at_most_8_levels(client: TestClient) -> None:
    assert create_run(client, statistics=_nested(8))["statistics"] == _nested(8)
    response = _post(client, displayName="deep", statistics=_nested(9))
    assert_error(response, 400, "invalidRequest", "statistics")
    assert count(client, "runs") == 1


def test_statistics_depth_limit_applies_to_the_merged_result(client: TestClient) -> None:
    run = create_run(client, statistics=_nested(8))
    deeper: dict[str, Any] = {"extra": {"a": {"b": 1}}}
    for _ in range(7):
        deeper = {"next": deeper}
    response = client.patch(run_url(run["id"]), json={"statistics": deeper})
    assert_error(response, 400, "invalidRequest", "statistics")
    assert get_json(client, run_url(run["id"]))["statistics"] == _nested(8)


def test_statistics_are_at_most_64_kib_serialized(client: TestClient) -> None:
    limit = 64 * 1024
    overhead = len('{"x":""}')
    fits = create_run(client, statistics={"x": "a" * (limit - overhead)})
    assert len(fits["statistics"]["x"]) == limit - overhead
    too_big = _post(client, displayName="big", statistics={"x": "a" * (limit - overhead + 1)})
    assert_error(too_big, 400, "invalidRequest", "statistics")
    assert count(client, "runs") == 1


def test_statistics_size_limit_applies_to_the_merged_result(client: TestClient) -> None:
    half = "a" * (40 * 1024)
    run = create_run(client, statistics={"first": half})
    response = client.patch(run_url(run["id"]), json={"statistics": {"second": half}})
    assert_error(response, 400, "invalidRequest", "statistics")
    assert get_json(client, run_url(run["id"]))["statistics"] == {"first": half}


def test_statistics_numbers_must_be_finite(client: TestClient) -> None:
    response = client.post(
        f"{HUB}/runs",
        content=b'{"@odata.type": "#microsoft.graph.industryData.outgoingFlowRun",'
        b' "displayName": "r", "statistics": {"x": 1e400}}',
        headers={"Content-Type": "application/json"},
    )
    assert_error(response, 400, "invalidRequest")
    assert count(client, "runs") == 0


# -- timestamps ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("2026-03-01T10:00:00+02:00", "2026-03-01T08:00:00Z"),
        ("2026-03-01T10:00:00-05:30", "2026-03-01T15:30:00Z"),
        ("2026-03-01T00:30:00+01:00", "2026-02-28T23:30:00Z"),
        ("2026-03-01T10:00:00.1234567Z", "2026-03-01T10:00:00.1234567Z"),
        ("2026-03-01T10:00:00.5000000Z", "2026-03-01T10:00:00.5Z"),
        ("2026-03-01T10:00:00.0000001+00:00", "2026-03-01T10:00:00.0000001Z"),
        ("2026-03-01t10:00:00z", "2026-03-01T10:00:00Z"),
        ("0999-03-01T10:00:00Z", "0999-03-01T10:00:00Z"),
    ],
)
def test_timestamps_accept_any_offset_and_are_returned_in_utc(
    client: TestClient, given: str, stored: str
) -> None:
    run = create_run(client, startDateTime=given)
    assert run["startDateTime"] == stored
    assert get_json(client, run_url(run["id"]))["startDateTime"] == stored


@pytest.mark.parametrize(
    "value",
    [
        "2026-03-01T10:00:00",
        "2026-03-01",
        "2026-03-01T10:00:00.12345678Z",
        "2026-02-30T10:00:00Z",
        "yesterday",
        "2026-03-01T10:00:00+25:00",
        1767225600,
    ],
)
def test_timestamps_without_offset_or_malformed_are_rejected(
    client: TestClient, value: object
) -> None:
    assert_error(_post(client, displayName="r", startDateTime=value), 400, "invalidRequest")
    run = create_run(client, startDateTime="2026-01-01T00:00:00Z")
    patched = client.patch(run_url(run["id"]), json={"startDateTime": value})
    assert_error(patched, 400, "invalidRequest", "startDateTime")
    assert get_json(client, run_url(run["id"]))["startDateTime"] == "2026-01-01T00:00:00Z"
    assert count(client, "runs") == 1


@pytest.mark.parametrize(
    ("field", "value", "target"),
    [
        ("displayName", "bad\u0000name", "displayName"),
        ("statistics", {"note": "a\u0000b"}, "statistics"),
        ("statistics", {"key\u0000": 1}, "statistics"),
    ],
)
def test_nul_characters_are_rejected_everywhere(
    client: TestClient, field: str, value: object, target: str
) -> None:
    body = {"@odata.type": OUTGOING, "displayName": "ok", field: value}
    assert_error(client.post(f"{HUB}/runs", json=body), 400, "invalidRequest", target)
    assert count(client, "runs") == 0


def test_an_escaped_backslash_u0000_text_is_not_a_nul(client: TestClient) -> None:
    run = create_run(client, statistics={"note": "\\u0000 is how JSON writes NUL"})
    assert run["statistics"]["note"].startswith("\\u0000")
