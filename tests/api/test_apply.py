"""$apply through HTTP: the aggregations a dashboard asks for, on every engine."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from starlette.testclient import TestClient

from tests.api.steps import assert_error, create_process, create_run, finished_run, process_url
from tests.conftest import HUB

RUNS = f"{HUB}/runs"


def apply(client: TestClient, text: str, extra: str = "") -> dict[str, Any]:
    response = client.get(f"{RUNS}?$apply={quote(text)}{extra}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def history(client: TestClient) -> None:
    export = create_process(client, "export")
    bind = {"process@odata.bind": process_url(export["id"])}
    finished_run(
        client,
        "a",
        start="2026-11-01T01:00:00Z",
        end="2026-11-01T01:10:00Z",
        statistics={"recordsFailed": 2},
        **bind,
    )
    finished_run(
        client,
        "b",
        status="failed",
        start="2026-11-01T05:00:00Z",
        end="2026-11-01T05:30:00Z",
        statistics={"recordsFailed": 5},
        **bind,
    )
    finished_run(client, "c", start="2026-11-02T00:00:00Z", end="2026-11-02T00:20:00Z")
    create_run(client, "d", startDateTime="2026-11-02T03:00:00Z")


@pytest.mark.usefixtures("history")
def test_counts_per_day_and_status(client: TestClient) -> None:
    body = apply(
        client,
        "filter(startDateTime ge 2026-11-01T00:00:00Z)"
        "/compute(date(startDateTime) as day)"
        "/groupby((day,status),aggregate($count as runs))",
    )
    assert body["@odata.context"].endswith("#external/industryData/runs(day,status,runs)")
    rows = [(r["day"], r["status"], r["runs"]) for r in body["value"]]
    assert rows == [
        ("2026-11-01", "failed", 1),
        ("2026-11-01", "completed", 1),
        ("2026-11-02", "running", 1),
        ("2026-11-02", "completed", 1),
    ]
    assert all(r["@odata.id"] is None for r in body["value"])


@pytest.mark.usefixtures("history")
def test_aggregate_methods_and_nested_keys(client: TestClient) -> None:
    body = apply(
        client,
        "groupby((process/displayName),aggregate("
        "endDateTime sub startDateTime with average as averageDuration,"
        "endDateTime sub startDateTime with max as longest,"
        "statistics/recordsFailed with sum as failed,"
        "startDateTime with min as first,"
        "status with countdistinct as statuses,"
        "$count as runs))",
    )
    without, export = body["value"]
    assert without["process"] == {"displayName": None}
    assert without["runs"] == 2
    assert export == {
        "@odata.id": None,
        "process": {"displayName": "export"},
        "averageDuration": "PT20M",
        "longest": "PT30M",
        "failed": 7.0,
        "first": "2026-11-01T01:00:00Z",
        "statuses": 2,
        "runs": 2,
    }


@pytest.mark.usefixtures("history")
def test_whole_collection_aggregate_and_result_order(client: TestClient) -> None:
    assert apply(client, "aggregate($count as n)")["value"] == [{"@odata.id": None, "n": 4}]
    body = apply(
        client, "groupby((status),aggregate($count as n))", "&$orderby=n desc,status&$top=1"
    )
    assert body["value"] == [{"@odata.id": None, "status": "completed", "n": 2}]
    counted = apply(client, "groupby((status))", "&$count=true&$skip=1")
    assert counted["@odata.count"] == 3
    assert [r["status"] for r in counted["value"]] == ["failed", "completed"]


@pytest.mark.parametrize(
    ("text", "extra", "target"),
    [
        ("groupby(status)", "", "$apply"),
        ("aggregate(displayName with sum as s)", "", "$apply"),
        ("aggregate($count as n)/filter(true)", "", "$apply"),
        ("filter(status eq 'failed')", "", "$apply"),
        ("topcount(2, x)", "", "$apply"),
        ("aggregate($count as n, $count as n)", "", "$apply"),
        ("compute(1 as displayName)/aggregate($count as n)", "", "$apply"),
        ("groupby((statistics/x))", "", "$apply"),
        ("aggregate($count as n)", "&$filter=status eq 'failed'", "$filter"),
        ("aggregate($count as n)", "&$orderby=nothing", "$orderby"),
    ],
)
def test_bad_apply_is_400(client: TestClient, text: str, extra: str, target: str) -> None:
    response = client.get(f"{RUNS}?$apply={quote(text)}{extra}")
    error = assert_error(response, 400, response.json()["error"]["code"], target)
    assert error["code"] in ("BadRequest", "invalidRequest")
