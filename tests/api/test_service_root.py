"""The service root, the hub, $metadata and how paths are matched (SPEC §1)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from flowruns.settings import DEFAULT_TENANT
from tests.api.steps import (
    BASE_URL,
    JSON_CONTENT_TYPE,
    assert_error,
    create_process,
    create_run,
    get_json,
)
from tests.conftest import HUB, NS, ROOT


def test_service_document_lists_the_external_singleton_and_subscriptions(
    client: TestClient,
) -> None:
    for path in (ROOT, f"{ROOT}/"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.headers["content-type"] == JSON_CONTENT_TYPE
        body = response.json()
        assert body["@odata.context"] == f"{BASE_URL}{ROOT}/$metadata"
        assert body["value"] == [
            {"name": "external", "kind": "Singleton", "url": "external"},
            {"name": "subscriptions", "kind": "EntitySet", "url": "subscriptions"},
        ]


def test_metadata_is_csdl_xml(client: TestClient) -> None:
    response = client.get(f"{ROOT}/$metadata")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/xml"
    assert response.headers["OData-Version"] == "4.0"
    assert response.text.startswith("<?xml")
    assert f'<EntityType Name="outgoingFlowRun" BaseType="{NS}.run"' in response.text


def test_hub_is_an_industry_data_hub_with_a_constant_etag(client: TestClient) -> None:
    first = client.get(HUB)
    assert first.status_code == 200
    body = first.json()
    assert body["@odata.context"] == f"{BASE_URL}{ROOT}/$metadata#external/industryData/$entity"
    assert body["@odata.type"] == f"#{NS}.industryDataHub"
    assert body["id"] == DEFAULT_TENANT
    assert body["eTag"] == body["@odata.etag"] == first.headers["ETag"]
    create_run(client)
    assert client.get(HUB).json()["eTag"] == body["eTag"]


@pytest.mark.parametrize(
    "path",
    [
        "/beta/EXTERNAL/industrydata/RUNS",
        "/beta/External/IndustryData/Runs/$COUNT",
        "/beta/external/industryData/runs/MICROSOFT.GRAPH.INDUSTRYDATA.OUTGOINGFLOWRUN",
        "/beta/$METADATA",
    ],
)
def test_path_segments_are_case_insensitive(client: TestClient, path: str) -> None:
    create_run(client)
    assert client.get(path).status_code == 200


def test_entity_segments_are_case_insensitive(client: TestClient) -> None:
    run = create_run(client)
    process = create_process(client)
    client.put(
        f"{HUB}/runs/{run['id']}/process/$ref",
        json={"@odata.id": f"{HUB}/processes/{process['id']}"},
    )
    body = get_json(client, f"/beta/EXTERNAL/INDUSTRYDATA/RUNS/{run['id']}/PROCESS")
    assert body["id"] == process["id"]
    runs = get_json(client, f"/beta/external/industryData/PROCESSES/{process['id']}/Runs")
    assert [r["id"] for r in runs["value"]] == [run["id"]]


@pytest.mark.parametrize("option", ["$top", "top", "$TOP", "Top"])
def test_query_option_names_are_case_insensitive_and_dollar_is_optional(
    client: TestClient, option: str
) -> None:
    for i in range(3):
        create_run(client, f"run {i}")
    body = get_json(client, f"{HUB}/runs?{option}=1")
    assert len(body["value"]) == 1
    assert "@odata.nextLink" in body


@pytest.mark.parametrize("option", ["select", "$SELECT", "$select"])
def test_select_without_dollar_or_in_capitals(client: TestClient, option: str) -> None:
    run = create_run(client)
    body = get_json(client, f"{HUB}/runs/{run['id']}?{option}=status")
    assert "status" in body
    assert "displayName" not in body


@pytest.mark.parametrize(
    ("path", "segment"),
    [
        ("/beta/nothing", "nothing"),
        ("/beta/external/industryData/flows", "flows"),
        ("/beta/external/other", "other"),
        ("/beta/external/industryData/runs/x/nothing", "nothing"),
    ],
)
def test_unknown_segment_is_a_bad_request_naming_it(
    client: TestClient, path: str, segment: str
) -> None:
    error = assert_error(client.get(path), 400, "BadRequest")
    assert f"'{segment}'" in error["message"]


def test_path_outside_the_service_root_is_a_graph_404(client: TestClient) -> None:
    assert_error(client.get("/nothing-here"), 404, "itemNotFound")


@pytest.mark.parametrize("path", ["/external/industryData/runs", "/$metadata"])
def test_a_path_missing_beta_says_where_the_service_root_is(client: TestClient, path: str) -> None:
    error = assert_error(client.get(path), 404, "itemNotFound")
    assert error["message"] == (
        f"No resource at '{path}'. The OData service root ends in /beta: http://testserver/beta"
    )


def test_the_documents_are_served_without_a_token_as_graph_serves_them(
    client: TestClient,
) -> None:
    """They describe the model and hold no tenant's data; generic OData clients read $metadata
    before anything else. A token that is sent is still checked."""
    anonymous = {"Authorization": ""}
    del client.headers["Authorization"]
    for path in (ROOT, f"{ROOT}/", f"{ROOT}/$metadata", f"{ROOT}/$METADATA"):
        assert client.get(path).status_code == 200, path
        assert client.head(path).status_code == 200, path
    assert_error(
        client.get(f"{ROOT}/$metadata", headers={"Authorization": "Bearer x"}),
        401,
        "InvalidAuthenticationToken",
    )
    assert_error(client.get(HUB, headers=anonymous), 401, "InvalidAuthenticationToken")
    assert_error(client.post(f"{ROOT}/$metadata"), 401, "InvalidAuthenticationToken")
    document = client.get("/openapi.json").json()
    optional = {
        path
        for path, operations in document["paths"].items()
        for operation in operations.values()
        if {} in operation.get("security", [])
    }
    assert optional == {"/", "/$metadata"}
