"""Input no check expected: malformed URLs, digits of other scripts, hostile nesting.

Each is a 400 Graph error (or, where the protocol says so, ignored), never a 500, on every
engine; and when the database does fail, its statement and parameters stay out of the log.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from flowruns.api.app import create_app
from flowruns.edm.capabilities import MAX_LAMBDA_DEPTH
from flowruns.logs import TextFormatter
from flowruns.settings import Settings
from flowruns.store.database import chosen_url, make_engine
from tests.api.steps import (
    create_group,
    create_process,
    create_run,
    finished_run,
    process_url,
    raw_header_client,
    run_url,
)
from tests.conftest import HUB, NS, bearer

RUNS = f"{HUB}/runs"
# urlsplit raises ValueError on each: an unclosed or invalid IPv6 host, a host that NFKC
# normalisation turns into a delimiter.
MALFORMED_URLS = [
    "http://[::1/x",
    "http://[zz]/beta/external/industryData/processes/x",
    "http://x]/beta/external/industryData/processes/x",
    "http://a\uff03b/beta/external/industryData/processes/x",
    "//[::1/beta/external/industryData/processes/x",
]


def _assert_400(response: Any) -> None:
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] in ("invalidRequest", "BadRequest")


# -- URLs ----------------------------------------------------------------------------------


@pytest.mark.parametrize("url", MALFORMED_URLS)
def test_a_malformed_url_in_any_reference_is_400(client: TestClient, url: str) -> None:
    run = create_run(client)
    group = create_group(client)
    bind = {"process@odata.bind": url}
    _assert_400(client.post(RUNS, json={"@odata.type": f"{NS}.outgoingFlowRun", **bind}))
    _assert_400(client.patch(run_url(run["id"]), json=bind))
    _assert_400(client.put(f"{run_url(run['id'])}/process/$ref", json={"@odata.id": url}))
    _assert_400(client.post(f"{run_url(run['id'])}/process/$ref", json={"@odata.id": url}))
    member = client.post(f"{HUB}/runGroups/{group['id']}/runs/$ref", json={"@odata.id": url})
    _assert_400(member)
    assert client.get(f"{run_url(run['id'])}/process").status_code == 404
    assert client.get(f"{HUB}/runGroups/{group['id']}/runs").json()["value"] == []


# -- digits --------------------------------------------------------------------------------


@pytest.fixture
def raw_client(settings: Settings) -> Iterator[TestClient]:
    with raw_header_client(create_app(settings), bearer(settings)) as client:
        yield client


@pytest.mark.parametrize("digit", ["²", "³", "¹"])
def test_a_page_size_in_other_digits_is_ignored(raw_client: TestClient, digit: str) -> None:
    for i in range(3):
        create_run(raw_client, f"r{i}")
    prefer = f"odata.maxpagesize={digit}".encode()
    response = raw_client.get(RUNS, headers={b"Prefer": prefer})
    assert response.status_code == 200, response.text
    assert "Preference-Applied" not in response.headers
    assert len(response.json()["value"]) == 3


# ARABIC-INDIC DIGIT ONE: a decimal digit to str.isdigit, to the \d of re and to int().
ARABIC_ONE = "\u0661"


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("$top", ARABIC_ONE),
        ("$skip", ARABIC_ONE),
        ("$filter", "status eq '²'"),
        ("$filter", f"status eq '{ARABIC_ONE}'"),
        ("$filter", f"status eq {NS}.runStatus'{ARABIC_ONE}'"),
        ("$filter", f"statistics/x eq {ARABIC_ONE}"),
        ("$filter", f"statistics/x eq 1.{ARABIC_ONE}"),
        ("$filter", f"startDateTime gt 2026-01-01T00:00:00.{ARABIC_ONE}Z"),
        ("$filter", f"startDateTime gt 2026-01-01T00:00:00+0{ARABIC_ONE}:00"),
        ("$filter", f"endDateTime sub startDateTime gt duration'PT{ARABIC_ONE}H'"),
        ("$orderby", f"length(displayName) add {ARABIC_ONE}"),
    ],
)
def test_numbers_in_other_digits_are_400(client: TestClient, option: str, value: str) -> None:
    create_run(client)
    _assert_400(client.get(RUNS, params={option: value}))


@pytest.mark.parametrize(
    "value", [f"2026-01-01T00:00:00.{ARABIC_ONE}Z", f"2026-01-01T00:00:00+0{ARABIC_ONE}:00"]
)
def test_date_times_in_other_digits_are_400_in_bodies(client: TestClient, value: str) -> None:
    body = {"@odata.type": f"{NS}.outgoingFlowRun", "startDateTime": value}
    _assert_400(client.post(RUNS, json=body))
    assert client.get(RUNS).json()["value"] == []


# -- nesting -------------------------------------------------------------------------------


def _nested_json_any(levels: int) -> str:
    body = f"v{levels - 1} eq 1"
    for i in reversed(range(1, levels)):
        body = f"v{i - 1}/a/any(v{i}:{body})"
    return f"statistics/a/any(v0:{body})"


def _nested_runs_any(levels: int) -> str:
    body = f"v{levels - 1}/displayName eq 'x'"
    for i in reversed(range(1, levels)):
        body = f"v{i - 1}/process/runs/any(v{i}:{body})"
    return f"runs/any(v0:{body})"


@pytest.mark.parametrize(
    ("collection", "option", "value"),
    [
        ("runs", "$search", "(" * 500 + "a" + ")" * 500),
        ("runs", "$search", " ".join(["a"] * 1500)),
        ("runs", "$search", " OR ".join(["a"] * 1000)),
        ("runs", "$search", "NOT " * 1000 + "a"),
        ("runs", "$filter", "- " * 1900 + "1 eq 1"),
        ("runs", "$filter", "not " * 900 + "true"),
        ("runs", "$filter", _nested_json_any(9)),
        ("runs", "$filter", _nested_json_any(MAX_LAMBDA_DEPTH + 1)),
        ("processes", "$filter", _nested_runs_any(MAX_LAMBDA_DEPTH + 1)),
        ("runs", "$orderby", "length(" + "tolower(" * 40 + "displayName" + ")" * 40 + ")"),
        ("runs", "$orderby", "- " * 1900 + "1"),
        ("runs", "$apply", "filter(" + "not " * 900 + "true)/aggregate($count as n)"),
        (
            "runs",
            "$apply",
            "compute("
            + "length("
            + "tolower(" * 40
            + "displayName"
            + ")" * 41
            + " as n)/aggregate(n with sum as total)",
        ),
        ("processes", "$expand", "runs($filter=" + _nested_json_any(9) + ")"),
        # Each level writes its operand twice or three times: 2^12 and 3^8 copies.
        ("runs", "$filter", "(" * 12 + "statistics/x" + " mod 2.5)" * 12 + " eq 1"),
        ("runs", "$orderby", "substring(displayName, length(" * 8 + "displayName" + "))" * 8),
        ("runs", "$expand", "process($expand=runs($expand=process($expand=runs)))"),
    ],
)
def test_nesting_past_the_limits_is_400(
    client: TestClient, collection: str, option: str, value: str
) -> None:
    create_run(client, "a", statistics={"a": [{"a": [1]}]})
    _assert_400(client.get(f"{HUB}/{collection}", params={option: value}))


def test_lambdas_nested_up_to_the_limit_run(client: TestClient) -> None:
    innermost: Any = [1]
    for _ in range(MAX_LAMBDA_DEPTH - 1):
        innermost = [{"a": innermost}]
    create_run(client, "deep enough", statistics={"a": innermost})
    create_run(client, "too shallow", statistics={"a": [1]})
    response = client.get(RUNS, params={"$filter": _nested_json_any(MAX_LAMBDA_DEPTH)})
    assert response.status_code == 200, response.text
    assert [r["displayName"] for r in response.json()["value"]] == ["deep enough"]


def test_a_query_too_deep_for_sqlites_parser_is_400_there(
    client: TestClient, settings: Settings
) -> None:
    # Within every limit, but each mod of doubles nests several SQL operations deep.
    create_run(client, "x", statistics={"x": 7.5})
    text = "(" * 10 + "statistics/x" + " mod 2.5)" * 10 + " eq 0"
    response = client.get(RUNS, params={"$filter": text})
    if settings.database_url is None:
        _assert_400(response)
        assert "nests too deeply for the database" in response.json()["error"]["message"]
    else:
        assert response.status_code == 200, response.text
        assert [r["displayName"] for r in response.json()["value"]] == ["x"]


def test_divisions_nested_to_the_depth_limit_run(client: TestClient) -> None:
    create_run(client, "x" * 9)
    create_run(client, "x" * 10)
    # 1 div (1 div (… length(displayName))) is 1 for a length of 1 and 0 otherwise;
    # ((length mod 7) mod 5) mod 4 … keeps 9 and 10 apart.
    divisions = "1 div (" * 16 + "(length(displayName) sub 8)" + ")" * 16
    remainders = "(" * 17 + "length(displayName) mod 17" + " mod 16)" * 17
    for expression, expected in [
        (f"{divisions} eq 1", ["x" * 9]),
        (f"{remainders} eq 10", ["x" * 10]),
    ]:
        response = client.get(RUNS, params={"$filter": expression})
        assert response.status_code == 200, response.text
        assert [r["displayName"] for r in response.json()["value"]] == expected


def test_runs_of_a_runs_process_can_be_filtered(client: TestClient) -> None:
    export, sync = create_process(client, "export"), create_process(client, "sync")
    bind = {"process@odata.bind": process_url(export["id"])}
    failed = finished_run(client, "failed export", status="failed", **bind)
    ok = finished_run(client, "ok export", **bind)
    create_run(client, "no process")
    synced = finished_run(client, "ok sync", **{"process@odata.bind": process_url(sync["id"])})
    for expression, expected in [
        ("process/runs/any(r:r/status eq 'failed')", {failed["id"], ok["id"]}),
        ("process/runs/$count eq 2", {failed["id"], ok["id"]}),
        ("process/runs/any()", {failed["id"], ok["id"], synced["id"]}),
        ("not process/runs/all(r:r/status eq 'completed')", {failed["id"], ok["id"]}),
    ]:
        response = client.get(RUNS, params={"$filter": expression})
        assert response.status_code == 200, (expression, response.text)
        assert {r["id"] for r in response.json()["value"]} == expected, expression


def test_a_body_nested_past_the_limit_is_400(client: TestClient) -> None:
    # Instance annotations are not read, so only the limit stops this one (the body is a level).
    deep = "[" * 65 + "]" * 65
    body = f'{{"@odata.type": "#{NS}.outgoingFlowRun", "displayName": "x", "@note": {deep}}}'
    response = client.post(RUNS, content=body, headers={"Content-Type": "application/json"})
    _assert_400(response)
    assert client.get(RUNS).json()["value"] == []
    shallow = body.replace(deep, "[" * 63 + "]" * 63)
    created = client.post(RUNS, content=shallow, headers={"Content-Type": "application/json"})
    assert created.status_code == 201, created.text


# -- the log of a failing query ------------------------------------------------------------

SECRET = "a-filter-literal-only-the-client-knows"


def test_a_failing_query_leaves_no_statement_or_parameters_in_the_log(
    client: TestClient, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    create_run(client)
    engine = make_engine(chosen_url(settings.database_url, settings.data_dir))
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE processes RENAME TO processes_away"))
    try:
        with caplog.at_level(logging.DEBUG):
            response = client.get(
                f"{HUB}/processes", params={"$filter": f"displayName eq '{SECRET}'"}
            )
    finally:
        with engine.begin() as connection:
            connection.execute(text("ALTER TABLE processes_away RENAME TO processes"))
        engine.dispose()
    assert response.status_code >= 500
    assert SECRET not in response.text
    # The server's records (the test client logs the URL it requested, as clients do).
    records = [r for r in caplog.records if not r.name.startswith("httpx")]
    logged = "\n".join(TextFormatter().format(record) for record in records)
    assert any(r.levelno >= logging.ERROR for r in records), logged
    assert SECRET not in logged
    assert "SELECT" not in logged.upper().replace("SELECTED", "")
