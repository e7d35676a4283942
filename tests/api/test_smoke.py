from starlette.testclient import TestClient

from tests.conftest import HUB


def test_service_document_names_the_external_singleton(client: TestClient) -> None:
    response = client.get("/beta/")
    assert response.status_code == 200
    assert response.json()["value"] == [
        {"name": "external", "kind": "Singleton", "url": "external"}
    ]


def test_created_run_is_listed(client: TestClient) -> None:
    created = client.post(
        f"{HUB}/runs",
        json={"@odata.type": "#microsoft.graph.industryData.outgoingFlowRun", "displayName": "a"},
    )
    assert created.status_code == 201
    listed = client.get(f"{HUB}/runs").json()["value"]
    assert [r["id"] for r in listed] == [created.json()["id"]]
