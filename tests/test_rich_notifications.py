"""Notifications that carry the run (Graph's rich notifications) and the formats of flowruns'
vocabulary (CloudEvents, Slack, Teams), end to end: real ``flowruns serve`` processes on each
engine and real receiver processes on loopback.

Rich notifications are decrypted and verified by ``tests/graph_decryption.py``, written from
Graph's documentation with ``cryptography`` and none of flowruns' code; CloudEvents are read with
the ``cloudevents`` library's own parser.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cloudevents.core.bindings.http import HTTPMessage, from_http_event
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from starlette.testclient import TestClient

from flowruns.api.app import create_app, open_database
from flowruns.client import Client
from flowruns.edm.datetimes import TICKS_PER_SECOND, now_ticks
from flowruns.edm.industrydata import MODEL, subscription
from flowruns.odata.deserialize import read_entity
from flowruns.service import dispatching, notifications
from flowruns.settings import DEFAULT_TENANT, LOCAL_AUDIENCE, LOCAL_ISSUER, Settings
from tests.conftest import NS, bearer
from tests.engines import ENGINES
from tests.graph_decryption import (
    SignatureMismatch,
    decrypt,
    self_signed,
    thumbprint,
    validated_tokens,
)
from tests.servers import AUTH, TOKEN_SECRET, Server, start, wait_ready
from tests.test_notifications import (
    ENVIRONMENT,
    HUB,
    _database,
    _later,
    create_run,
)
from tests.webhooks import Receiver, start_receiver

FORMAT = "@flowruns.notificationFormat"
ISSUER = "flowruns-notifications"
SENDER = "flowruns-notifications"


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def receivers(tmp_path: Path) -> Iterator[Callable[..., Receiver]]:
    started: list[Receiver] = []

    def make(*args: str, name: str = "receiver") -> Receiver:
        receiver = start_receiver(tmp_path / f"{name}.jsonl", *args)
        started.append(receiver)
        return receiver

    yield make
    for receiver in started:
        receiver.stop()


@pytest.fixture(params=ENGINES)
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """A server of one engine that posts to chat webhooks on 127.0.0.1."""
    for database in _database(request.param, tmp_path):
        env = {**ENVIRONMENT, "FLOWRUNS_NOTIFICATION_CHAT_HOSTS": "127.0.0.1"}
        started = start(tmp_path / "server.log", *database, env=env)
        try:
            wait_ready(started)
            yield started
        finally:
            started.stop()


def _later_body(receiver: Receiver, **members: Any) -> dict[str, Any]:
    """A subscription's body to ``external/industryData/runs`` with ``members`` added."""
    return {
        "changeType": "created,updated,deleted",
        "notificationUrl": receiver.url,
        "resource": "external/industryData/runs",
        "expirationDateTime": _later(3600),
        "clientState": "secretClientValue",
        **members,
    }


