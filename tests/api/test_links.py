"""A run's process link: the navigation, its $ref, and process@odata.bind (SPEC §1, §3)."""

from __future__ import annotations

import uuid

import pytest
from starlette.testclient import TestClient

from tests.api.steps import (
    BASE_URL,
    DATA_SHARE,
    INSIGHTS,
    assert_error,
    assert_unchanged,
    count,
    create_group,
    create_process,
    create_run,
    get_json,
    process_url,
    run_url,
)
from tests.conftest import HUB, NS


def _process_of(client: TestClient, run_id: str) -> str | None:
    response = client.get(f"{run_url(run_id)}/process")
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    process_id: str = response.json()["id"]
    return process_id


# -- runs/{id}/process ----------------------------------------------------------------------


def test_process_of_a_run_without_one_is_404(client: TestClient) -> None:
    run = create_run(client)
    assert_error(client.get(f"{run_url(run['id'])}/process"), 404, "itemNotFound")
    assert_error(client.get(f"{run_url(str(uuid.uuid4()))}/process"), 404, "itemNotFound")


def test_get_the_process_of_a_run(client: TestClient) -> None:
    process = create_process(client, odata_type=DATA_SHARE, shareName="orders")
    run = create_run(client, collection=f"{process_url(process['id'])}/runs")
    response = client.get(f"{run_url(run['id'])}/process")
    assert response.status_code == 200
    body = response.json()
    assert body["@odata.context"].endswith(
        f"#external/industryData/runs('{run['id']}')/process/$entity"
    )
    assert {k: v for k, v in body.items() if k != "@odata.context"} == {
        k: v for k, v in process.items() if k != "@odata.context"
    }


def test_post_a_process_body_creates_and_links_it(client: TestClient) -> None:
    run = create_run(client)
    response = client.post(
        f"{run_url(run['id'])}/process", json={"@odata.type": INSIGHTS, "displayName": "new"}
    )
    assert response.status_code == 201, response.text
    process = response.json()
    assert process["@odata.type"] == INSIGHTS
    assert response.headers["Location"] == f"{BASE_URL}{process_url(process['id'])}"
    assert _process_of(client, run["id"]) == process["id"]
    assert count(client, "processes") == 1


def test_post_a_process_replaces_an_earlier_link_and_keeps_the_old_process(
    client: TestClient,
) -> None:
    old = create_process(client, "old")
    run = create_run(client, collection=f"{process_url(old['id'])}/runs")
    response = client.post(
        f"{run_url(run['id'])}/process", json={"@odata.type": INSIGHTS, "displayName": "new"}
    )
    assert response.status_code == 201
    assert _process_of(client, run["id"]) == response.json()["id"]
    assert_unchanged(client, process_url(old["id"]), old)
    assert count(client, f"processes/{old['id']}/runs") == 0


def test_post_a_process_for_an_unknown_run_creates_nothing(client: TestClient) -> None:
    response = client.post(
        f"{run_url(str(uuid.uuid4()))}/process",
        json={"@odata.type": INSIGHTS, "displayName": "new"},
    )
    assert_error(response, 404, "itemNotFound")
    assert count(client, "processes") == 0


def test_post_an_invalid_process_body_links_nothing(client: TestClient) -> None:
    run = create_run(client)
    response = client.post(f"{run_url(run['id'])}/process", json={"@odata.type": INSIGHTS})
    assert_error(response, 400, "invalidRequest", "displayName")
    assert count(client, "processes") == 0
    assert_unchanged(client, run_url(run["id"]), run)


def test_delete_on_the_navigation_itself_is_not_allowed(client: TestClient) -> None:
    process = create_process(client)
    run = create_run(client, collection=f"{process_url(process['id'])}/runs")
    response = client.delete(f"{run_url(run['id'])}/process")
    assert_error(response, 405, "notAllowed")
    assert "DELETE" not in response.headers["Allow"]
    assert _process_of(client, run["id"]) == process["id"]


# -- $ref -----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_put_or_post_ref_links_an_existing_process(client: TestClient, method: str) -> None:
    process = create_process(client)
    run = create_run(client)
    response = client.request(
        method,
        f"{run_url(run['id'])}/process/$ref",
        json={"@odata.id": f"{BASE_URL}{process_url(process['id'])}"},
    )
    assert response.status_code == 204, response.text
    assert _process_of(client, run["id"]) == process["id"]
    assert count(client, f"processes/{process['id']}/runs") == 1


