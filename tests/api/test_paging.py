"""Query options on collections: paging, order, $select, $count (SPEC §5, decisions 9, 10, 12)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.testclient import TestClient

from tests.api.steps import (
    BASE_URL,
    DATA_SHARE,
    INSIGHTS,
    add_member,
    assert_error,
    collect_all,
    create_group,
    create_process,
    create_run,
    finished_run,
    get_json,
    run_url,
)
from tests.conftest import HUB, NS

RUNS = f"{HUB}/runs"


@pytest.fixture
def seven_runs(client: TestClient) -> list[dict[str, Any]]:
    """Seven runs; two pairs share a startDateTime so order needs the id tie-breaker."""
    starts = ["01", "02", "02", "03", "04", "04", "05"]
    return [
        create_run(
            client,
            f"run {i}",
            startDateTime=f"2026-01-{day}T00:00:00Z",
            statistics={"n": i},
        )
        for i, day in enumerate(starts)
    ]


def _ids(rows: list[dict[str, Any]]) -> list[str]:
    return [r["id"] for r in rows]


def _default_order(runs: list[dict[str, Any]]) -> list[str]:
    return _ids(sorted(runs, key=lambda r: (r["startDateTime"], r["id"]), reverse=True))


def test_default_order_is_newest_first_with_id_tie_breaker(
    client: TestClient, seven_runs: list[dict[str, Any]]
) -> None:
    body = get_json(client, RUNS)
    assert "@odata.nextLink" not in body
    assert _ids(body["value"]) == _default_order(seven_runs)


def test_top_is_the_page_size_and_next_links_walk_every_row_once(
    client: TestClient, seven_runs: list[dict[str, Any]]
) -> None:
    first = get_json(client, f"{RUNS}?$top=3")
    assert len(first["value"]) == 3
    next_link = first["@odata.nextLink"]
    assert next_link.startswith(f"{BASE_URL}{RUNS}?")
    assert parse_qs(urlsplit(next_link).query)["$top"] == ["3"]
    rows = collect_all(client, f"{RUNS}?$top=3")
    assert _ids(rows) == _default_order(seven_runs)


def test_exactly_full_last_page_has_no_next_link(
    client: TestClient, seven_runs: list[dict[str, Any]]
) -> None:
    assert "@odata.nextLink" not in get_json(client, f"{RUNS}?$top=7")
    second = get_json(client, get_json(client, f"{RUNS}?$top=6")["@odata.nextLink"])
    assert len(second["value"]) == 1
    assert "@odata.nextLink" not in second
    rows = collect_all(client, f"{RUNS}?$top=1")
    assert len(rows) == 7


def test_top_zero_is_an_empty_page_without_next_link(
    client: TestClient, seven_runs: list[dict[str, Any]]
) -> None:
    body = get_json(client, f"{RUNS}?$top=0")
    assert body["value"] == []
    assert "@odata.nextLink" not in body


def test_top_is_at_most_999(client: TestClient) -> None:
    assert get_json(client, f"{RUNS}?$top=999")["value"] == []
    assert_error(client.get(f"{RUNS}?$top=1000"), 400, "invalidRequest", "$top")


@pytest.mark.parametrize("value", ["-1", "abc", "1.5", ""])
def test_top_and_skip_must_be_non_negative_integers(client: TestClient, value: str) -> None:
    assert_error(client.get(f"{RUNS}?$top={value}"), 400, "invalidRequest", "$top")
    assert_error(client.get(f"{RUNS}?$skip={value}"), 400, "invalidRequest", "$skip")


def test_skip_skips_rows_of_the_first_page_only(
    client: TestClient, seven_runs: list[dict[str, Any]]
) -> None:
    expected = _default_order(seven_runs)
    body = get_json(client, f"{RUNS}?$skip=2&$top=2")
    assert _ids(body["value"]) == expected[2:4]
    assert "$skip" not in parse_qs(urlsplit(body["@odata.nextLink"]).query)
    assert _ids(collect_all(client, f"{RUNS}?$skip=2&$top=2")) == expected[2:]
    assert get_json(client, f"{RUNS}?$skip=100")["value"] == []


def test_skip_is_at_most_10000(client: TestClient) -> None:
    assert get_json(client, f"{RUNS}?$skip=10000")["value"] == []
    assert_error(client.get(f"{RUNS}?$skip=10001"), 400, "invalidRequest", "$skip")


def test_default_page_size_is_100(client: TestClient) -> None:
    for i in range(101):
        create_run(client, f"r{i}")
    body = get_json(client, RUNS)
    assert len(body["value"]) == 100
    assert "@odata.nextLink" in body
    assert len(collect_all(client, RUNS)) == 101


def test_prefer_maxpagesize_sets_the_page_size_and_is_echoed(
    client: TestClient, seven_runs: list[dict[str, Any]]
) -> None:
    headers = {"Prefer": "odata.maxpagesize=2"}
    response = client.get(RUNS, headers=headers)
    assert response.headers["Preference-Applied"] == "odata.maxpagesize=2"
    assert len(response.json()["value"]) == 2
    assert _ids(collect_all(client, RUNS, headers=headers)) == _default_order(seven_runs)
    smaller_top = client.get(f"{RUNS}?$top=1", headers={"Prefer": "odata.maxpagesize=3"})
    assert len(smaller_top.json()["value"]) == 1
    smaller_prefer = client.get(f"{RUNS}?$top=5", headers={"Prefer": "odata.maxpagesize=3"})
    assert len(smaller_prefer.json()["value"]) == 3
    too_large = client.get(RUNS, headers={"Prefer": "odata.maxpagesize=5000"})
    assert too_large.headers["Preference-Applied"] == "odata.maxpagesize=999"


def test_without_a_usable_prefer_no_preference_applied(
    client: TestClient, seven_runs: list[dict[str, Any]]
) -> None:
    assert "Preference-Applied" not in client.get(RUNS).headers
    for value in ("odata.maxpagesize=0", "odata.maxpagesize=many", "odata.other=1"):
        response = client.get(RUNS, headers={"Prefer": value})
        assert "Preference-Applied" not in response.headers
        assert len(response.json()["value"]) == 7


@pytest.mark.parametrize(
    ("orderby", "key"),
    [
        ("displayName", lambda r: (r["displayName"], r["id"])),
        ("displayName asc", lambda r: (r["displayName"], r["id"])),
        ("startDateTime", lambda r: (r["startDateTime"], r["id"])),
        ("id desc", lambda r: r["id"]),
    ],
)
def test_orderby_top_level_properties(
    client: TestClient, seven_runs: list[dict[str, Any]], orderby: str, key: Any
) -> None:
    expected = _ids(sorted(seven_runs, key=key, reverse=orderby.endswith("desc")))
    assert _ids(collect_all(client, f"{RUNS}?$orderby={orderby}&$top=2")) == expected


def test_orderby_descending_ties_break_by_id_descending(
    client: TestClient, seven_runs: list[dict[str, Any]]
) -> None:
    rows = collect_all(client, f"{RUNS}?$orderby=startDateTime desc&$top=2")
    assert _ids(rows) == _default_order(seven_runs)


def test_orderby_several_keys_in_mixed_directions(client: TestClient) -> None:
    made = [
        create_run(client, name, startDateTime=f"2026-01-0{day}T00:00:00Z")
        for name, day in [("b", 1), ("a", 2), ("b", 3), ("a", 1), ("c", 2), ("a", 2)]
    ]
    # id, the final tie-breaker, takes the direction of the key before it.
    expected = sorted(made, key=lambda r: (r["startDateTime"], r["id"]))
    expected = sorted(expected, key=lambda r: r["displayName"], reverse=True)
    rows = collect_all(client, f"{RUNS}?$orderby=displayName desc,startDateTime asc&$top=2")
    assert _ids(rows) == _ids(expected)


def test_orderby_a_nullable_property_puts_nulls_first_ascending(client: TestClient) -> None:
    running = [create_run(client, f"running {i}") for i in range(3)]
    finished = [
        finished_run(client, f"done {i}", end=f"2026-01-01T0{i + 1}:00:00Z") for i in range(3)
    ]
    asc = collect_all(client, f"{RUNS}?$orderby=endDateTime&$top=2")
    nulls = sorted(_ids(running))
    assert _ids(asc) == [*nulls, *_ids(finished)]
    desc = collect_all(client, f"{RUNS}?$orderby=endDateTime desc&$top=2")
    assert _ids(desc) == [*reversed(_ids(finished)), *reversed(nulls)]


def test_orderby_enum_sorts_by_member_value(client: TestClient) -> None:
    completed = finished_run(client, "c")
    failed = finished_run(client, "f", status="failed")
    running = create_run(client, "r")
    rows = get_json(client, f"{RUNS}?$orderby=status")["value"]
    assert _ids(rows) == [running["id"], failed["id"], completed["id"]]


@pytest.mark.parametrize(
    "orderby",
    ["nothing", "statistics", "blockingError", "process", "displayName sideways", ","],
)
def test_orderby_rejects_what_it_cannot_sort(client: TestClient, orderby: str) -> None:
    assert_error(client.get(f"{RUNS}?$orderby={orderby}"), 400, "BadRequest", "$orderby")


def test_processes_default_to_display_name_and_page_too(client: TestClient) -> None:
    names = [f"p{i:02d}" for i in (5, 1, 4, 2, 3)]
    for name in names:
        create_process(client, name)
    rows = collect_all(client, f"{HUB}/processes?$top=2")
    assert [p["displayName"] for p in rows] == sorted(names)
    rows = collect_all(client, f"{HUB}/processes?$top=2&$orderby=displayName desc")
    assert [p["displayName"] for p in rows] == sorted(names, reverse=True)


def test_count_true_counts_every_row_regardless_of_paging(
    client: TestClient, seven_runs: list[dict[str, Any]]
) -> None:
    body = get_json(client, f"{RUNS}?$count=true&$top=2&$skip=1")
    assert body["@odata.count"] == 7
    assert len(body["value"]) == 2
    assert get_json(client, body["@odata.nextLink"])["@odata.count"] == 7
    assert "@odata.count" not in get_json(client, f"{RUNS}?$count=false")
    assert_error(client.get(f"{RUNS}?$count=yes"), 400, "invalidRequest", "$count")


def test_count_on_every_collection(client: TestClient) -> None:
    process = create_process(client)
    group = create_group(client)
    run = create_run(client, collection=f"{HUB}/processes/{process['id']}/runs")
    assert add_member(client, group["id"], run["id"]).status_code == 204
    expected = {
        "runs": "2",
        f"runs/{NS}.outgoingFlowRun": "1",
        f"runs/{NS}.runGroup": "1",
        "processes": "1",
        f"processes/{NS}.dataShareOutgoingFlow": "0",
        "runGroups": "1",
        f"processes/{process['id']}/runs": "1",
        f"runGroups/{group['id']}/runs": "1",
    }
    for path, value in expected.items():
        response = client.get(f"{HUB}/{path}/$count")
        assert response.status_code == 200, path
        assert response.headers["content-type"] == "text/plain;charset=utf-8"
        assert response.text == value, path


def test_count_of_a_single_entity_is_not_a_resource(client: TestClient) -> None:
    run = create_run(client)
    assert_error(client.get(f"{run_url(run['id'])}/$count"), 400, "BadRequest")


# -- skiptokens -----------------------------------------------------------------------------


def _skiptoken(next_link: str) -> str:
    return parse_qs(urlsplit(next_link).query)["$skiptoken"][0]


def test_tampered_skiptoken_is_400(client: TestClient, seven_runs: list[dict[str, Any]]) -> None:
    token = _skiptoken(get_json(client, f"{RUNS}?$top=2")["@odata.nextLink"])
    body, _, mac = token.partition(".")
    flipped = body[:-1] + ("A" if body[-1] != "A" else "B")
    for bad in (f"{flipped}.{mac}", body, "garbage", "", "é", f"{body}.{mac[:-2]}"):
        response = client.get(RUNS, params={"$top": "2", "$skiptoken": bad})
        assert_error(response, 400, "invalidRequest", "$skiptoken")


def test_skiptoken_from_another_collection_or_order_is_400(
    client: TestClient, seven_runs: list[dict[str, Any]]
) -> None:
    for i in range(3):
        create_process(client, f"p{i}")
    run_token = _skiptoken(get_json(client, f"{RUNS}?$top=2")["@odata.nextLink"])
    for elsewhere in (
        f"{HUB}/processes?$top=2",
        f"{HUB}/runs/{NS}.outgoingFlowRun?$top=2",
        f"{RUNS}?$top=2&$orderby=displayName",
        f"{RUNS}?$top=2&$orderby=startDateTime asc",
    ):
        response = client.get(f"{elsewhere}&$skiptoken={run_token}")
        assert_error(response, 400, "invalidRequest", "$skiptoken")


def test_skiptoken_survives_writes_without_duplicates_or_gaps(
    client: TestClient, seven_runs: list[dict[str, Any]]
) -> None:
    first = get_json(client, f"{RUNS}?$top=3")
    seen = _ids(first["value"])
    deleted = first["value"][0]["id"]
    client.delete(run_url(deleted))
    create_run(client, "newest", startDateTime="2027-01-01T00:00:00Z")
    rest = collect_all(client, first["@odata.nextLink"])
    assert seen + _ids(rest) == _default_order(seven_runs)


def test_next_link_after_the_remaining_rows_are_deleted_is_an_empty_last_page(
    client: TestClient, seven_runs: list[dict[str, Any]]
) -> None:
    first = get_json(client, f"{RUNS}?$top=3")
    shown = set(_ids(first["value"]))
    for run in seven_runs:
        if run["id"] not in shown:
            client.delete(run_url(run["id"]))
    last = get_json(client, first["@odata.nextLink"])
    assert last["value"] == []
    assert "@odata.nextLink" not in last


def test_next_link_of_a_navigation_in_parenthesised_key_form(client: TestClient) -> None:
    process = create_process(client)
    runs_url = f"{HUB}/processes('{process['id']}')/runs"
    made = [create_run(client, f"r{i}", collection=runs_url) for i in range(5)]
    rows = collect_all(client, f"{runs_url}?$top=2")
    assert sorted(_ids(rows)) == sorted(_ids(made))


def test_next_link_keeps_the_other_options(
    client: TestClient, seven_runs: list[dict[str, Any]]
) -> None:
    body = get_json(client, f"{RUNS}?$top=2&$select=displayName&$count=true&custom=1")
    query = parse_qs(urlsplit(body["@odata.nextLink"]).query)
    assert query["$select"] == ["displayName"]
    assert query["$count"] == ["true"]
    second = get_json(client, body["@odata.nextLink"])
    assert second["@odata.count"] == 7
    assert set(second["value"][0]) == {"@odata.type", "@odata.etag", "id", "displayName"}


def test_group_member_refs_page_too(client: TestClient) -> None:
    group = create_group(client)
    members = [create_run(client, f"m{i}") for i in range(5)]
    for run in members:
        assert add_member(client, group["id"], run["id"]).status_code == 204
    rows = collect_all(client, f"{HUB}/runGroups/{group['id']}/runs/$ref?$top=2")
    assert sorted(r["@odata.id"] for r in rows) == sorted(
        f"{BASE_URL}{run_url(r['id'])}" for r in members
    )


# -- $select and not-yet-supported options -----------------------------------------------------


def test_select_limits_the_properties_of_each_row(
    client: TestClient, seven_runs: list[dict[str, Any]]
) -> None:
    body = get_json(client, f"{RUNS}?$select=displayName,status")
    assert body["@odata.context"] == (
        f"{BASE_URL}/beta/$metadata#external/industryData/runs(displayName,status)"
    )
    for row in body["value"]:
        assert set(row) == {"@odata.type", "@odata.etag", "id", "displayName", "status"}


def test_select_star_returns_everything(client: TestClient) -> None:
    run = create_run(client)
    body = get_json(client, f"{run_url(run['id'])}?$select=*")
    assert {k: v for k, v in body.items() if k != "@odata.context"} == {
        k: v for k, v in run.items() if k != "@odata.context"
    }


def test_select_a_derived_type_property(client: TestClient) -> None:
    create_process(client, "share", DATA_SHARE, shareName="orders")
    create_process(client, "insights", INSIGHTS)
    body = get_json(client, f"{HUB}/processes?$select={NS}.dataShareOutgoingFlow/shareName")
    by_name = {p["@odata.type"]: p for p in body["value"]}
    assert by_name[DATA_SHARE]["shareName"] == "orders"
    assert "shareName" not in by_name[INSIGHTS]
    assert "displayName" not in by_name[INSIGHTS]


@pytest.mark.parametrize("select", ["nothing", "displayName,nope", "process"])
def test_select_unknown_property_is_400(client: TestClient, select: str) -> None:
    assert_error(client.get(f"{RUNS}?$select={select}"), 400, "invalidRequest", "$select")


@pytest.mark.parametrize("option", ["$compute=1 as x", "$index=1", "$levels=2", "$schemaversion=1"])
def test_options_flowruns_does_not_offer_are_400_not_ignored(
    client: TestClient, option: str
) -> None:
    name = option.partition("=")[0]
    assert_error(client.get(f"{RUNS}?{option}"), 400, "invalidRequest", name.removeprefix("$"))


def test_unknown_dollar_option_is_400_and_custom_options_are_ignored(client: TestClient) -> None:
    create_run(client)
    assert_error(client.get(f"{RUNS}?$frobnicate=1"), 400, "invalidRequest")
    assert len(get_json(client, f"{RUNS}?frobnicate=1")["value"]) == 1


def test_an_option_given_twice_is_400(client: TestClient) -> None:
    assert_error(client.get(f"{RUNS}?$top=1&top=2"), 400, "invalidRequest")


@pytest.mark.parametrize("option", ["$top=1", "$skip=1", "$orderby=id", "$count=true"])
def test_collection_options_on_a_single_entity_are_400(client: TestClient, option: str) -> None:
    run = create_run(client)
    assert_error(client.get(f"{run_url(run['id'])}?{option}"), 400, "invalidRequest")
