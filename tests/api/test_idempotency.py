"""Idempotent create (SPEC §3): a retried POST with the same Idempotency-Key creates nothing new."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from starlette.testclient import TestClient

from tests.conftest import HUB, NS

RUN = {"@odata.type": f"#{NS}.outgoingFlowRun", "displayName": "nightly export"}


def _count(client: TestClient, collection: str = "runs") -> int:
    return int(client.get(f"{HUB}/{collection}/$count").text)


def test_repeated_post_returns_the_original_response_and_creates_one_run(
    client: TestClient,
) -> None:
    first = client.post(f"{HUB}/runs", json=RUN, headers={"Idempotency-Key": "retry-1"})
    client.patch(first.headers["Location"], json={"displayName": "renamed later"})
    again = client.post(f"{HUB}/runs", json=RUN, headers={"Idempotency-Key": "retry-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Location"] == first.headers["Location"]
    assert _count(client) == 1


def test_same_key_with_another_body_is_a_conflict_and_creates_nothing(
    client: TestClient,
) -> None:
    client.post(f"{HUB}/runs", json=RUN, headers={"Idempotency-Key": "k"})
    other = client.post(
        f"{HUB}/runs", json={**RUN, "displayName": "other"}, headers={"Idempotency-Key": "k"}
    )
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "conflict"
    assert other.json()["error"]["target"] == "Idempotency-Key"
    assert _count(client) == 1


def test_different_keys_create_different_runs(client: TestClient) -> None:
    a = client.post(f"{HUB}/runs", json=RUN, headers={"Idempotency-Key": "a"})
    b = client.post(f"{HUB}/runs", json=RUN, headers={"Idempotency-Key": "b"})
    assert a.json()["id"] != b.json()["id"]
    assert _count(client) == 2


def test_process_create_is_idempotent_too(client: TestClient) -> None:
    body = {"@odata.type": f"{NS}.insightsOutgoingFlow", "displayName": "insights"}
    first = client.post(f"{HUB}/processes", json=body, headers={"Idempotency-Key": "p"})
    again = client.post(f"{HUB}/processes", json=body, headers={"Idempotency-Key": "p"})
    assert again.json()["id"] == first.json()["id"]
    assert _count(client, "processes") == 1


def test_a_key_is_bound_to_the_url_it_was_used_on(client: TestClient) -> None:
    process = client.post(
        f"{HUB}/processes",
        json={"@odata.type": f"{NS}.insightsOutgoingFlow", "displayName": "p"},
    ).json()
    client.post(f"{HUB}/runs", json=RUN, headers={"Idempotency-Key": "u"})
    elsewhere = client.post(
        f"{HUB}/processes/{process['id']}/runs", json=RUN, headers={"Idempotency-Key": "u"}
    )
    assert elsewhere.status_code == 409
    assert _count(client) == 1


def test_concurrent_retries_create_one_run(client: TestClient) -> None:
    def post(_: int) -> str:
        response = client.post(f"{HUB}/runs", json=RUN, headers={"Idempotency-Key": "race"})
        assert response.status_code == 201
        return str(response.json()["id"])

    with ThreadPoolExecutor(max_workers=4) as pool:
        ids = set(pool.map(post, range(8)))
    assert len(ids) == 1
    assert _count(client) == 1


def test_an_unusable_key_is_rejected(client: TestClient) -> None:
    response = client.post(f"{HUB}/runs", json=RUN, headers={"Idempotency-Key": "x" * 256})
    assert response.status_code == 400
    assert response.json()["error"]["target"] == "Idempotency-Key"
    assert _count(client) == 0
