"""Reading details: $select and context URLs, the hub's options, HEAD, ordering by eTag."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.api.steps import (
    DATA_SHARE,
    INSIGHTS,
    RUN_GROUP,
    assert_error,
    create_process,
    create_run,
    get_json,
)
from tests.conftest import HUB, NS


def test_select_star_keeps_every_property_of_every_type(client: TestClient) -> None:
    create_process(client, "share", DATA_SHARE, shareName="roster")
    create_process(client, "insights", INSIGHTS)
    body = get_json(client, f"{HUB}/processes?$select=*")
    assert body["@odata.context"].endswith("#external/industryData/processes(*)")
    share = next(p for p in body["value"] if p["displayName"] == "share")
    assert share["shareName"] == "roster"


def test_select_of_a_derived_property_keeps_its_qualifier_in_the_context(
    client: TestClient,
) -> None:
    create_process(client, "share", DATA_SHARE, shareName="roster")
    body = get_json(client, f"{HUB}/processes?$select={NS}.dataShareOutgoingFlow/shareName")
    assert body["@odata.context"].endswith(
        f"#external/industryData/processes({NS}.dataShareOutgoingFlow/shareName)"
    )
    assert body["value"][0]["shareName"] == "roster"
    assert "displayName" not in body["value"][0]


def test_context_of_a_navigation_after_a_cast_keeps_the_cast(client: TestClient) -> None:
    group = create_run(client, "group", RUN_GROUP)
    body = get_json(client, f"{HUB}/runs/{group['id']}/{NS}.runGroup/runs")
    assert body["@odata.context"].endswith(
        f"#external/industryData/runs('{group['id']}')/{NS}.runGroup/runs"
    )


def test_processes_can_be_ordered_by_etag(client: TestClient) -> None:
    for name in ("a", "b", "c"):
        create_process(client, name)
    values = get_json(client, f"{HUB}/processes?$orderby=eTag desc")["value"]
    etags = [p["eTag"] for p in values]
    assert etags == sorted(etags, reverse=True)


def test_hub_answers_select_and_if_none_match_and_rejects_unsupported_options(
    client: TestClient,
) -> None:
    hub = client.get(f"{HUB}?$select=eTag")
    assert hub.status_code == 200
    assert hub.json()["@odata.context"].endswith("#external/industryData(eTag)/$entity")
    assert set(hub.json()) >= {"id", "eTag"}
    unchanged = client.get(HUB, headers={"If-None-Match": hub.headers["ETag"]})
    assert unchanged.status_code == 304
    assert_error(client.get(f"{HUB}?$filter=id eq 'x'"), 400, "invalidRequest", "$filter")
    assert_error(client.get(f"{HUB}?$top=1"), 400, "invalidRequest", "$top")


def test_head_answers_like_get_without_a_body(client: TestClient) -> None:
    run = create_run(client)
    head = client.head(f"{HUB}/runs/{run['id']}")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["ETag"] == run["@odata.etag"]
    assert client.head(f"{HUB}/runs/00000000-0000-0000-0000-000000000000").status_code == 404


def test_post_without_a_type_names_the_problem(client: TestClient) -> None:
    error = assert_error(
        client.post(f"{HUB}/runs", json={"displayName": "untyped"}),
        400,
        "invalidRequest",
        "@odata.type",
    )
    assert "abstract" not in error["message"]
    abstract = client.post(f"{HUB}/runs", json={"@odata.type": f"{NS}.run", "displayName": "x"})
    assert "abstract" in assert_error(abstract, 400, "invalidRequest", "@odata.type")["message"]


def test_external_root_answers_as_a_singleton(client: TestClient) -> None:
    response = client.get("/beta/external")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["@odata.context"].endswith("/$metadata#external")
    assert body["@odata.type"] == "#microsoft.graph.externalConnectors.external"
    assert (
        client.get(
            "/beta/external", headers={"If-None-Match": response.headers["ETag"]}
        ).status_code
        == 304
    )
    assert client.post("/beta/external", json={}).status_code == 405