def _post(base: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(f"{base}/beta/subscriptions", json=body, headers=headers or AUTH, timeout=30)


def _runs_only() -> dict[str, str]:
    """A token of another application that may read runs but not processes."""
    now = int(time.time())
    claims = {
        "iss": LOCAL_ISSUER,
        "aud": LOCAL_AUDIENCE,
        "tid": DEFAULT_TENANT,
        "appid": "runs-only",
        "scp": "IndustryData-Run.Read.All",
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
    }
    return {"Authorization": f"Bearer {jwt.encode(claims, TOKEN_SECRET, algorithm='HS256')}"}


def _fail(base: str, run_id: str, message: str) -> None:
    body = {
        "status": "failed",
        "blockingError": {"code": "destinationRejected", "message": message},
    }
    patched = httpx.patch(f"{base}{HUB}/runs/{run_id}", json=body, headers=AUTH)
    assert patched.status_code == 200, patched.text


def test_a_graph_receiver_decrypts_rich_notifications_and_validates_their_tokens(
    server: Server, receivers: Callable[..., Receiver], private_key: rsa.RSAPrivateKey
) -> None:
    receiver = receivers()
    certificate = self_signed(private_key)
    body = _later_body(
        receiver,
        resource="external/industryData/runs?$select=displayName,status,blockingError",
        includeResourceData=True,
        encryptionCertificate=certificate,
        encryptionCertificateId="receiver-key-1",
    )
    created = _post(server.base, body)
    assert created.status_code == 201, created.text
    subscription = created.json()
    assert subscription["includeResourceData"] is True
    assert subscription["encryptionCertificateId"] == "receiver-key-1"
    assert subscription["encryptionCertificate"] == certificate
    assert FORMAT not in subscription  # Graph's format: the subscription is Graph's

    run_id = create_run(server.base, "nightly roster export")
    _fail(server.base, run_id, "destination rejected credentials")
    # Read before the run is deleted: an update read after that is told as the deletion.
    receiver.wait_for(lambda items: len(items) >= 2)
    assert httpx.delete(f"{server.base}{HUB}/runs/{run_id}", headers=AUTH).status_code == 204

    requests = receiver.wait_for_requests(
        lambda found: sum(len(r["body"]["value"]) for r in found) >= 3
    )
    items = [item for r in requests for item in r["body"]["value"]]
    assert [item["changeType"] for item in items] == ["created", "updated", "deleted"]
    created_item, updated_item, deleted_item = items
    for item in (created_item, updated_item):
        content = item["encryptedContent"]
        assert content["encryptionCertificateId"] == "receiver-key-1"
        assert content["encryptionCertificateThumbprint"] == thumbprint(certificate)
        assert item["resourceData"]["id"] == run_id
    # The entity as flowruns serves it, with the resource's $select, as it was when read.
    entity = decrypt(updated_item["encryptedContent"], private_key)
    assert entity["id"] == run_id
    assert entity["@odata.type"] == f"#{NS}.outgoingFlowRun"
    assert entity["displayName"] == "nightly roster export"
    assert entity["status"] == "failed"
    assert entity["blockingError"]["message"] == "destination rejected credentials"
    assert "startDateTime" not in entity
    assert "statistics" not in entity
    assert decrypt(created_item["encryptedContent"], private_key)["id"] == run_id
    # A deletion carries no resource data, as in Graph.
    assert "encryptedContent" not in deleted_item

    # Every POST of rich notifications carries validation tokens for the application.
    for request in requests:
        claims = validated_tokens(
            request["body"]["validationTokens"],
            f"{server.base}/notifications/keys",
            issuer=ISSUER,
            application="tests",
            sender=SENDER,
        )
        assert [c["tid"] for c in claims] == [DEFAULT_TENANT]
    token = requests[0]["body"]["validationTokens"][0]
    with pytest.raises(jwt.InvalidAudienceError):
        validated_tokens(
            [token],
            f"{server.base}/notifications/keys",
            issuer=ISSUER,
            application="another-application",
            sender=SENDER,
        )

    # A receiver finds a tampered notification out.
    tampered = dict(updated_item["encryptedContent"])
    data = bytearray(base64.b64decode(tampered["data"]))
    data[0] ^= 1
    tampered["data"] = base64.b64encode(bytes(data)).decode()
    with pytest.raises(SignatureMismatch):
        decrypt(tampered, private_key)
    forged = dict(updated_item["encryptedContent"])
    forged["dataSignature"] = base64.b64encode(b"\0" * 32).decode()
    with pytest.raises(SignatureMismatch):
        decrypt(forged, private_key)


def test_a_run_deleted_before_its_change_is_read_is_told_as_a_deletion(
    settings: Settings, private_key: rsa.RSAPrivateKey
) -> None:
    """A run created, renamed and deleted before the dispatcher reads its changes (here: the
    app served without its background work, the dispatch made by the test, the subscriptions
    stored as a POST stores them once its handshake passed): to a subscription of updates only,
    the rename is told as the deletion it now is, without resource data; to one that asks for
    deletions, the deletion's own notification tells it, once."""
    db = open_database(settings)
    try:
        certificate = self_signed(private_key)
        keys = {}
        for change_type in ("updated", "updated,deleted"):
            body = {
                "changeType": change_type,
                "notificationUrl": "https://webhook.example.com/notify",
                "resource": "external/industryData/runs",
                "expirationDateTime": _later(3600),
                "includeResourceData": True,
                "encryptionCertificate": certificate,
                "encryptionCertificateId": "k",
            }
            values = read_entity(MODEL, body, subscription, partial=False).values
            new = notifications.read_new(values, now_ticks(), allow_http=False)
            creator = notifications.Creator(
                "tests", now_ticks() + 3600 * TICKS_PER_SECOND, frozenset({"runs", "processes"})
            )
            keys[notifications.create(db, DEFAULT_TENANT, new, creator)["id"]] = change_type
        client = TestClient(create_app(settings, db), headers=bearer(settings))  # no lifespan
        run = {"@odata.type": f"#{NS}.outgoingFlowRun", "displayName": "brief"}
        run_id = client.post(f"{HUB}/runs", json=run).json()["id"]
        assert client.patch(f"{HUB}/runs/{run_id}", json={"displayName": "x"}).status_code == 200
        assert client.delete(f"{HUB}/runs/{run_id}").status_code == 204
        now = now_ticks()
        dispatched = dispatching.dispatch(db, now, now + TICKS_PER_SECOND, [])
        items = [item for row in dispatched.claimed for item in json.loads(row.items)]
        told = sorted((keys[item["subscriptionId"]], item["changeType"]) for item in items)
        assert told == [("updated", "deleted"), ("updated,deleted", "deleted")]
        assert all("encryptedContent" not in item for item in items)
        assert all(item["resourceData"]["id"] == run_id for item in items)
    finally:
        db.dispose()


def test_the_sdk_subscribes_for_rich_notifications_and_formats(
    server: Server, receivers: Callable[..., Receiver], private_key: rsa.RSAPrivateKey
) -> None:
    rich, slack = receivers(name="rich"), receivers(name="slack")
    later = datetime.now(UTC) + timedelta(hours=1)
    with Client(f"{server.base}/beta", AUTH["Authorization"].removeprefix("Bearer ")) as client:
        subscription = client.subscriptions.create(
            "external/industryData/runs?$select=displayName",
            rich.url,
            later,
            change_type="created",
            encryption_certificate=(self_signed(private_key), "sdk-key"),
        )
        assert subscription.include_resource_data is True
        assert subscription.encryption_certificate_id == "sdk-key"
        client.subscriptions.create(
            "external/industryData/runs",
            slack.url,
            later,
            change_type="created",
            notification_format="slack",
        )
        run = client.runs.create("sdk run")
    [item] = rich.wait_for(lambda items: len(items) >= 1)
    assert decrypt(item["encryptedContent"], private_key)["displayName"] == "sdk run"
    [message] = slack.wait_for_requests(lambda found: len(found) >= 1)
    assert message["body"]["text"].startswith("▶️ sdk run started")
    assert run.id is not None


def test_rich_notifications_need_an_rsa_certificate_and_its_id(
    server: Server, receivers: Callable[..., Receiver], private_key: rsa.RSAPrivateKey
) -> None:
    receiver = receivers()
    certificate = self_signed(private_key)
    cases = [
        ({"encryptionCertificateId": "k"}, "encryptionCertificate"),
        ({"encryptionCertificate": certificate}, "encryptionCertificateId"),
        (
            {"encryptionCertificate": "not base64!", "encryptionCertificateId": "k"},
            "encryptionCertificate",
        ),
        (
            {
                "encryptionCertificate": base64.b64encode(b"not a certificate").decode(),
                "encryptionCertificateId": "k",
            },
            "encryptionCertificate",
        ),
        (
            {
                "encryptionCertificate": self_signed(ec.generate_private_key(ec.SECP256R1())),
                "encryptionCertificateId": "k",
            },
            "encryptionCertificate",
        ),
    ]
    for members, target in cases:
        response = _post(server.base, _later_body(receiver, includeResourceData=True, **members))
        assert response.status_code == 400, (members, response.text)
        assert response.json()["error"]["target"] == target
    listed = httpx.get(f"{server.base}/beta/subscriptions", headers=AUTH).json()["value"]
    assert listed == []  # nothing half-created


def test_cloud_events_consumers_validate_the_webhook_and_parse_the_events(
    server: Server, receivers: Callable[..., Receiver], private_key: rsa.RSAPrivateKey
) -> None:
    refusing = receivers("--webhook-origin", "other", name="refusing")
    refused = _post(server.base, _later_body(refusing, **{FORMAT: "cloudEvents"}))
    assert refused.status_code == 400
    assert refused.json()["error"]["target"] == "notificationUrl"
    assert "WebHook-Allowed-Origin" in refused.json()["error"]["message"]
    silent = receivers("--webhook-origin", "none", name="silent")
    assert _post(server.base, _later_body(silent, **{FORMAT: "cloudEvents"})).status_code == 400

    receiver = receivers()
    created = _post(server.base, _later_body(receiver, **{FORMAT: "cloudEvents"}))
    assert created.status_code == 201, created.text
    subscription = created.json()
    assert subscription[FORMAT] == "cloudEvents"
    assert receiver.handshakes() == ["127.0.0.1"]  # OPTIONS, and no validation token POST
    fetched = httpx.get(f"{server.base}/beta/subscriptions/{subscription['id']}", headers=AUTH)
    assert fetched.json()[FORMAT] == "cloudEvents"
    # Events whose data is a rich notification.
    rich = receivers(name="rich")
    body = _later_body(
        rich,
        changeType="created",
        includeResourceData=True,
        encryptionCertificate=self_signed(private_key),
        encryptionCertificateId="k",
        **{FORMAT: "cloudEvents"},
    )
    assert _post(server.base, body).status_code == 201

    run_id = create_run(server.base)
    _fail(server.base, run_id, "destination rejected credentials")
    requests = receiver.wait_for_requests(lambda found: len(found) >= 2)
    events = []
    for request in requests:
        assert request["contentType"].startswith("application/cloudevents+json")
        message = HTTPMessage(
            headers={"content-type": request["contentType"]}, body=request["raw"].encode()
        )
        events.append(from_http_event(message))
    assert [e.get_type() for e in events] == ["flowruns.run.created", "flowruns.run.updated"]
    for event in events:
        assert event.get_specversion() == "1.0"
        assert event.get_source() == f"{server.base}{HUB}/runs"
        assert event.get_subject() == f"external/industryData/runs/{run_id}"
        assert event.get_time() is not None
        data = event.get_data()
        assert isinstance(data, dict)
        assert data["subscriptionId"] == subscription["id"]
        assert data["resourceData"]["id"] == run_id
    assert len({e.get_id() for e in events}) == 2
    [request] = rich.wait_for_requests(lambda found: len(found) >= 1)
    message = HTTPMessage(
        headers={"content-type": request["contentType"]}, body=request["raw"].encode()
    )
    event = from_http_event(message)
    assert event.get_type() == "flowruns.run.created"
    data = event.get_data()
    assert isinstance(data, dict)
    assert decrypt(data["encryptedContent"], private_key)["id"] == run_id


def test_slack_and_teams_channels_get_readable_messages_with_links(
    server: Server, receivers: Callable[..., Receiver]
) -> None:
    slack = receivers(name="slack")
    teams = receivers(name="teams")
    for receiver, name in ((slack, "slack"), (teams, "teams")):
        created = _post(server.base, _later_body(receiver, **{FORMAT: name}))
        assert created.status_code == 201, created.text
        assert created.json()[FORMAT] == name
        assert receiver.handshakes() == []
    # Subscribed by an application that may not read processes: no process name in its messages.
    blind = receivers(name="blind")
    created = _post(server.base, _later_body(blind, **{FORMAT: "slack"}), _runs_only())
    assert created.status_code == 201, created.text
    process = httpx.post(
        f"{server.base}{HUB}/processes",
        json={"@odata.type": f"#{NS}.insightsOutgoingFlow", "displayName": "Nightly roster export"},
        headers=AUTH,
    ).json()["id"]
    run_id = create_run(
        server.base,
        "roster 2026-12-03",
        startDateTime="2026-12-03T01:00:00Z",
        **{"process@odata.bind": f"{HUB}/processes/{process}"},
    )
    # Each summary tells of the run as it is when its change is read: the creation's, before
    # the failure.
    for receiver in (slack, teams, blind):
        receiver.wait_for_requests(lambda found: len(found) >= 1)
    body = {
        "status": "failed",
        "endDateTime": "2026-12-03T01:03:12Z",
        "blockingError": {"code": "destinationRejected", "message": "destination rejected"},
    }
    patched = httpx.patch(f"{server.base}{HUB}/runs/{run_id}", json=body, headers=AUTH)
    assert patched.status_code == 200, patched.text
    link = f"{server.base}/#/runs/{run_id}"

    # Slack's incoming webhook takes {"text": ...}; <url|text> is its link markup.
    slack_bodies = [r["body"] for r in slack.wait_for_requests(lambda found: len(found) >= 2)]
    assert all(set(message) == {"text"} for message in slack_bodies)
    assert slack_bodies[0]["text"].startswith("▶️ Nightly roster export started")
    assert slack_bodies[1]["text"] == (
        "❌ Nightly roster export failed: destination rejected (took 3 min 12 s) "
        f"<{link}|Open in flowruns>"
    )

    blind_bodies = [r["body"] for r in blind.wait_for_requests(lambda found: len(found) >= 2)]
    assert blind_bodies[1]["text"].startswith("❌ roster 2026-12-03 failed: destination rejected")

    # A Teams Workflows webhook takes a message whose attachment is an Adaptive Card.
    teams_bodies = [r["body"] for r in teams.wait_for_requests(lambda found: len(found) >= 2)]
    message = teams_bodies[1]
    assert message["type"] == "message"
    [attachment] = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert card["version"] == "1.4"
    assert card["body"][0] == {
        "type": "TextBlock",
        "text": "❌ Nightly roster export failed: destination rejected (took 3 min 12 s)",
        "wrap": True,
        "weight": "Bolder",
    }
    facts = {fact["title"]: fact["value"] for fact in card["body"][1]["facts"]}
    assert facts == {
        "Run": "roster 2026-12-03",
        "Status": "failed",
        "Duration": "3 min 12 s",
        "Error": "destination rejected",
    }
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Open in flowruns", "url": link}]


def test_chat_formats_post_only_to_the_allowlisted_hosts(
    receivers: Callable[..., Receiver], tmp_path: Path, private_key: rsa.RSAPrivateKey
) -> None:
    env = {**ENVIRONMENT, "FLOWRUNS_NOTIFICATION_CHAT_HOSTS": "hooks.slack.com"}
    started = start(tmp_path / "server.log", "--data-dir", str(tmp_path / "data"), env=env)
    try:
        wait_ready(started)
        receiver = receivers()
        for name in ("slack", "teams"):
            refused = _post(started.base, _later_body(receiver, **{FORMAT: name}))
            assert refused.status_code == 400
            error = refused.json()["error"]
            assert error["target"] == "notificationUrl"
            assert "hooks.slack.com" in error["message"]
        unknown = _post(started.base, _later_body(receiver, **{FORMAT: "email"}))
        assert unknown.status_code == 400
        assert unknown.json()["error"]["target"] == FORMAT
        encrypted_chat = _later_body(
            receiver,
            includeResourceData=True,
            encryptionCertificate=self_signed(private_key),
            encryptionCertificateId="k",
            **{FORMAT: "slack"},
        )
        refused = _post(started.base, encrypted_chat)
        assert refused.status_code == 400
        assert refused.json()["error"]["target"] == "includeResourceData"
        assert receiver.requests() == []
        metadata = httpx.get(f"{started.base}/beta/$metadata").text
        assert (
            '<Term Name="notificationFormat" Type="flowruns.notificationFormat" '
            'AppliesTo="EntityType">' in metadata
        )
    finally:
        started.stop()
