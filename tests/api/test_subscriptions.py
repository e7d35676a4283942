"""Subscriptions over HTTP (in process): what a creation request may say, who may see and
change a subscription, and which receivers are refused. Delivery itself, with real receiver
processes, is tests/test_notifications.py."""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio
import httpx
import pytest
from starlette.testclient import TestClient

from flowruns.api.app import create_app
from flowruns.api.notifying import Refused, checked_address, refusal, send
from flowruns.auth.scopes import FLOW_READ, RUN_READ, RUN_READ_WRITE
from flowruns.settings import Settings
from tests.api.steps import assert_error
from tests.conftest import ROOT, bearer
from tests.webhooks import Receiver, start_receiver

SUBSCRIPTIONS = f"{ROOT}/subscriptions"


def _later(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat().replace("+00:00", "Z")


def _body(url: str = "https://webhook.example.com/notify", **changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "changeType": "created",
        "notificationUrl": url,
        "resource": "external/industryData/runs",
        "expirationDateTime": _later(hours=1),
    }
    body.update(changes)
    return body


@pytest.mark.parametrize(
    ("changes", "target"),
    [
        ({"changeType": "created,moved"}, "changeType"),
        ({"changeType": "created,created"}, "changeType"),
        ({"expirationDateTime": _later(hours=-1)}, "expirationDateTime"),
        ({"expirationDateTime": _later(days=4)}, "expirationDateTime"),
        ({"resource": "external/industryData/runs/x"}, "resource"),
        ({"resource": "external/industryData/nothing"}, "resource"),
        ({"resource": "external/industryData/runs?$top=5"}, "resource"),
        ({"resource": "external/industryData/runs?$filter=status eq"}, "$filter"),
        ({"clientState": "x" * 129}, "clientState"),
        ({"includeResourceData": True}, "encryptionCertificate"),
        ({"includeResourceData": "yes"}, "includeResourceData"),
        ({"encryptionCertificate": "MIIB"}, "encryptionCertificate"),
        ({"notificationUrl": "http://webhook.example.com/notify"}, "notificationUrl"),
        ({"notificationUrl": "https://127.0.0.1/notify"}, "notificationUrl"),
        (
            {
                "notificationUrl": "https://93.184.215.14/notify",  # a public address
                "lifecycleNotificationUrl": "https://169.254.169.254/",
            },
            "lifecycleNotificationUrl",
        ),
        ({"applicationId": "me"}, "applicationId"),
    ],
)
def test_a_creation_request_graph_would_refuse_is_a_400(
    client: TestClient, changes: dict[str, object], target: str
) -> None:
    response = client.post(SUBSCRIPTIONS, json={**_body(), **changes})
    assert response.status_code == 400, response.text
    assert response.json()["error"].get("target") == target, response.text


def test_a_subscription_needs_read_permission_on_its_resource(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        flows_only = bearer(settings, scopes=(FLOW_READ,))
        response = client.post(SUBSCRIPTIONS, json=_body(), headers=flows_only)
        assert_error(response, 403, "accessDenied")
        listed = client.get(SUBSCRIPTIONS, headers=flows_only)
        assert listed.status_code == 200
        assert listed.json()["value"] == []


def test_a_subscription_to_the_runs_of_a_missing_process_is_a_404(client: TestClient) -> None:
    resource = f"external/industryData/processes/{uuid.uuid4()}/runs"
    assert_error(client.post(SUBSCRIPTIONS, json=_body(resource=resource)), 404, "itemNotFound")


def test_another_subscription_is_a_404_however_it_is_asked_for(client: TestClient) -> None:
    missing = f"{SUBSCRIPTIONS}/{uuid.uuid4()}"
    assert_error(client.get(missing), 404, "itemNotFound")
    renewal = {"expirationDateTime": _later(hours=2)}
    assert_error(client.patch(missing, json=renewal), 404, "itemNotFound")
    assert_error(client.delete(missing), 404, "itemNotFound")
    assert_error(client.post(f"{missing}/reauthorize"), 404, "itemNotFound")


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    started = start_receiver(tmp_path / "received.jsonl")
    yield started
    started.stop()


@pytest.fixture
def local_client(settings: Settings) -> Iterator[TestClient]:
    """A server that lets notifications go to loopback, with a read-write token."""
    settings.notification_allow_private = True
    with TestClient(create_app(settings), headers=bearer(settings)) as client:
        yield client


def test_a_subscription_is_read_renewed_listed_and_deleted_by_its_application(
    local_client: TestClient, settings: Settings, receiver: Receiver
) -> None:
    created = local_client.post(SUBSCRIPTIONS, json=_body(receiver.url, clientState="s3cret"))
    assert created.status_code == 201, created.text
    key = created.json()["id"]
    got = local_client.get(f"{SUBSCRIPTIONS}/{key}")
    assert got.status_code == 200
    assert got.json()["@odata.context"].endswith("/$metadata#subscriptions/$entity")
    assert got.json()["clientState"] == "s3cret"
    later = _later(hours=5)
    renewed = local_client.patch(f"{SUBSCRIPTIONS}/{key}", json={"expirationDateTime": later})
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["expirationDateTime"][:19] == later[:19]
    assert_error(
        local_client.patch(f"{SUBSCRIPTIONS}/{key}", json={"resource": "x"}), 400, "invalidRequest"
    )
    # Another application of the tenant sees nothing of it.
    other_app = bearer(settings, scopes=(RUN_READ_WRITE,))
    assert local_client.get(SUBSCRIPTIONS, headers=other_app).status_code == 200
    listed = local_client.get(SUBSCRIPTIONS).json()["value"]
    assert [s["id"] for s in listed] == [key]
    # Reading it needs the permission to read its resource.
    flows_only = bearer(settings, scopes=(FLOW_READ,))
    assert_error(
        local_client.get(f"{SUBSCRIPTIONS}/{key}", headers=flows_only), 403, "accessDenied"
    )
    assert local_client.get(f"{SUBSCRIPTIONS}/{key}", headers=bearer(settings, scopes=(RUN_READ,)))
    assert local_client.post(f"{SUBSCRIPTIONS}/{key}/reauthorize").status_code == 204
    assert local_client.delete(f"{SUBSCRIPTIONS}/{key}").status_code == 204
    assert_error(local_client.get(f"{SUBSCRIPTIONS}/{key}"), 404, "itemNotFound")


def test_metadata_declares_the_subscriptions_entity_set(client: TestClient) -> None:
    metadata = client.get(f"{ROOT}/$metadata").text
    assert '<EntitySet Name="subscriptions" EntityType="microsoft.graph.subscription"' in metadata
    assert '<EntityType Name="subscription" BaseType="microsoft.graph.entity"' in metadata
    names = [entry["name"] for entry in client.get(f"{ROOT}/").json()["value"]]
    assert names == ["external", "subscriptions"]


# -- which receivers are refused ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd00::1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("100.64.0.1", "not a public address"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "link-local"),
    ],
)
def test_each_class_of_non_public_address_is_refused(address: str, reason: str) -> None:
    found = refusal(ipaddress.ip_address(address), allow_private=False)
    assert found is not None
    assert found.startswith(reason)