def test_get_ref_names_the_process_by_absolute_url(client: TestClient) -> None:
    process = create_process(client)
    run = create_run(client, collection=f"{process_url(process['id'])}/runs")
    body = get_json(client, f"{run_url(run['id'])}/process/$ref")
    assert body == {
        "@odata.context": f"{BASE_URL}/beta/$metadata#$ref",
        "@odata.id": f"{BASE_URL}{process_url(process['id'])}",
    }


def test_get_ref_of_a_run_without_process_is_404(client: TestClient) -> None:
    run = create_run(client)
    assert_error(client.get(f"{run_url(run['id'])}/process/$ref"), 404, "itemNotFound")


def test_delete_ref_unlinks_and_keeps_both(client: TestClient) -> None:
    process = create_process(client)
    run = create_run(client, collection=f"{process_url(process['id'])}/runs")
    response = client.delete(f"{run_url(run['id'])}/process/$ref")
    assert response.status_code == 204
    assert _process_of(client, run["id"]) is None
    assert_unchanged(client, process_url(process["id"]), process)
    assert get_json(client, run_url(run["id"]))["displayName"] == run["displayName"]
    assert_error(client.delete(f"{run_url(run['id'])}/process/$ref"), 404, "itemNotFound")


@pytest.mark.parametrize(
    "reference",
    [
        "external/industryData/processes/{id}",
        "external/industryData/processes('{id}')",
        "/beta/external/industryData/processes/{id}",
        BASE_URL + "/beta/external/industryData/processes/{id}",
    ],
)
def test_ref_accepts_absolute_and_relative_urls(client: TestClient, reference: str) -> None:
    process = create_process(client)
    run = create_run(client)
    url = reference.format(id=process["id"])
    response = client.put(f"{run_url(run['id'])}/process/$ref", json={"@odata.id": url})
    assert response.status_code == 204, response.text
    assert _process_of(client, run["id"]) == process["id"]


def test_ref_to_a_missing_process_is_404_and_keeps_the_link(client: TestClient) -> None:
    process = create_process(client)
    run = create_run(client, collection=f"{process_url(process['id'])}/runs")
    response = client.put(
        f"{run_url(run['id'])}/process/$ref",
        json={"@odata.id": process_url(str(uuid.uuid4()))},
    )
    assert_error(response, 404, "itemNotFound")
    assert _process_of(client, run["id"]) == process["id"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"@odata.id": 5},
        {"@odata.id": "http://elsewhere.example/v1.0/processes/1"},
        {"@odata.id": "external/industryData/nothing/1"},
        {"@odata.id": "external/industryData/processes"},
    ],
)
def test_ref_body_must_name_a_process(client: TestClient, body: dict[str, object]) -> None:
    run = create_run(client)
    response = client.put(f"{run_url(run['id'])}/process/$ref", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] in ("invalidRequest", "BadRequest")
    assert _process_of(client, run["id"]) is None


def test_ref_to_a_run_instead_of_a_process_is_rejected(client: TestClient) -> None:
    run = create_run(client)
    other = create_run(client, "other")
    response = client.put(
        f"{run_url(run['id'])}/process/$ref", json={"@odata.id": run_url(other["id"])}
    )
    assert_error(response, 400, "invalidRequest", "@odata.id")
    assert _process_of(client, run["id"]) is None


def test_ref_of_an_unknown_run_is_404(client: TestClient) -> None:
    process = create_process(client)
    response = client.put(
        f"{run_url(str(uuid.uuid4()))}/process/$ref",
        json={"@odata.id": process_url(process["id"])},
    )
    assert_error(response, 404, "itemNotFound")
    assert count(client, f"processes/{process['id']}/runs") == 0


# -- process@odata.bind ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "reference",
    [
        "external/industryData/processes/{id}",
        BASE_URL + "/beta/external/industryData/processes('{id}')",
    ],
)
def test_bind_on_create(client: TestClient, reference: str) -> None:
    process = create_process(client)
    run = create_run(client, **{"process@odata.bind": reference.format(id=process["id"])})
    assert "process@odata.bind" not in run
    assert _process_of(client, run["id"]) == process["id"]


def test_bind_on_patch_changes_the_link_and_etag(client: TestClient) -> None:
    first = create_process(client, "first")
    second = create_process(client, "second")
    run = create_run(client, collection=f"{process_url(first['id'])}/runs")
    response = client.patch(
        run_url(run["id"]), json={"process@odata.bind": process_url(second["id"])}
    )
    assert response.status_code == 200, response.text
    assert response.json()["@odata.etag"] != run["@odata.etag"]
    assert _process_of(client, run["id"]) == second["id"]


