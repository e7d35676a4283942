"""Basic notifications are queued as what they say, once, and written out when sent: a row of
them is small, its items are Graph's, and a row sent again sends the same items, ids included."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from starlette.testclient import TestClient

from flowruns.api.app import create_app, open_database
from flowruns.edm.datetimes import TICKS_PER_SECOND, now_ticks
from flowruns.edm.industrydata import MODEL, subscription
from flowruns.odata.deserialize import read_entity
from flowruns.service import dispatching, notifications
from flowruns.service.outbox import MAX_ITEMS, ChangeTold, Outbox, Told, elements
from flowruns.settings import DEFAULT_TENANT, Settings
from flowruns.store.database import Database
from tests.conftest import NS, bearer

HUB = "/beta/external/industryData"
URL = "https://webhook.example.com/notify"


def _subscribe(db: Database, resource: str) -> str:
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    body = {
        "changeType": "created",
        "notificationUrl": URL,
        "resource": resource,
        "expirationDateTime": later,
        "clientState": "state",
    }
    values = read_entity(MODEL, body, subscription, partial=False).values
    new = notifications.read_new(values, now_ticks(), allow_http=False)
    creator = notifications.Creator("tests", now_ticks() + 3600 * TICKS_PER_SECOND, frozenset())
    return str(notifications.create(db, DEFAULT_TENANT, new, creator)["id"])


def test_a_row_of_basic_notifications_is_small_and_sent_again_with_the_same_items(
    settings: Settings,
) -> None:
    db = open_database(settings)
    try:
        every = [_subscribe(db, "external/industryData/runs") for _ in range(3)]
        failed = _subscribe(db, "external/industryData/runs?$filter=status eq 'failed'")
        client = TestClient(create_app(settings, db), headers=bearer(settings))  # no lifespan
        kinds = {"ok": "completed", "bad": "failed"}
        runs = {}
        for name, status in kinds.items():
            body = {"@odata.type": f"#{NS}.outgoingFlowRun", "displayName": name, "status": status}
            runs[name] = client.post(f"{HUB}/runs", json=body).json()["id"]
        now = now_ticks()
        [row] = dispatching.dispatch(db, now, now + TICKS_PER_SECOND, []).claimed
        assert len(row.items) < 1500  # six notifications of about 450 bytes each, were they items
        items = json.loads(notifications.body([row]))["value"]
        told = sorted((item["subscriptionId"], item["resourceData"]["id"]) for item in items)
        owed = [(key, runs[name]) for key in every for name in kinds] + [(failed, runs["bad"])]
        assert told == sorted(owed)
        assert len({item["id"] for item in items}) == len(items)
        assert all(item["clientState"] == "state" for item in items)
        assert all(item["tenantId"] == DEFAULT_TENANT for item in items)

        retries = notifications.Retries(0.0, 3600.0)
        notifications.failed(db, [row], now, retries)
        [again] = notifications.claim(db, now_ticks() + TICKS_PER_SECOND, 30.0, 10, [])
        assert json.loads(notifications.body([again]))["value"] == items
    finally:
        db.dispose()


def test_a_dispatch_s_notifications_for_one_receiver_fill_rows_of_at_most_a_thousand() -> None:
    outbox = Outbox(0)
    told: list[Told] = [(f"s{n}", "2026-01-01T00:00:00Z", None, DEFAULT_TENANT) for n in range(300)]
    changes: list[ChangeTold] = [
        ("created", "runs", f"{NS}.outgoingFlowRun", f"r{n}") for n in range(7)
    ]
    outbox.told(DEFAULT_TENANT, URL, told, changes)
    outbox.told(DEFAULT_TENANT, URL, told[:2], changes[:3])
    rows = outbox.rows(lambda _: 0, dropped=["s0"])
    assert all(row["count"] <= MAX_ITEMS for row in rows)
    assert sum(row["count"] for row in rows) == 299 * 7 + 1 * 3
    ids = set()
    for row in rows:
        items = json.loads(b"[" + elements(row["id"], row["body"]) + b"]")
        assert len(items) == row["count"]
        ids |= {item["id"] for item in items}
    assert len(ids) == 299 * 7 + 3
