"""$filter through HTTP: the questions readers ask of their run history, on every engine."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from starlette.testclient import TestClient

from tests.api.steps import (
    DATA_SHARE,
    INCOMING,
    assert_error,
    collect_all,
    create_group,
    create_process,
    create_run,
    finished_run,
    process_url,
    run_url,
)
from tests.conftest import HUB, NS

RUNS = f"{HUB}/runs"


def names(client: TestClient, url: str) -> list[str]:
    return sorted(r["displayName"] for r in collect_all(client, url))


def filtered(client: TestClient, expression: str, collection: str = RUNS) -> list[str]:
    return names(client, f"{collection}?$filter={quote(expression)}")


@pytest.fixture
def history(client: TestClient) -> dict[str, Any]:
    """A small history with one of everything a filter can look at."""
    export = create_process(client, "export", DATA_SHARE, shareName="share", inviteeUserIds=["u1"])
    sync = create_process(client, "sync")
    runs = {
        "short ok": finished_run(
            client,
            "short ok",
            start="2026-11-01T10:00:00Z",
            end="2026-11-01T10:05:00Z",
            statistics={"recordsProcessed": 10, "recordsFailed": 0, "source": "crm"},
            **{"process@odata.bind": process_url(export["id"])},
        ),
        "long failed": finished_run(
            client,
            "long failed",
            status="failed",
            start="2026-11-02T23:30:00Z",
            end="2026-11-03T02:00:00Z",
            blockingError={"code": "quotaExceeded", "message": "Too many rows"},
            statistics={"recordsFailed": 7, "errors": [{"code": "E1", "message": "bad"}]},
            **{"process@odata.bind": process_url(sync["id"])},
        ),
        "Ünïcode warnings": finished_run(
            client,
            "Ünïcode warnings",
            status="completedWithWarnings",
            start="2025-12-31T23:59:59.9999999Z",
            end="2026-01-01T00:00:30Z",
            statistics={"recordsFailed": "n/a", "warningCount": 2},
        ),
        "still running": create_run(
            client, "still running", startDateTime="2026-11-03T08:00:00+01:00"
        ),
        "incoming": create_run(client, "incoming", INCOMING, startDateTime="2026-10-01T00:00:00Z"),
    }
    return {"export": export, "sync": sync, "runs": runs}


@pytest.mark.usefixtures("history")
@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("status eq 'failed'", ["long failed"]),
        ("status eq microsoft.graph.industryData.runStatus'failed'", ["long failed"]),
        ("status ne 'running' and status ne 'failed'", ["Ünïcode warnings", "short ok"]),
        ("status in ('failed', 'running')", ["long failed", "incoming", "still running"]),
        ("status in ('failed')", ["long failed"]),
        ("status has 'failed'", ["long failed"]),
        ("not (status eq 'running')", ["long failed", "short ok", "Ünïcode warnings"]),
        ("endDateTime eq null", ["incoming", "still running"]),
        ("endDateTime ne null and startDateTime lt 2026-01-01", ["Ünïcode warnings"]),
        (
            "startDateTime ge 2026-11-01T00:00:00Z and startDateTime lt 2026-11-03T00:00:00Z",
            ["long failed", "short ok"],
        ),
        ("startDateTime eq 2026-11-03T07:00:00Z", ["still running"]),
        ("endDateTime sub startDateTime gt duration'PT1H'", ["long failed"]),
        ("endDateTime sub startDateTime le duration'PT5M'", ["short ok", "Ünïcode warnings"]),
        (
            "startDateTime add duration'P1D' gt 2026-11-03T12:00:00Z",
            ["long failed", "still running"],
        ),
        ("year(startDateTime) eq 2025", ["Ünïcode warnings"]),
        ("month(startDateTime) eq 12 and day(startDateTime) eq 31", ["Ünïcode warnings"]),
        ("hour(startDateTime) eq 23 and minute(startDateTime) eq 30", ["long failed"]),
        ("second(startDateTime) eq 59", ["Ünïcode warnings"]),
        ("date(startDateTime) eq 2026-11-02", ["long failed"]),
        ("date(endDateTime) gt date(startDateTime)", ["long failed", "Ünïcode warnings"]),
        (
            "startDateTime lt now()",
            ["Ünïcode warnings", "incoming", "long failed", "short ok", "still running"],
        ),
        ("blockingError/code eq 'quotaExceeded'", ["long failed"]),
        ("blockingError ne null", ["long failed"]),
        ("startswith(blockingError/message, 'Too')", ["long failed"]),
        ("statistics/recordsFailed gt 0", ["long failed"]),
        ("statistics/recordsFailed eq 0", ["short ok"]),
        ("statistics/recordsFailed eq 'n/a'", ["Ünïcode warnings"]),
        ("statistics/recordsFailed ne 0", ["long failed"]),
        ("statistics/recordsFailed eq null", ["incoming", "still running"]),
        ("statistics/recordsFailed add 3 eq 10", ["long failed"]),
        ("statistics/recordsFailed mod 2 eq 1", ["long failed"]),
        ("statistics/recordsFailed div 2 eq 3.5", ["long failed"]),
        ("statistics/source in ('crm', 'erp')", ["short ok"]),
        ("statistics/errors/any(e: e/code eq 'E1')", ["long failed"]),
        ("statistics/errors/any()", ["long failed"]),
        ("statistics/errors/$count eq 1", ["long failed"]),
        ("process/displayName eq 'export'", ["short ok"]),
        ("process ne null", ["long failed", "short ok"]),
        ("process eq null", ["incoming", "still running", "Ünïcode warnings"]),
        ("isof(process, 'microsoft.graph.industryData.dataShareOutgoingFlow')", ["short ok"]),
        ("isof('microsoft.graph.industryData.incomingFlowRun')", ["incoming"]),
        (
            "isof(microsoft.graph.industryData.outgoingFlowRun) and status eq 'running'",
            ["still running"],
        ),
        ("contains(displayName, 'ai')", ["long failed"]),
        ("contains(tolower(displayName), 'ünï')", ["Ünïcode warnings"]),
        ("toupper(displayName) eq 'ÜNÏCODE WARNINGS'", ["Ünïcode warnings"]),
        ("startsWith(displayName, 'still')", ["still running"]),
        ("endswith(displayName, 'ok')", ["short ok"]),
        ("length(displayName) eq 8", ["incoming", "short ok"]),
        ("indexof(displayName, 'ok') eq 6", ["short ok"]),
        ("substring(displayName, 6) eq 'ok'", ["short ok"]),
        ("substring(displayName, 0, 5) eq 'short'", ["short ok"]),
        ("trim(concat(' ', displayName)) eq 'incoming'", ["incoming"]),
        ("displayName gt 's' and displayName lt 't'", ["short ok", "still running"]),
        ("displayName gt 'z'", ["Ünïcode warnings"]),
        ("true", ["Ünïcode warnings", "incoming", "long failed", "short ok", "still running"]),
        ("false", []),
        ("$it/displayName eq 'incoming'", ["incoming"]),
    ],
)
def test_filter_finds_the_runs_that_match(
    client: TestClient, expression: str, expected: list[str]
) -> None:
    assert filtered(client, expression) == sorted(expected)


def test_filter_through_process_key_uses_the_link(
    client: TestClient, history: dict[str, Any]
) -> None:
    export_id = history["export"]["id"]
    assert filtered(client, f"process/id eq '{export_id}'") == ["short ok"]


def test_filter_on_processes_reaches_their_runs_and_derived_properties(
    client: TestClient, history: dict[str, Any]
) -> None:
    processes = f"{HUB}/processes"
    assert filtered(client, "runs/any(r: r/status eq 'failed')", processes) == ["sync"]
    assert filtered(client, "runs/all(r: r/status eq 'failed')", processes) == ["sync"]
    assert filtered(client, "runs/$count ge 1", processes) == ["export", "sync"]
    share = f"{NS}.dataShareOutgoingFlow/shareName eq 'share'"
    assert filtered(client, share, processes) == ["export"]
    invitee = f"{NS}.dataShareOutgoingFlow/inviteeUserIds/any(u: u eq 'u1')"
    assert filtered(client, invitee, processes) == ["export"]


def test_filter_on_a_group_reaches_its_members(client: TestClient) -> None:
    group = create_group(client, "nightly")
    failed = finished_run(client, "member", status="failed")
    client.post(
        f"{HUB}/runGroups/{group['id']}/runs/$ref", json={"@odata.id": run_url(failed["id"])}
    )
    create_group(client, "empty")
    groups = f"{HUB}/runGroups"
    assert filtered(client, "runs/any(r: r/status eq 'failed')", groups) == ["nightly"]
    assert filtered(client, "runs/any()", groups) == ["nightly"]
    assert filtered(client, "not runs/any()", groups) == ["empty"]


def test_filter_combines_with_cast_segment_paths_and_count(
    client: TestClient, history: dict[str, Any]
) -> None:
    url = f"{RUNS}/{NS}.outgoingFlowRun?$filter=status eq 'running'&$count=true"
    body = client.get(url).json()
    assert [r["displayName"] for r in body["value"]] == ["still running"]
    assert body["@odata.count"] == 1
    assert client.get(f"{RUNS}/$count?$filter=status eq 'failed'").text == "1"


@pytest.mark.parametrize(
    ("expression", "position", "words"),
    [
        ("nope eq 1", 0, "not a property"),
        ("status eq 'finished'", 10, "not a member"),
        ("displayName eq 1", 12, "cannot compare"),
        ("status eq", 9, "expected an expression"),
        ("(status eq 'failed'", 19, "expected ')'"),
        ("startDateTime gt 2026-13-01T00:00:00Z", 17, "invalid literal"),
        ("shareName eq 'x'", 0, "not a property"),
        ("contains(displayName)", 0, "takes 2"),
        ("round(1.5) eq 2", 0, "not supported"),
        ("frobnicate(displayName)", 0, "unknown function"),
        ("displayName eq 'unterminated", 15, "unterminated"),
        ("statistics/x eq 2026-01-01T00:00:00Z", 13, "statistics members compare"),
        ("displayName add 1 eq 2", 12, "does not apply"),
        ("runs/any(r: r/status eq 'x')", 0, "not a property"),
        ("@p eq 1", 0, "parameter aliases"),
        ("displayName", 0, "Boolean"),
        ("status eq 'failed' extra", 19, "unexpected"),
    ],
)
def test_bad_filters_are_400_with_the_position(
    client: TestClient, history: dict[str, Any], expression: str, position: int, words: str
) -> None:
    error = assert_error(
        client.get(f"{RUNS}?$filter={quote(expression)}"), 400, "BadRequest", "$filter"
    )
    assert f"position {position})" in error["message"]
    assert words in error["message"]


def test_filters_past_the_size_limits_are_400(client: TestClient) -> None:
    wide = " or ".join(f"displayName eq '{i}'" for i in range(40))
    assert_error(client.get(f"{RUNS}?$filter={quote(wide)}"), 400, "BadRequest", "$filter")
    deep = "(" * 30 + "true" + ")" * 30
    assert client.get(f"{RUNS}?$filter={quote(deep)}").status_code == 200
    nested = "not " * 25 + "true"
    assert_error(client.get(f"{RUNS}?$filter={quote(nested)}"), 400, "BadRequest", "$filter")


def test_injection_shaped_filters_are_data_not_sql(
    client: TestClient, history: dict[str, Any]
) -> None:
    for text in ["x' or 1=1 --", "'); DROP TABLE runs; --", "%' or '1'='1"]:
        literal = text.replace("'", "''")
        assert filtered(client, f"displayName eq '{literal}'") == []
    assert len(filtered(client, "true")) == 5


@pytest.mark.parametrize(
    "expression",
    [
        "length(displayName) mul 9223372036854775807 gt 0",
        "statistics/recordsProcessed mul 1e300 mul 1e300 gt 0",
        "startDateTime add duration'P9999999999D' gt now()",
        "statistics/recordsFailed div 0 eq 1",
    ],
)
def test_arithmetic_out_of_range_is_400_or_no_match_never_500(
    client: TestClient, history: dict[str, Any], expression: str
) -> None:
    # PostgreSQL refuses to leave the 64-bit range (400); SQLite goes on in floating point.
    response = client.get(f"{RUNS}?$filter={quote(expression)}")
    assert response.status_code in (200, 400), response.text


def test_paging_an_expression_order_while_others_write(client: TestClient) -> None:
    """Rows that exist throughout are seen once each, whatever is inserted or deleted."""
    steady = [
        finished_run(
            client, f"s{i}", start="2026-11-01T00:00:00Z", end=f"2026-11-01T0{i % 5}:00:00Z"
        )["id"]
        for i in range(12)
    ]
    doomed = [create_run(client, f"d{i}")["id"] for i in range(4)]
    order = quote("endDateTime sub startDateTime desc")
    url: str | None = f"{RUNS}?$filter=startswith(displayName,'s')&$orderby={order}&$top=3"
    seen: list[str] = []
    step = 0
    while url is not None:
        body = client.get(url).json()
        seen.extend(r["id"] for r in body["value"])
        url = body.get("@odata.nextLink")
        finished_run(
            client, f"s-new{step}", start="2026-11-01T00:00:00Z", end="2026-11-01T02:00:00Z"
        )
        if step < len(doomed):
            assert client.delete(f"{RUNS}/{doomed[step]}").status_code == 204
        step += 1
    assert len(seen) == len(set(seen))
    assert set(steady) <= set(seen)