def test_linking_the_same_process_again_keeps_the_etag(client: TestClient) -> None:
    process = create_process(client)
    run = create_run(client, collection=f"{process_url(process['id'])}/runs")
    bound = client.patch(
        run_url(run["id"]), json={"process@odata.bind": process_url(process["id"])}
    )
    assert bound.json()["@odata.etag"] == run["@odata.etag"]
    put = client.put(
        f"{run_url(run['id'])}/process/$ref", json={"@odata.id": process_url(process["id"])}
    )
    assert put.status_code == 204
    assert_unchanged(client, run_url(run["id"]), run)


def test_bind_to_a_missing_process_is_404_and_creates_nothing(client: TestClient) -> None:
    response = client.post(
        f"{HUB}/runs",
        json={
            "@odata.type": f"#{NS}.outgoingFlowRun",
            "displayName": "r",
            "process@odata.bind": process_url(str(uuid.uuid4())),
        },
    )
    assert_error(response, 404, "itemNotFound")
    assert count(client, "runs") == 0


def test_bind_must_name_a_process(client: TestClient) -> None:
    other = create_run(client)
    for value, status in [(run_url(other["id"]), 400), (5, 400), ("nowhere/at/all", 400)]:
        response = client.post(
            f"{HUB}/runs",
            json={
                "@odata.type": f"#{NS}.outgoingFlowRun",
                "displayName": "r",
                "process@odata.bind": value,
            },
        )
        assert response.status_code == status, response.text
        assert response.json()["error"]["code"] in ("invalidRequest", "BadRequest")
    assert count(client, "runs") == 1


def test_the_navigation_cannot_be_written_inline(client: TestClient) -> None:
    response = client.post(
        f"{HUB}/runs",
        json={
            "@odata.type": f"#{NS}.outgoingFlowRun",
            "displayName": "r",
            "process": {"displayName": "inline"},
        },
    )
    assert_error(response, 400, "invalidRequest", "process")
    assert count(client, "runs") == 0
    assert count(client, "processes") == 0


def test_bind_on_a_property_that_is_not_a_navigation_is_rejected(client: TestClient) -> None:
    response = client.post(
        f"{HUB}/runs",
        json={
            "@odata.type": f"#{NS}.outgoingFlowRun",
            "displayName": "r",
            "status@odata.bind": "x",
        },
    )
    assert_error(response, 400, "invalidRequest", "status")
    assert count(client, "runs") == 0


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "processes", {"@odata.type": INSIGHTS, "displayName": "p"}),
        ("PATCH", "processes/{process}", {}),
        ("POST", "runs/{run}/process", {"@odata.type": INSIGHTS, "displayName": "p"}),
        ("POST", "runGroups", {"displayName": "g"}),
        ("PATCH", "runGroups/{group}", {}),
    ],
)
@pytest.mark.parametrize("as_list", [False, True], ids=["url", "list of urls"])
def test_collections_of_links_are_not_bound_in_a_body(
    client: TestClient, method: str, path: str, body: dict[str, str], as_list: bool
) -> None:
    """A process's runs link to it from each run; a group's members are added by ``$ref``."""
    process = create_process(client)
    run = create_run(client)
    group = create_group(client)
    url = f"{BASE_URL}{run_url(run['id'])}"
    bind = {"runs@odata.bind": [url] if as_list else url}
    ids = {"process": process["id"], "run": run["id"], "group": group["id"]}
    response = client.request(method, f"{HUB}/{path.format(**ids)}", json={**body, **bind})
    assert_error(response, 400, "invalidRequest", "runs@odata.bind")
    assert count(client, "processes") == 1
    assert count(client, "runs") == 2
    assert count(client, f"runGroups/{group['id']}/runs") == 0
    assert _process_of(client, run["id"]) is None
    assert_unchanged(client, process_url(process["id"]), process)
    assert_unchanged(client, run_url(group["id"]), group)


def test_any_entity_answers_its_own_reference(client: TestClient) -> None:
    run = create_run(client)
    ref = client.get(f"{HUB}/runs/{run['id']}/$ref")
    assert ref.status_code == 200
    assert ref.json()["@odata.id"] == f"{BASE_URL}{HUB}/runs/{run['id']}"
    missing = client.get(f"{HUB}/runs/00000000-0000-0000-0000-000000000000/$ref")
    assert_error(missing, 404, "itemNotFound")


def test_a_run_created_under_a_process_cannot_bind_another(client: TestClient) -> None:
    mine = create_process(client, "mine")
    other = create_process(client, "other")
    response = client.post(
        f"{HUB}/processes/{mine['id']}/runs",
        json={
            "displayName": "run",
            "process@odata.bind": f"external/industryData/processes/{other['id']}",
        },
    )
    assert_error(response, 400, "invalidRequest", "process@odata.bind")
    assert count(client, "runs") == 0
