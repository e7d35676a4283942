"""Delta query over HTTP: the first round, later rounds, removals, $select and $filter carried
in tokens, the URL forms Graph clients send, tokens that are tampered with or expired."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import orjson
import pytest
from starlette.testclient import TestClient

from flowruns.api.app import create_app, open_database
from flowruns.auth.scopes import FLOW_READ
from flowruns.edm.datetimes import TICKS_PER_SECOND, now_ticks
from flowruns.service import retention, stale
from flowruns.settings import Settings
from tests.api.delta_sync import Mirror, full_read
from tests.api.steps import (
    add_member,
    assert_error,
    create_group,
    create_process,
    create_run,
)
from tests.conftest import HUB, NS, bearer

RUNS_DELTA = f"{HUB}/runs/delta()"


def _round(client: TestClient, url: str) -> tuple[list[dict[str, object]], str]:
    """Every item of one round from ``url``, and its deltaLink."""
    items: list[dict[str, object]] = []
    while True:
        body = client.get(url).json()
        items += body["value"]
        if "@odata.deltaLink" in body:
            return items, str(body["@odata.deltaLink"])
        url = body["@odata.nextLink"]


def _value_bytes(body: bytes) -> bytes:
    """The ``value`` of a response body, as written."""
    start = body.index(b'"value":[') + len(b'"value":')
    assert body.endswith(b"]}")
    return body[start:-1]


def test_the_first_round_pages_with_next_links_and_ends_with_a_delta_link(
    client: TestClient,
) -> None:
    created = {create_run(client, f"run {i}")["id"] for i in range(7)}
    mirror = Mirror(RUNS_DELTA, page_size=3)
    items = mirror.sync(client)
    assert sorted(item["id"] for item in items) == sorted(created)  # each once
    assert mirror.copy == full_read(client, f"{HUB}/runs")
    # Nothing changed: an empty page and a new deltaLink.
    response = client.get(str(mirror.delta_link))
    body = response.json()
    assert body["value"] == []
    assert "@odata.nextLink" not in body
    assert "$deltatoken=" in body["@odata.deltaLink"]


def test_a_later_round_returns_each_changed_entity_once_in_its_latest_state(
    client: TestClient,
) -> None:
    runs = [create_run(client, f"run {i}") for i in range(3)]
    mirror = Mirror(RUNS_DELTA)
    mirror.sync(client)
    for name in ("renamed", "renamed again"):
        client.patch(f"{HUB}/runs/{runs[0]['id']}", json={"displayName": name})
    assert client.delete(f"{HUB}/runs/{runs[1]['id']}").status_code == 204
    new = create_run(client, "new")
    items = mirror.sync(client)
    by_id = {item["id"]: item for item in items}
    assert len(items) == len(by_id) == 3
    assert by_id[runs[0]["id"]]["displayName"] == "renamed again"
    assert by_id[runs[1]["id"]] == {
        "@odata.type": f"#{NS}.outgoingFlowRun",
        "id": runs[1]["id"],
        "@removed": {"reason": "deleted"},
    }
    assert by_id[new["id"]]["displayName"] == "new"
    assert mirror.copy == full_read(client, f"{HUB}/runs")


@pytest.mark.parametrize(
    ("collection", "select"),
    [
        ("runs", None),
        ("runs", "displayName,statistics,startDateTime,status"),
        (f"runs/{NS}.incomingFlowRun", None),
        ("processes", None),
        ("processes", "displayName"),
    ],
)
def test_a_changed_entity_is_written_as_a_read_of_it_writes_it(
    client: TestClient, collection: str, select: str | None
) -> None:
    """Member for member and in the same order as a GET of the entity with the round's
    $select, for every kind of member (timestamps, enums, complex values, collections, escaped
    text)."""
    if collection == "processes":
        entity = create_process(client, 'flow "one"\u00e9\n')
    else:
        kind = "incomingFlowRun" if "incoming" in collection else "outgoingFlowRun"
        entity = create_run(client, 'run "one"\u00e9\n', f"#{NS}.{kind}")
    url = f"{HUB}/{collection}/delta()" + ("" if select is None else f"?$select={select}")
    _, link = _round(client, url)
    change: dict[str, Any] = {"displayName": "changed \t\u2028 \U0001f600"}
    if collection != "processes":
        change["statistics"] = {"recordsProcessed": 12, "recordsFailed": 1}
        change["startDateTime"] = "2026-03-04T05:06:07.1234560Z"
    base = "processes" if collection == "processes" else "runs"
    assert client.patch(f"{HUB}/{base}/{entity['id']}", json=change).status_code == 200
    items, _ = _round(client, link)
    query = "" if select is None else f"?$select={select}"
    read = client.get(f"{HUB}/{base}/{entity['id']}{query}").json()
    del read["@odata.context"]
    assert [list(item.items()) for item in items] == [list(read.items())]
    # Byte for byte as the collection's page writes it.
    listed = client.get(f"{HUB}/{collection}{query}").content
    assert _value_bytes(client.get(link).content) == _value_bytes(listed)


def test_a_heartbeat_is_no_change(client: TestClient) -> None:
    run = create_run(client)
    mirror = Mirror(RUNS_DELTA)
    mirror.sync(client)
    assert client.patch(f"{HUB}/runs/{run['id']}", json={}).status_code == 200
    assert mirror.sync(client) == []


@pytest.mark.parametrize(
    "form",
    ["delta()", "delta", "microsoft.graph.delta()", "microsoft.graph.delta", "DELTA()"],
)
def test_every_form_of_the_function_is_served(client: TestClient, form: str) -> None:
    run = create_run(client)
    items, link = _round(client, f"{HUB}/runs/{form}")
    assert [item["id"] for item in items] == [run["id"]]
    assert f"/runs/{form}?$deltatoken=" in link


def test_a_cast_collection_follows_only_its_type(client: TestClient) -> None:
    outgoing = create_run(client, "out")
    incoming = create_run(client, "in", f"#{NS}.incomingFlowRun")
    url = f"{HUB}/runs/{NS}.incomingFlowRun/microsoft.graph.delta()"
    items, link = _round(client, url)
    assert [item["id"] for item in items] == [incoming["id"]]
    client.patch(f"{HUB}/runs/{outgoing['id']}", json={"displayName": "out 2"})
    client.delete(f"{HUB}/runs/{incoming['id']}")
    items, _ = _round(client, link)
    assert items == [
        {
            "@odata.type": f"#{NS}.incomingFlowRun",
            "id": incoming["id"],
            "@removed": {"reason": "deleted"},
        }
    ]


def test_processes_sync_including_deletions_and_cascades(client: TestClient) -> None:
    process = create_process(client, "nightly")
    other = create_process(client, "weekly")
    run = create_run(client, collection=f"{HUB}/processes/{process['id']}/runs")
    processes = Mirror(f"{HUB}/processes/delta()")
    runs = Mirror(RUNS_DELTA)
    processes.sync(client)
    runs.sync(client)
    client.patch(f"{HUB}/processes/{other['id']}", json={"displayName": "weekly 2"})
    finished = {"status": "completed"}
    assert client.patch(f"{HUB}/runs/{run['id']}", json=finished).status_code == 200
    assert client.delete(f"{HUB}/processes/{process['id']}").status_code == 204
    items = processes.sync(client)
    assert {item["id"]: item.get("@removed") for item in items} == {
        other["id"]: None,
        process["id"]: {"reason": "deleted"},
    }
    # The process took its runs with it: the runs' delta says so.
    assert runs.sync(client) == [
        {
            "@odata.type": f"#{NS}.outgoingFlowRun",
            "id": run["id"],
            "@removed": {"reason": "deleted"},
        }
    ]
    assert processes.copy == full_read(client, f"{HUB}/processes")
    assert runs.copy == full_read(client, f"{HUB}/runs")


def test_a_membership_change_is_a_change_of_its_group(client: TestClient) -> None:
    group = create_group(client)
    run = create_run(client)
    groups = Mirror(f"{HUB}/runGroups/delta()")
    assert [item["id"] for item in groups.sync(client)] == [group["id"]]
    assert add_member(client, group["id"], run["id"]).status_code == 204
    assert [item["id"] for item in groups.sync(client)] == [group["id"]]
    # Deleting the member run changes the group's members too.
    assert client.delete(f"{HUB}/runs/{run['id']}").status_code == 204
    assert [item["id"] for item in groups.sync(client)] == [group["id"]]
    # A run that is no group never shows in runGroups' delta.
    create_run(client)
    assert groups.sync(client) == []


def test_a_run_the_stale_rule_fails_is_a_change(client: TestClient, settings: Settings) -> None:
    run = create_run(client)
    mirror = Mirror(RUNS_DELTA)
    mirror.sync(client)
    database = open_database(settings)
    try:
        assert stale.fail_stale_runs(database, 60, now=now_ticks() + 3600 * TICKS_PER_SECOND) == 1
    finally:
        database.dispose()
    (item,) = mirror.sync(client)
    assert item["id"] == run["id"]
    assert item["status"] == "failed"
    assert item["blockingError"]["code"] == "runTimedOut"


def test_select_and_filter_are_carried_in_the_tokens(client: TestClient) -> None:
    keep = create_run(client, "keep")
    create_run(client, "other")
    url = f"{HUB}/runs/delta()?$select=displayName,status&$filter=startswith(displayName,'keep')"
    first = client.get(url).json()
    assert first["@odata.context"].endswith("#external/industryData/runs(displayName,status)")
    assert [item["id"] for item in first["value"]] == [keep["id"]]
    assert set(first["value"][0]) == {"@odata.type", "@odata.etag", "id", "displayName", "status"}
    link = first["@odata.deltaLink"]
    assert "select" not in link
    assert "filter" not in link
    # A run that comes to match is reported; one that stops matching is removed as changed.
    other_keep = create_run(client, "keep too")
    client.patch(f"{HUB}/runs/{keep['id']}", json={"displayName": "gone"})
    later = client.get(link).json()
    assert later["@odata.context"] == first["@odata.context"]
    by_id = {item["id"]: item for item in later["value"]}
    assert set(by_id[other_keep["id"]]) == {
        "@odata.type",
        "@odata.etag",
        "id",
        "displayName",
        "status",
    }
    assert by_id[keep["id"]]["@removed"] == {"reason": "changed"}
    # Repeating the same $select with the token is fine; another one is a 400.
    same = client.get(f"{link}&$select=displayName,status")
    assert same.status_code == 200
    assert_error(client.get(f"{link}&$select=id"), 400, "invalidRequest", "$select")


@pytest.mark.parametrize(
    "option", ["$orderby=displayName", "$top=1", "$expand=process", "$count=true", "$skip=1"]
)
def test_options_graph_refuses_on_delta_are_400(client: TestClient, option: str) -> None:
    name = option.partition("=")[0]
    assert_error(client.get(f"{RUNS_DELTA}?{option}"), 400, "invalidRequest", name)


def test_a_deltatoken_is_only_for_delta(client: TestClient) -> None:
    assert_error(client.get(f"{HUB}/runs?$deltatoken=latest"), 400, "invalidRequest", "$deltatoken")


def test_latest_starts_at_the_current_state(client: TestClient) -> None:
    create_run(client, "before")
    body = client.get(f"{RUNS_DELTA}?$deltatoken=latest").json()
    assert body["value"] == []
    after = create_run(client, "after")
    items, _ = _round(client, body["@odata.deltaLink"])
    assert [item["id"] for item in items] == [after["id"]]


def _tampered(link: str) -> str:
    base, _, token = link.partition("$deltatoken=")
    body, _, mac = token.partition(".")
    payload = orjson.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload[7] = [0, 0]  # from the start of the log
    forged = base64.urlsafe_b64encode(orjson.dumps(payload)).rstrip(b"=").decode()
    return f"{base}$deltatoken={forged}.{mac}"


def test_tampered_and_foreign_tokens_are_400(client: TestClient, settings: Settings) -> None:
    create_run(client)
    _, link = _round(client, RUNS_DELTA)
    assert_error(client.get(_tampered(link)), 400, "invalidRequest", "$deltatoken")
    assert_error(client.get(f"{RUNS_DELTA}?$deltatoken=nonsense"), 400, "invalidRequest")
    token = link.partition("$deltatoken=")[2]
    # Another collection, another tenant: the token is bound to both.
    other = client.get(f"{HUB}/processes/delta()?$deltatoken={token}")
    assert_error(other, 400, "invalidRequest", "$deltatoken")
    foreign = bearer(settings, tenant="00000000-0000-0000-0000-000000000002")
    assert_error(client.get(link, headers=foreign), 400, "invalidRequest", "$deltatoken")
    # A deltaLink's token is no nextLink's.
    assert_error(client.get(f"{RUNS_DELTA}?$skiptoken={token}"), 400, "invalidRequest")


def test_reading_a_delta_needs_the_collections_read_permission(settings: Settings) -> None:
    app = create_app(settings)
    flows_only = bearer(settings, scopes=(FLOW_READ,))
    with TestClient(app, base_url="http://testserver", headers=flows_only) as client:
        assert_error(client.get(RUNS_DELTA), 403, "accessDenied")
        assert_error(client.get(f"{HUB}/runGroups/delta()"), 403, "accessDenied")
        assert client.get(f"{HUB}/processes/delta()").status_code == 200


def test_a_token_past_the_retention_is_410_sync_state_not_found(
    client: TestClient, settings: Settings
) -> None:
    run = create_run(client)
    _, link = _round(client, RUNS_DELTA)
    client.patch(f"{HUB}/runs/{run['id']}", json={"displayName": "changed"})
    database = open_database(settings)
    try:
        week = settings.change_retention_seconds * TICKS_PER_SECOND
        removed = retention.prune_all(
            database, settings.change_retention_seconds, now=now_ticks() + int(week) + 1
        )
    finally:
        database.dispose()
    assert removed >= 2
    assert_error(client.get(link), 410, "syncStateNotFound")
    # A new round starts afresh and syncs.
    items, _ = _round(client, RUNS_DELTA)
    assert [item["displayName"] for item in items] == ["changed"]


def test_a_token_older_than_the_retention_is_410(settings: Settings) -> None:
    settings.change_retention_seconds = 1e-6
    app = create_app(settings)
    with TestClient(app, base_url="http://testserver", headers=bearer(settings)) as client:
        _, link = _round(client, RUNS_DELTA)
        assert_error(client.get(link), 410, "syncStateNotFound")


_DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
_HTTP_BLOCK = re.compile(r"^```http\n(.*?)^```$", re.DOTALL | re.MULTILINE)
_VARYING = (
    (re.compile(r"\$(skip|delta)token=[\w.~…%-]+"), r"$\1token=<token>"),
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"), "<id>"),
    (re.compile(r'W/\\?"[0-9a-f]{16}\\?"'), "<etag>"),
)


def _normalised(body: dict[str, Any]) -> dict[str, Any]:
    text = orjson.dumps(body).decode()
    for pattern, replacement in _VARYING:
        text = pattern.sub(replacement, text)
    normalised: dict[str, Any] = orjson.loads(text)
    return normalised


def _links(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "value"}


def _documented_bodies() -> list[dict[str, Any]]:
    # The section ends at the next heading of its level or above.
    section = _DOC.read_text().split("\n### Delta query\n", 1)[1]
    section = re.split(r"\n#{2,3} ", section, maxsplit=1)[0]
    blocks = _HTTP_BLOCK.findall(section)
    return [orjson.loads(block.split("\n\n", 1)[1]) for block in blocks[1:]]


def test_the_api_guide_shows_what_delta_answers(settings: Settings) -> None:
    """docs/api.md's delta example, replayed: each answer as the guide shows it."""
    first, last, changed, quiet = (_normalised(body) for body in _documented_bodies())
    app = create_app(settings)
    with TestClient(app, base_url="http://127.0.0.1:8000", headers=bearer(settings)) as client:
        process = create_process(client, "Nightly roster export")
        runs = f"{HUB}/processes/{process['id']}/runs"
        older = create_run(client, "Nightly roster export 2026-12-01", collection=runs)
        newer = create_run(client, "Nightly roster export 2026-12-02", collection=runs)
        one = {"Prefer": "odata.maxpagesize=1"}
        page = client.get(f"{RUNS_DELTA}?$select=displayName,status", headers=one).json()
        second = client.get(page["@odata.nextLink"], headers=one).json()
        # The first round goes by id: which run comes first differs from run to run.
        pages = [_normalised(page), _normalised(second)]
        assert [_links(p) for p in pages] == [_links(first), _links(last)]
        assert sorted(str(p["value"]) for p in pages) == sorted(
            str(p["value"]) for p in (first, last)
        )
        client.patch(f"{HUB}/runs/{newer['id']}", json={"status": "completed"})
        client.delete(f"{HUB}/runs/{older['id']}")
        later = client.get(second["@odata.deltaLink"]).json()
        assert _normalised(later) == changed
        assert _normalised(client.get(later["@odata.deltaLink"]).json()) == quiet


EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


def test_metadata_and_openapi_declare_delta_as_graph_does(client: TestClient) -> None:
    root = ElementTree.fromstring(client.get("/beta/$metadata").content)
    graph = next(s for s in root.iter(f"{EDM}Schema") if s.get("Namespace") == "microsoft.graph")
    bound = {
        f.find(f"{EDM}Parameter").get("Type"): f.find(f"{EDM}ReturnType").get("Type")  # type: ignore[union-attr]
        for f in graph.iter(f"{EDM}Function")
        if f.get("Name") == "delta"
    }
    assert bound == {
        f"Collection({NS}.run)": f"Collection({NS}.run)",
        f"Collection({NS}.process)": f"Collection({NS}.process)",
        "Collection(flowruns.incident)": "Collection(flowruns.incident)",
        "Collection(flowruns.dataset)": "Collection(flowruns.dataset)",
    }
    tracked = {
        annotations.get("Target")
        for annotations in root.iter(f"{EDM}Annotations")
        for term in annotations.iter(f"{EDM}Annotation")
        if term.get("Term") == "Org.OData.Capabilities.V1.ChangeTracking"
        and term.find(f"{EDM}Record/{EDM}PropertyValue[@Property='Supported']").get("Bool")  # type: ignore[union-attr]
        == "true"
    }
    collections = ("runs", "processes", "runGroups", "incidents", "datasets")
    assert tracked == {f"{NS}.industryDataHub/{name}" for name in collections}
    paths = client.get("/openapi.json").json()["paths"]
    for name in collections:
        operation = paths[f"/external/industryData/{name}/delta"]["get"]
        options = {p["name"] for p in operation["parameters"]}
        assert options == {"$select", "$filter", "$deltatoken"}
        assert "@odata.deltaLink" in str(operation["responses"]["200"])
