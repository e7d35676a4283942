"""The SDK's receiver helper: Graph's handshake, notifications, and their clientState."""

from __future__ import annotations

import json

from flowruns.client.webhooks import Receiver

ITEM = {
    "id": "5f1a…",
    "subscriptionId": "7f105c7d-2dc5-4530-97cd-4e7ae6534c07",
    "subscriptionExpirationDateTime": "2026-11-29T18:23:45.9356913Z",
    "changeType": "updated",
    "resource": "external/industryData/runs/50411dba-20aa-42cb-9238-3e02f9233fd5",
    "resourceData": {
        "@odata.type": "#microsoft.graph.industryData.outgoingFlowRun",
        "@odata.id": "external/industryData/runs/50411dba-20aa-42cb-9238-3e02f9233fd5",
        "id": "50411dba-20aa-42cb-9238-3e02f9233fd5",
    },
    "clientState": "secret",
    "tenantId": "00000000-0000-0000-0000-000000000001",
}


def test_the_handshake_is_answered_with_the_token_as_plain_text() -> None:
    answer = Receiver("secret").handle("validationToken=Validation%3A+Testing+client", b"")
    assert answer.status == 200
    assert answer.content_type.startswith("text/plain")
    assert answer.body == b"Validation: Testing client"


def test_notifications_are_read_and_those_without_the_client_state_dropped() -> None:
    forged = {**ITEM, "clientState": "guess"}
    body = json.dumps({"value": [ITEM, forged]}).encode()
    answer = Receiver("secret").handle("", body)
    assert answer.status == 202
    assert answer.rejected == 1
    [notification] = answer.notifications
    assert notification.change_type == "updated"
    assert notification.resource_id == "50411dba-20aa-42cb-9238-3e02f9233fd5"
    assert notification.resource_type == "microsoft.graph.industryData.outgoingFlowRun"
    assert notification.subscription_expiration is not None
    assert notification.lifecycle_event is None


def test_a_lifecycle_notification_is_told_apart() -> None:
    item = {
        "lifecycleEvent": "reauthorizationRequired",
        "subscriptionId": ITEM["subscriptionId"],
        "subscriptionExpirationDateTime": ITEM["subscriptionExpirationDateTime"],
        "clientState": "secret",
        "tenantId": ITEM["tenantId"],
    }
    [notification] = (
        Receiver("secret").handle("", json.dumps({"value": [item]}).encode()).notifications
    )
    assert notification.lifecycle_event == "reauthorizationRequired"
    assert notification.change_type is None


def test_a_body_that_is_not_a_payload_is_a_400() -> None:
    assert Receiver("secret").handle("", b"[1, 2]").status == 400
