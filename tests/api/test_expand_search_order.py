"""$orderby on expressions, $expand with nested options, and $search, through HTTP."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from starlette.testclient import TestClient

from tests.api.steps import (
    DATA_SHARE,
    add_member,
    assert_error,
    collect_all,
    create_group,
    create_process,
    create_run,
    finished_run,
    get_json,
    process_url,
)
from tests.conftest import HUB, NS

RUNS = f"{HUB}/runs"


def _names(rows: list[dict[str, Any]]) -> list[str]:
    return [str(r["displayName"]) for r in rows]


def _durations(client: TestClient) -> None:
    for name, minutes in (("ten", 10), ("one", 1), ("thirty", 30), ("also ten", 10)):
        finished_run(
            client, name, start="2026-11-01T00:00:00Z", end=f"2026-11-01T00:{minutes:02d}:00Z"
        )


def test_orderby_duration_expression_pages_in_order(client: TestClient) -> None:
    _durations(client)
    create_run(client, "unfinished")
    url = f"{RUNS}?$orderby={quote('endDateTime sub startDateTime desc')}&$top=1"
    rows = collect_all(client, url)
    # Ties keep a stable order (by id); unfinished runs have a null duration: last descending.
    assert _names(rows)[0] == "thirty"
    assert sorted(_names(rows)[1:3]) == ["also ten", "ten"]
    assert _names(rows)[3:] == ["one", "unfinished"]
    ascending = collect_all(client, f"{RUNS}?$orderby={quote('endDateTime sub startDateTime')}")
    assert _names(ascending)[0] == "unfinished"


def test_orderby_statistics_member_numbers_then_strings(client: TestClient) -> None:
    for name, value in (("b", 5), ("a", 20), ("c", "text"), ("d", None), ("e", 1.5)):
        stats = {} if value is None else {"recordsFailed": value}
        create_run(client, name, statistics=stats)
    rows = collect_all(client, f"{RUNS}?$orderby=statistics/recordsFailed desc&$top=2")
    assert _names(rows) == ["a", "b", "e", "c", "d"]


def test_orderby_several_keys_and_functions(client: TestClient) -> None:
    for name in ("Beta", "alpha", "Alpha", "beta"):
        create_run(client, name)
    rows = collect_all(client, f"{RUNS}?$orderby=tolower(displayName),displayName desc&$top=3")
    assert _names(rows) == ["alpha", "Alpha", "beta", "Beta"]
    rows = collect_all(client, f"{RUNS}?$orderby=length(displayName) desc,displayName")
    assert _names(rows) == ["Alpha", "alpha", "Beta", "beta"]


def test_expand_process_on_runs_with_nested_select(client: TestClient) -> None:
    process = create_process(client, "export", DATA_SHARE, shareName="s1")
    linked = create_run(client, "linked", **{"process@odata.bind": process_url(process["id"])})
    create_run(client, "alone")
    body = get_json(client, f"{RUNS}?$expand=process($select=displayName)&$orderby=displayName")
    assert body["@odata.context"].endswith("#external/industryData/runs(process(displayName))")
    alone, first = body["value"]
    assert alone["process"] is None
    assert first["process"]["displayName"] == "export"
    assert "shareName" not in first["process"]
    one = get_json(client, f"{RUNS}/{linked['id']}?$expand=process")
    assert one["process"]["id"] == process["id"]
    assert one["process"]["@odata.type"] == f"#{NS}.dataShareOutgoingFlow"


def test_expand_runs_on_processes_with_nested_options(client: TestClient) -> None:
    process = create_process(client, "export")
    bind = {"process@odata.bind": process_url(process["id"])}
    for i in range(4):
        finished_run(
            client,
            f"r{i}",
            start=f"2026-11-0{i + 1}T00:00:00Z",
            end=f"2026-11-0{i + 1}T01:00:00Z",
            **bind,
        )
    failed = finished_run(client, "bad", status="failed", **bind)
    nested = "$top=2;$orderby=startDateTime desc;$select=displayName;$count=true"
    url = f"{HUB}/processes/{process['id']}?$expand=runs({nested})"
    body = get_json(client, url)
    assert _names(body["runs"]) == ["r3", "r2"]
    assert body["runs@odata.count"] == 5
    assert "runs@odata.nextLink" not in body
    assert set(body["runs"][0]) == {"@odata.type", "@odata.etag", "id", "displayName"}
    only_failed = get_json(
        client,
        f"{HUB}/processes?$expand=runs($filter=status eq 'failed';$expand=process($select=id))",
    )
    (entry,) = only_failed["value"]
    assert [r["id"] for r in entry["runs"]] == [failed["id"]]
    assert entry["runs"][0]["process"]["id"] == process["id"]


def test_expand_defaults_to_twenty_members(client: TestClient) -> None:
    group = create_group(client)
    for i in range(22):
        add_member(client, group["id"], create_run(client, f"m{i}")["id"])
    body = get_json(client, f"{HUB}/runGroups/{group['id']}?$expand=runs")
    assert len(body["runs"]) == 20


def test_expand_refs_and_star(client: TestClient) -> None:
    process = create_process(client)
    create_run(client, "r", **{"process@odata.bind": process_url(process["id"])})
    refs = get_json(client, f"{HUB}/processes?$expand=runs/$ref")["value"][0]["runs"]
    assert refs[0]["@odata.id"].startswith("external/industryData/runs/")
    star = get_json(client, f"{RUNS}?$expand=*")["value"][0]
    assert star["process"]["id"] == process["id"]


@pytest.mark.parametrize(
    "expand",
    [
        "nothing",
        "process($top=1)",
        "runs",
        "process($expand=runs($expand=process))",
        "process(",
        "process($select=nope)",
        "process($filter=status eq 'x')",
    ],
)
def test_bad_expand_is_400(client: TestClient, expand: str) -> None:
    response = client.get(f"{RUNS}?$expand={quote(expand)}")
    assert response.status_code == 400, response.text


def test_search_matches_display_name_case_insensitively(client: TestClient) -> None:
    for name in ("Nightly Export", "nightly sync", "Weekly export", "Straße backup"):
        create_run(client, name)

    def search(text: str) -> list[str]:
        return sorted(_names(collect_all(client, f"{RUNS}?$search={quote(text)}")))

    assert search("export") == ["Nightly Export", "Weekly export"]
    assert search('"nightly export"') == ["Nightly Export"]
    assert search("nightly export") == ["Nightly Export"]
    assert search("nightly AND NOT export") == ["nightly sync"]
    assert search("sync OR weekly") == ["Weekly export", "nightly sync"]
    assert search("(sync OR weekly) export") == ["Weekly export"]
    assert search("STRASSE") == []
    assert search("straße") == ["Straße backup"]
    combined = collect_all(client, f"{RUNS}?$search=export&$filter=startswith(displayName,'W')")
    assert _names(combined) == ["Weekly export"]


@pytest.mark.parametrize("text", ['"unterminated', "AND", "(export", "export)", '""', ""])
def test_bad_search_is_400(client: TestClient, text: str) -> None:
    assert_error(client.get(f"{RUNS}?$search={quote(text)}"), 400, "BadRequest", "$search")


def test_skiptoken_is_bound_to_the_filter(client: TestClient) -> None:
    for i in range(3):
        create_run(client, f"r{i}")
    first = get_json(client, f"{RUNS}?$filter=startswith(displayName,'r')&$top=1")
    token = first["@odata.nextLink"].split("$skiptoken=")[1]
    other = client.get(f"{RUNS}?$filter=startswith(displayName,'x')&$top=1&$skiptoken={token}")
    assert_error(other, 400, "invalidRequest", "$skiptoken")