def test_the_operator_setting_lets_loopback_and_private_through_but_not_metadata() -> None:
    for address in ("127.0.0.1", "10.0.0.1", "::1"):
        assert refusal(ipaddress.ip_address(address), allow_private=True) is None
    assert refusal(ipaddress.ip_address("169.254.169.254"), allow_private=True) is not None
    assert refusal(ipaddress.ip_address("93.184.215.14"), allow_private=False) is None


def test_a_name_that_resolves_to_a_private_address_is_refused_at_delivery(
    receiver: Receiver,
) -> None:
    """``localhost`` stands for a name whose DNS answer turned private after the handshake:
    the address is checked when the request is made, and nothing is sent."""
    by_name = receiver.url.replace("http://127.0.0.1", "https://localhost")

    async def deliver() -> None:
        async with httpx.AsyncClient() as client:
            await send(client, by_name, allow_private=False, timeout=5, content=b"{}")

    with pytest.raises(Refused, match="localhost resolves to"):
        anyio.run(deliver)
    assert receiver.items() == []


def test_the_connection_goes_to_the_checked_address_with_the_name_as_host(
    receiver: Receiver,
) -> None:
    by_name = receiver.url.replace("127.0.0.1", "localhost")

    async def deliver() -> tuple[str, httpx.Response]:
        url = httpx.URL(by_name)
        async with httpx.AsyncClient() as client:
            address = await checked_address(url, allow_private=True)
            body = b'{"value": []}'
            return str(address), await send(
                client, by_name, allow_private=True, timeout=5, content=body
            )

    address, response = anyio.run(deliver)
    assert ipaddress.ip_address(address).is_loopback
    assert response.status_code == 202
    assert response.request.headers["Host"] == f"localhost:{receiver.port}"
