"""Run groups, their members and getErrorsAndWarningsFile() (SPEC §1, decisions 8 and 11)."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

import pytest
from starlette.testclient import TestClient

from flowruns.service.errors_file import BATCH, PIECE_CHARS
from tests.api.steps import (
    BASE_URL,
    RUN_GROUP,
    add_member,
    assert_error,
    count,
    create_group,
    create_run,
    finished_run,
    get_json,
    run_url,
)
from tests.conftest import HUB, NS

GROUPS = f"{HUB}/runGroups"
COLUMNS = [
    "runId",
    "displayName",
    "runType",
    "status",
    "startDateTime",
    "endDateTime",
    "severity",
    "code",
    "message",
    "target",
]


def _members(client: TestClient, group_id: str) -> set[str]:
    return {r["id"] for r in get_json(client, f"{GROUPS}/{group_id}/runs")["value"]}


def _csv(client: TestClient, url: str) -> list[dict[str, str]]:
    response = client.get(url)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["@odata.context"] == f"{BASE_URL}/beta/$metadata#Edm.String"
    reader = csv.reader(io.StringIO(body["value"], newline=""))
    header = next(reader)
    assert header == COLUMNS
    return [dict(zip(header, row, strict=True)) for row in reader]


def test_create_a_run_group_defaults_its_type(client: TestClient) -> None:
    response = client.post(GROUPS, json={"displayName": "nightly batch"})
    assert response.status_code == 201, response.text
    group = response.json()
    assert group["@odata.type"] == RUN_GROUP
    assert group["status"] == "running"
    assert response.headers["Location"] == f"{BASE_URL}{run_url(group['id'])}"


def test_run_groups_lists_only_groups_and_groups_are_runs(client: TestClient) -> None:
    group = create_group(client)
    plain = create_run(client)
    body = get_json(client, GROUPS)
    assert body["@odata.context"].endswith("#external/industryData/runGroups")
    assert [g["id"] for g in body["value"]] == [group["id"]]
    assert {r["id"] for r in get_json(client, f"{HUB}/runs")["value"]} == {
        group["id"],
        plain["id"],
    }
    assert count(client, "runGroups") == 1
    assert get_json(client, f"{GROUPS}/{group['id']}")["id"] == group["id"]
    assert_error(client.get(f"{GROUPS}/{plain['id']}"), 404, "itemNotFound")


def test_post_to_run_groups_cannot_create_another_run_type(client: TestClient) -> None:
    response = client.post(
        GROUPS, json={"@odata.type": f"#{NS}.outgoingFlowRun", "displayName": "x"}
    )
    assert_error(response, 400, "invalidRequest", "@odata.type")
    assert count(client, "runs") == 0


def test_add_list_and_remove_members(client: TestClient) -> None:
    group = create_group(client)
    a = create_run(client, "a", startDateTime="2026-01-01T00:00:00Z")
    b = create_run(client, "b", startDateTime="2026-01-02T00:00:00Z")
    create_run(client, "outsider")
    assert add_member(client, group["id"], a["id"]).status_code == 204
    assert add_member(client, group["id"], b["id"]).status_code == 204
    members = get_json(client, f"{GROUPS}/{group['id']}/runs")
    assert [r["id"] for r in members["value"]] == [b["id"], a["id"]]
    assert count(client, f"runGroups/{group['id']}/runs") == 2
    refs = get_json(client, f"{GROUPS}/{group['id']}/runs/$ref")
    assert refs["@odata.context"] == f"{BASE_URL}/beta/$metadata#Collection($ref)"
    assert {r["@odata.id"] for r in refs["value"]} == {
        f"{BASE_URL}{run_url(a['id'])}",
        f"{BASE_URL}{run_url(b['id'])}",
    }
    removed = client.delete(f"{GROUPS}/{group['id']}/runs/{a['id']}/$ref")
    assert removed.status_code == 204
    assert _members(client, group["id"]) == {b["id"]}
    assert get_json(client, run_url(a["id"]))["id"] == a["id"]


def test_adding_a_member_twice_is_idempotent(client: TestClient) -> None:
    group = create_group(client)
    run = create_run(client)
    assert add_member(client, group["id"], run["id"]).status_code == 204
    assert add_member(client, group["id"], run["id"]).status_code == 204
    assert count(client, f"runGroups/{group['id']}/runs") == 1


def test_member_ref_accepts_a_relative_url(client: TestClient) -> None:
    group = create_group(client)
    run = create_run(client)
    response = client.post(
        f"{GROUPS}/{group['id']}/runs/$ref",
        json={"@odata.id": f"external/industryData/runs('{run['id']}')"},
    )
    assert response.status_code == 204
    assert _members(client, group["id"]) == {run["id"]}


def test_a_group_cannot_contain_itself(client: TestClient) -> None:
    group = create_group(client)
    assert add_member(client, group["id"], group["id"]).status_code == 400
    assert _members(client, group["id"]) == set()


def test_a_group_may_contain_another_group(client: TestClient) -> None:
    outer = create_group(client, "outer")
    inner = create_group(client, "inner")
    assert add_member(client, outer["id"], inner["id"]).status_code == 204
    assert _members(client, outer["id"]) == {inner["id"]}


def test_a_group_may_be_added_by_its_run_groups_url(client: TestClient) -> None:
    outer = create_group(client, "outer")
    inner = create_group(client, "inner")
    response = client.post(
        f"{GROUPS}/{outer['id']}/runs/$ref",
        json={"@odata.id": f"{BASE_URL}{GROUPS}/{inner['id']}"},
    )
    assert response.status_code == 204, response.text
    assert _members(client, outer["id"]) == {inner["id"]}


def test_adding_a_missing_run_or_to_a_missing_group_is_404(client: TestClient) -> None:
    group = create_group(client)
    run = create_run(client)
    assert add_member(client, group["id"], str(uuid.uuid4())).status_code == 404
    assert add_member(client, str(uuid.uuid4()), run["id"]).status_code == 404
    assert _members(client, group["id"]) == set()


def test_member_ref_must_name_a_run(client: TestClient) -> None:
    group = create_group(client)
    for body in ({}, {"@odata.id": 1}, {"@odata.id": f"{HUB}/processes/{uuid.uuid4()}"}):
        response = client.post(f"{GROUPS}/{group['id']}/runs/$ref", json=body)
        assert_error(response, 400, "invalidRequest", "@odata.id")
    assert _members(client, group["id"]) == set()


def test_removing_a_non_member_is_404(client: TestClient) -> None:
    group = create_group(client)
    run = create_run(client)
    response = client.delete(f"{GROUPS}/{group['id']}/runs/{run['id']}/$ref")
    assert_error(response, 404, "itemNotFound")


def test_runs_cannot_be_created_inside_a_group(client: TestClient) -> None:
    """The navigation is not insertable ($metadata says so): 405, saying what to do instead."""
    group = create_group(client)
    response = client.post(
        f"{GROUPS}/{group['id']}/runs",
        json={"@odata.type": f"#{NS}.outgoingFlowRun", "displayName": "x"},
    )
    error = assert_error(response, 405, "notAllowed")
    assert response.headers["Allow"] == "GET"
    assert "runGroups/{id}/runs/$ref" in error["message"]
    assert count(client, "runs") == 1


def test_deleting_a_member_run_removes_it_from_the_group(client: TestClient) -> None:
    group = create_group(client)
    run = create_run(client)
    add_member(client, group["id"], run["id"])
    assert client.delete(run_url(run["id"])).status_code == 204
    assert _members(client, group["id"]) == set()


def test_deleting_a_group_keeps_its_members(client: TestClient) -> None:
    group = create_group(client)
    run = create_run(client)
    add_member(client, group["id"], run["id"])
    assert client.delete(f"{GROUPS}/{group['id']}").status_code == 204
    assert get_json(client, run_url(run["id"]))["id"] == run["id"]
    assert count(client, "runGroups") == 0


def test_members_of_an_unknown_group_are_404(client: TestClient) -> None:
    missing = f"{GROUPS}/{uuid.uuid4()}/runs"
    assert_error(client.get(missing), 404, "itemNotFound")
    assert_error(client.get(f"{missing}/$count"), 404, "itemNotFound")


# -- getErrorsAndWarningsFile() -------------------------------------------------------------


@pytest.fixture
def group_with_problems(client: TestClient) -> dict[str, Any]:
    group = create_group(client)
    failed = finished_run(
        client,
        "failed one",
        status="failed",
        start="2026-01-01T00:00:00Z",
        end="2026-01-01T00:10:00Z",
        blockingError={"code": "diskFull", "message": "no space", "target": "/var"},
        statistics={"errors": [{"code": "e1", "message": "bad row", "target": "row 3"}]},
    )
    warned = finished_run(
        client,
        "warned",
        status="completedWithWarnings",
        start="2026-01-02T00:00:00Z",
        end="2026-01-02T00:10:00Z",
        statistics={
            "warnings": [
                {"code": "w1", "message": "=HYPERLINK(1)", "target": "col"},
                {"code": "w2", "message": "+1", "target": "@x"},
            ]
        },
    )
    silent = finished_run(
        client,
        "errors without entries",
        status="completedWithErrors",
        start="2026-01-03T00:00:00Z",
        end="2026-01-03T00:10:00Z",
    )
    ok = finished_run(client, "fine", start="2026-01-04T00:00:00Z", end="2026-01-04T00:10:00Z")
    running = create_run(client, "running", statistics={"errors": [{"code": "r"}]})
    outsider = finished_run(client, "outsider", status="failed")
    for run in (silent, ok, running, warned, failed):
        add_member(client, group["id"], run["id"])
    return {
        "group": group,
        "failed": failed,
        "warned": warned,
        "silent": silent,
        "outsider": outsider,
    }


@pytest.mark.parametrize(
    "function",
    [
        "getErrorsAndWarningsFile",
        "getErrorsAndWarningsFile()",
        f"{NS}.getErrorsAndWarningsFile()",
        f"{NS}.getErrorsAndWarningsFile",
    ],
)
def test_errors_file_lists_each_problem_of_failed_or_warned_members(
    client: TestClient, group_with_problems: dict[str, Any], function: str
) -> None:
    runs = group_with_problems
    rows = _csv(client, f"{GROUPS}/{runs['group']['id']}/{function}")
    assert [(r["runId"], r["severity"], r["code"]) for r in rows] == [
        (runs["failed"]["id"], "blockingError", "diskFull"),
        (runs["failed"]["id"], "error", "e1"),
        (runs["warned"]["id"], "warning", "w1"),
        (runs["warned"]["id"], "warning", "w2"),
        (runs["silent"]["id"], "error", ""),
    ]
    first = rows[0]
    assert first == {
        "runId": runs["failed"]["id"],
        "displayName": "failed one",
        "runType": "outgoingFlowRun",
        "status": "failed",
        "startDateTime": "2026-01-01T00:00:00Z",
        "endDateTime": "2026-01-01T00:10:00Z",
        "severity": "blockingError",
        "code": "diskFull",
        "message": "no space",
        "target": "/var",
    }


def test_errors_file_defuses_spreadsheet_formulas(
    client: TestClient, group_with_problems: dict[str, Any]
) -> None:
    rows = _csv(client, f"{GROUPS}/{group_with_problems['group']['id']}/getErrorsAndWarningsFile")
    warnings = [r for r in rows if r["severity"] == "warning"]
    assert [(r["message"], r["target"]) for r in warnings] == [
        ("'=HYPERLINK(1)", "col"),
        ("'+1", "'@x"),
    ]


@pytest.mark.parametrize("name", ["=cmd|' /C calc'!A0", "+1", "-2", "@SUM(A1)"])
def test_errors_file_defuses_formulas_in_display_names(client: TestClient, name: str) -> None:
    group = create_group(client)
    run = finished_run(client, name, status="completedWithErrors")
    add_member(client, group["id"], run["id"])
    rows = _csv(client, f"{GROUPS}/{group['id']}/getErrorsAndWarningsFile")
    assert [r["displayName"] for r in rows] == ["'" + name]


def test_errors_file_of_an_empty_group_is_just_the_header(client: TestClient) -> None:
    group = create_group(client)
    assert _csv(client, f"{GROUPS}/{group['id']}/getErrorsAndWarningsFile") == []


def test_errors_file_through_runs_with_a_cast(client: TestClient) -> None:
    group = create_group(client)
    url = f"{run_url(group['id'])}/{NS}.runGroup/{NS}.getErrorsAndWarningsFile()"
    assert _csv(client, url) == []


def test_errors_file_of_a_run_that_is_not_a_group_is_400(client: TestClient) -> None:
    run = create_run(client)
    response = client.get(f"{run_url(run['id'])}/getErrorsAndWarningsFile")
    assert_error(response, 400, "BadRequest")
    cast = client.get(f"{run_url(run['id'])}/{NS}.runGroup/getErrorsAndWarningsFile")
    assert_error(cast, 404, "itemNotFound")


def test_errors_file_of_an_unknown_group_is_404(client: TestClient) -> None:
    response = client.get(f"{GROUPS}/{uuid.uuid4()}/getErrorsAndWarningsFile")
    assert_error(response, 404, "itemNotFound")


def test_errors_file_of_a_group_larger_than_a_batch_is_whole_and_in_order(
    client: TestClient,
) -> None:
    group = create_group(client)
    members = []
    for i in range(BATCH + 5):
        # Three runs share each start time: the order between them is by id.
        start = f"2026-01-{1 + i // 3:02d}T00:00:00Z"
        run = finished_run(client, f"m{i}", status="failed", start=start, end=start)
        add_member(client, group["id"], run["id"])
        members.append((start, run["id"]))
    rows = _csv(client, f"{GROUPS}/{group['id']}/getErrorsAndWarningsFile")
    assert [(r["startDateTime"], r["runId"]) for r in rows] == sorted(members)


def test_errors_file_text_survives_being_sent_in_pieces(client: TestClient) -> None:
    message = 'a "quoted", back\\slashed,\r\nmulti-line é ☃ 𝄞 message ' * 20
    group = create_group(client)
    expected = []
    for day in range(1, 9):
        start = f"2026-01-0{day}T00:00:00Z"
        errors = [{"code": f"c{day}.{i}", "message": message} for i in range(20)]
        run = finished_run(
            client, "pieces", "completedWithErrors", start, start, statistics={"errors": errors}
        )
        add_member(client, group["id"], run["id"])
        expected += [(e["code"], message) for e in errors]
    response = client.get(f"{GROUPS}/{group['id']}/getErrorsAndWarningsFile")
    assert len(response.content) > 2 * PIECE_CHARS
    rows = _csv(client, f"{GROUPS}/{group['id']}/getErrorsAndWarningsFile")
    assert [(r["code"], r["message"]) for r in rows] == expected


def test_errors_file_is_read_only(client: TestClient) -> None:
    group = create_group(client)
    response = client.post(f"{GROUPS}/{group['id']}/getErrorsAndWarningsFile", json={})
    assert_error(response, 405, "notAllowed")
    assert response.headers["Allow"] == "GET"


def test_membership_changes_are_writes_to_the_group(client: TestClient) -> None:
    group = create_run(client, "group", RUN_GROUP)
    member = create_run(client, "member")
    group_url = f"{HUB}/runs/{group['id']}"
    before = get_json(client, group_url)["@odata.etag"]
    added = client.post(
        f"{HUB}/runGroups/{group['id']}/runs/$ref",
        json={"@odata.id": f"external/industryData/runs/{member['id']}"},
    )
    assert added.status_code == 204
    after_add = get_json(client, group_url)["@odata.etag"]
    assert after_add != before
    client.delete(f"{HUB}/runGroups/{group['id']}/runs/{member['id']}/$ref")
    assert get_json(client, group_url)["@odata.etag"] not in (before, after_add)


def test_member_references_honour_maxpagesize(client: TestClient) -> None:
    group = create_run(client, "group", RUN_GROUP)
    for i in range(3):
        member = create_run(client, f"m{i}")
        client.post(
            f"{HUB}/runGroups/{group['id']}/runs/$ref",
            json={"@odata.id": f"external/industryData/runs/{member['id']}"},
        )
    page = client.get(
        f"{HUB}/runGroups/{group['id']}/runs/$ref", headers={"Prefer": "odata.maxpagesize=2"}
    )
    assert page.headers["Preference-Applied"] == "odata.maxpagesize=2"
    assert len(page.json()["value"]) == 2
    assert "@odata.nextLink" in page.json()
