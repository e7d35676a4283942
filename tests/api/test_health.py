"""Process health over HTTP, on both engines: a process's expectation, its health and the
incidents the evaluation opens and resolves, driven by a clock of the test's own (the
evaluation is the server's, called with the test's ``now``)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from flowruns.api.app import create_app, open_database
from flowruns.auth.scopes import FLOW_READ_WRITE, RUN_READ
from flowruns.edm.datetimes import format_ticks, parse
from flowruns.odata import path as paths
from flowruns.odata.deserialize import EntityBody
from flowruns.service import expectations, health
from flowruns.settings import DEFAULT_TENANT, Settings
from flowruns.store.database import Database
from tests.conftest import HUB, NS, bearer
from tests.webhooks import start_receiver

HOUR = 3600 * 10_000_000
MINUTE = 60 * 10_000_000


@dataclasses.dataclass
class Server:
    client: TestClient
    db: Database
    settings: Settings

    def evaluate(self, at: str) -> None:
        moment = parse(at)
        health.evaluate_due(self.db, now=lambda: moment)

    def process(self, name: str = "Nightly roster export") -> str:
        body = {"@odata.type": f"#{NS}.insightsOutgoingFlow", "displayName": name}
        response = self.client.post(f"{HUB}/processes", json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def expect(self, process: str, **members: Any) -> dict[str, Any]:
        response = self.client.put(f"{HUB}/processes/{process}/expectation", json=members)
        assert response.status_code in (200, 201), response.text
        return dict(response.json())

    def run(self, process: str, start: str, end: str | None = None, **values: Any) -> str:
        body: dict[str, Any] = {"displayName": "export", "startDateTime": start, **values}
        if end is not None:
            body.setdefault("status", "completed")
            body["endDateTime"] = end
        response = self.client.post(f"{HUB}/processes/{process}/runs", json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def health(self, process: str) -> dict[str, Any]:
        response = self.client.get(f"{HUB}/processes/{process}/health")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def incidents(self, query: str = "") -> list[dict[str, Any]]:
        response = self.client.get(f"{HUB}/incidents?$orderby=openedDateTime{query}")
        assert response.status_code == 200, response.text
        return list(response.json()["value"])


@pytest.fixture
def server(settings: Settings) -> Iterator[Server]:
    quiet = dataclasses.replace(settings, evaluate_health=False, notification_allow_private=True)
    db = open_database(quiet)
    with TestClient(create_app(quiet), headers=bearer(quiet)) as client:
        yield Server(client, db, quiet)
    db.dispose()


# The schedule starts in the future, so the expectation (created now) knows every start.
DAILY = "R/2030-01-01T02:00:00Z/P1D"


def test_late_then_on_time_resolves(server: Server) -> None:
    process = server.process()
    server.expect(process, schedule=DAILY, grace="PT30M")
    server.evaluate("2030-01-01T02:29:00Z")
    assert server.health(process)["state"] == "unknown" or server.incidents() == []
    server.evaluate("2030-01-01T02:31:00Z")
    late = server.incidents()
    assert [i["kind"] for i in late] == ["late"]
    assert late[0]["openedDateTime"] == "2030-01-01T02:30:00Z"
    assert late[0]["expectedDateTime"] == "2030-01-01T02:00:00Z"
    assert late[0]["resolvedDateTime"] is None
    assert "Nightly roster export: no run started since 2030-01-01 02:00 UTC" in late[0]["message"]
    assert server.health(process)["state"] == "late"
    server.run(process, "2030-01-01T02:40:00Z", "2030-01-01T02:50:00Z")
    server.evaluate("2030-01-01T02:51:00Z")
    (resolved,) = server.incidents()
    assert resolved["resolvedDateTime"] == "2030-01-01T02:40:00Z"
    assert server.health(process)["state"] == "healthy"
    assert server.health(process)["nextExpectedDateTime"] == "2030-01-02T02:00:00Z"


def test_missed_at_the_next_expected_start(server: Server) -> None:
    process = server.process()
    server.expect(process, schedule=DAILY, grace="PT30M")
    server.evaluate("2030-01-01T03:00:00Z")
    server.evaluate("2030-01-02T02:00:01Z")
    kinds = [(i["kind"], i["resolvedDateTime"]) for i in server.incidents()]
    assert kinds == [("late", "2030-01-02T02:00:00Z"), ("missed", None)]
    assert server.health(process)["state"] == "missed"


def test_a_long_stop_opens_one_incident_for_three_missed_starts(server: Server) -> None:
    process = server.process()
    server.expect(process, schedule=DAILY, grace="PT30M")
    server.evaluate("2030-01-04T02:10:00Z")  # the first evaluation since before 2030-01-01
    (missed,) = server.incidents()
    assert missed["kind"] == "missed"
    assert missed["occurrences"] == 3
    assert "3 expected starts missed" in missed["message"]
    assert missed["expectedDateTime"] == "2030-01-01T02:00:00Z"
    server.run(process, "2030-01-04T02:20:00Z")
    server.evaluate("2030-01-04T02:21:00Z")
    (resolved,) = server.incidents()
    assert resolved["resolvedDateTime"] == "2030-01-04T02:20:00Z"
    assert server.health(process)["state"] == "healthy"


def test_overdue_rule_broken_and_failing(server: Server) -> None:
    process = server.process()
    server.expect(
        process,
        maxDuration="PT1H",
        successRule="statistics/recordsFailed eq 0",
        failureStreak=2,
    )
    running = server.run(process, "2030-01-01T00:00:00Z")
    server.evaluate("2030-01-01T01:00:30Z")
    (overdue,) = server.incidents()
    assert (overdue["kind"], overdue["runId"]) == ("overdue", running)
    assert overdue["openedDateTime"] == "2030-01-01T01:00:00Z"
    finished = server.client.patch(
        f"{HUB}/runs/{running}",
        json={
            "status": "completed",
            "endDateTime": "2030-01-01T01:10:00Z",
            "statistics": {"recordsFailed": 3},
        },
    )
    assert finished.status_code == 200
    server.evaluate("2030-01-01T01:11:00Z")
    by_kind = {i["kind"]: i for i in server.incidents()}
    assert by_kind["overdue"]["resolvedDateTime"] == "2030-01-01T01:10:00Z"
    assert by_kind["ruleBroken"]["runId"] == running
    assert server.health(process)["state"] == "ruleBroken"
    for day in ("02", "03"):
        server.run(
            process,
            f"2030-01-{day}T00:00:00Z",
            f"2030-01-{day}T00:10:00Z",
            status="failed",
            blockingError={"code": "boom", "message": "boom"},
            statistics={"recordsFailed": 0},
        )
    server.evaluate("2030-01-03T00:11:00Z")
    by_kind = {i["kind"]: i for i in server.incidents()}
    assert (
        by_kind["ruleBroken"]["resolvedDateTime"] == "2030-01-02T00:10:00Z"
        or by_kind["ruleBroken"]["resolvedDateTime"] == "2030-01-03T00:10:00Z"
    )
    assert by_kind["failing"]["resolvedDateTime"] is None
    assert server.health(process)["state"] == "failing"
    server.run(
        process, "2030-01-04T00:00:00Z", "2030-01-04T00:10:00Z", statistics={"recordsFailed": 0}
    )
    server.evaluate("2030-01-04T00:11:00Z")
    assert all(i["resolvedDateTime"] is not None for i in server.incidents())
    assert server.health(process)["state"] == "healthy"


def test_slow_against_the_median(server: Server) -> None:
    process = server.process()
    server.expect(process, durationAnomaly=2)
    for day in range(1, 7):
        server.run(process, f"2030-01-0{day}T00:00:00Z", f"2030-01-0{day}T00:10:00Z")
    server.run(process, "2030-01-07T00:00:00Z", "2030-01-07T00:21:00Z")
    server.evaluate("2030-01-07T00:22:00Z")
    (slow,) = server.incidents()
    assert slow["kind"] == "slow"
    assert server.health(process)["state"] == "slow"


def test_paused_and_starts_before_a_pause_end_never_open_incidents(server: Server) -> None:
    process = server.process()
    server.expect(
        process, schedule=DAILY, grace="PT30M", paused=True, pausedUntil="2030-01-03T12:00:00Z"
    )
    server.evaluate("2030-01-02T12:00:00Z")
    assert server.health(process)["state"] == "paused"
    server.evaluate("2030-01-03T13:00:00Z")
    assert server.incidents() == []
    server.evaluate("2030-01-05T02:01:00Z")
    (missed,) = server.incidents()
    assert missed["expectedDateTime"] == "2030-01-04T02:00:00Z"


def test_cron_in_a_zone_across_spring_forward(server: Server) -> None:
    process = server.process()
    # 02:30 Paris does not exist on 2030-03-31: expected at 03:00 local (01:00 UTC). The
    # pause keeps the starts between now and then out of the test.
    server.expect(
        process,
        schedule="30 2 * * *",
        timeZone="Europe/Paris",
        grace="PT10M",
        paused=True,
        pausedUntil="2030-03-29T12:00:00Z",
    )
    server.run(process, "2030-03-30T01:30:00Z")  # 02:30 Paris, CET
    server.evaluate("2030-03-30T01:35:00Z")
    assert server.health(process)["nextExpectedDateTime"] == "2030-03-31T01:00:00Z"
    server.evaluate("2030-03-31T01:05:00Z")
    assert server.incidents() == []
    server.evaluate("2030-03-31T01:11:00Z")
    (late,) = server.incidents()
    assert late["expectedDateTime"] == "2030-03-31T01:00:00Z"
    assert "2030-03-31 03:00 Europe/Paris" in late["message"]


def test_cron_in_a_zone_across_fall_back_expects_the_repeated_hour_once(server: Server) -> None:
    process = server.process()
    # 02:30 Paris happens twice on 2030-10-27 (00:30 and 01:30 UTC): expected once, at 00:30.
    server.expect(
        process,
        schedule="30 2 * * *",
        timeZone="Europe/Paris",
        paused=True,
        pausedUntil="2030-10-26T12:00:00Z",
    )
    server.evaluate("2030-10-27T00:00:00Z")
    assert server.health(process)["nextExpectedDateTime"] == "2030-10-27T00:30:00Z"
    server.run(process, "2030-10-27T00:31:00Z", "2030-10-27T00:40:00Z")
    server.evaluate("2030-10-27T01:45:00Z")
    assert server.health(process)["nextExpectedDateTime"] == "2030-10-28T01:30:00Z"
    server.evaluate("2030-10-28T01:31:00Z")
    assert server.incidents() == []


def test_month_ends_and_leap_days(server: Server) -> None:
    process = server.process()
    server.expect(
        process,
        schedule="0 6 29 2 *",
        paused=True,
        pausedUntil="2031-01-01T00:00:00Z",
    )
    server.evaluate("2031-01-01T00:00:01Z")
    assert server.health(process)["nextExpectedDateTime"] == "2032-02-29T06:00:00Z"
    other = server.process("Month end")
    server.expect(other, schedule="0 23 L * *", paused=True, pausedUntil="2031-01-01T00:00:00Z")
    server.evaluate("2031-02-01T00:00:00Z")
    assert server.health(other)["nextExpectedDateTime"] == "2031-02-28T23:00:00Z"
    assert server.incidents() == []  # January's start is answered until February's
    server.evaluate("2031-02-28T23:00:01Z")
    assert server.health(other)["nextExpectedDateTime"] == "2031-03-31T23:00:00Z"
    (missed,) = server.incidents()
    assert missed["expectedDateTime"] == "2031-01-31T23:00:00Z"


def test_expectation_is_contained_expandable_and_validated(server: Server) -> None:
    process = server.process()
    created = server.client.put(
        f"{HUB}/processes/{process}/expectation",
        json={"schedule": "0 2 * * *", "timeZone": "Europe/Paris", "owner": "data", "tags": ["a"]},
    )
    assert created.status_code == 201
    assert created.json()["@odata.type"] == "#flowruns.expectation"
    plain = server.client.get(f"{HUB}/processes/{process}").json()
    assert "expectation" not in plain
    expanded = server.client.get(f"{HUB}/processes/{process}?$expand=expectation").json()
    assert expanded["expectation"]["owner"] == "data"
    for member, value in (
        ("schedule", "61 * * * *"),
        ("timeZone", "Mars/Olympus"),
        ("grace", "1 hour"),
        ("maxDuration", "-PT1H"),
        ("successRule", "statistics/x eq"),
        ("successRule", "nothing eq 1"),
        ("failureStreak", 0),
        ("schedule", "R/2030-01-01T00:00:00/P1D"),
    ):
        body = {"schedule": "0 2 * * *", "timeZone": None, member: value}
        answer = server.client.patch(f"{HUB}/processes/{process}/expectation", json=body)
        assert answer.status_code == 400, (member, value, answer.text)
        assert answer.json()["error"]["target"] == member, answer.json()
    unhealthy = server.client.get(
        f"{HUB}/processes?$filter=expectation/owner eq 'data' and health/state ne 'healthy'"
    )
    assert [p["id"] for p in unhealthy.json()["value"]] == [process]
    ordered = server.client.get(f"{HUB}/processes?$orderby=health/state desc")
    assert ordered.status_code == 200


def test_health_and_incidents_need_the_run_permission(server: Server) -> None:
    process = server.process()
    server.expect(process, schedule=DAILY)
    flows_only = bearer(server.settings, scopes=(FLOW_READ_WRITE,))
    for path in (
        f"{HUB}/processes/{process}/health",
        f"{HUB}/incidents",
        f"{HUB}/processes/{process}/incidents",
        f"{HUB}/processes?$filter=health/state eq 'missed'",
    ):
        assert server.client.get(path, headers=flows_only).status_code == 403, path
    assert (
        server.client.get(f"{HUB}/processes/{process}/expectation", headers=flows_only).status_code
        == 200
    )
    rule = server.client.patch(
        f"{HUB}/processes/{process}/expectation",
        json={"successRule": "status eq 'completed'"},
        headers=flows_only,
    )
    assert rule.status_code == 403
    both = bearer(server.settings, scopes=(FLOW_READ_WRITE, RUN_READ))
    allowed = server.client.patch(
        f"{HUB}/processes/{process}/expectation",
        json={"successRule": "status eq 'completed'"},
        headers=both,
    )
    assert allowed.status_code == 200


def test_incidents_are_in_the_change_log(server: Server) -> None:
    process = server.process()
    server.expect(process, schedule=DAILY)
    first = server.client.get(f"{HUB}/incidents/delta()").json()
    link = first["@odata.deltaLink"]
    server.evaluate("2030-01-02T02:01:00Z")
    changed = server.client.get(link).json()["value"]
    assert [i["kind"] for i in changed] == ["missed"]
    assert format_ticks(parse(changed[0]["openedDateTime"])) == "2030-01-02T02:00:00Z"


def test_a_subscription_to_missed_incidents_pushes_them(server: Server, tmp_path: Path) -> None:
    receiver = start_receiver(tmp_path / "received.jsonl")
    try:
        later = (datetime.now(UTC) + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
        subscription = {
            "changeType": "created",
            "notificationUrl": receiver.url,
            "resource": "external/industryData/incidents?$filter=kind eq 'missed'",
            "expirationDateTime": later,
        }
        created = server.client.post("/beta/subscriptions", json=subscription)
        assert created.status_code == 201, created.text
        process = server.process()
        server.expect(process, schedule=DAILY, grace="PT30M")
        server.evaluate("2030-01-01T02:31:00Z")  # late: not pushed
        server.evaluate("2030-01-02T02:00:01Z")  # missed: pushed
        missed = next(i for i in server.incidents() if i["kind"] == "missed")
        items = receiver.wait_for(lambda found: len(found) >= 1)
        time.sleep(1)  # nothing else comes
        assert [i["resource"] for i in receiver.items()] == [
            f"external/industryData/incidents/{missed['id']}"
        ]
        assert items[0]["resourceData"]["@odata.type"] == "#flowruns.incident"
    finally:
        receiver.stop()


def test_incidents_reach_chat_channels_and_cloud_events_consumers_in_words(
    settings: Settings, tmp_path: Path
) -> None:
    """A Slack channel is told of a missed start and of its resolution in people's words, with
    a link to the incident's dashboard page; a CloudEvents consumer gets an incident event."""
    chat = dataclasses.replace(
        settings,
        evaluate_health=False,
        notification_allow_private=True,
        notification_chat_hosts=["127.0.0.1"],
    )
    slack = start_receiver(tmp_path / "slack.jsonl")
    events = start_receiver(tmp_path / "events.jsonl")
    db = open_database(chat)
    try:
        with TestClient(create_app(chat), headers=bearer(chat)) as client:
            server = Server(client, db, chat)
            later = (datetime.now(UTC) + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
            for receiver, name in ((slack, "slack"), (events, "cloudEvents")):
                subscription = {
                    "changeType": "created,updated",
                    "notificationUrl": receiver.url,
                    "resource": "external/industryData/incidents?$filter=kind eq 'missed'",
                    "expirationDateTime": later,
                    "@flowruns.notificationFormat": name,
                }
                created = client.post("/beta/subscriptions", json=subscription)
                assert created.status_code == 201, created.text
            process = server.process()
            server.expect(process, schedule=DAILY, grace="PT30M")
            server.evaluate("2030-01-02T02:00:01Z")  # the first start missed
            missed = next(i for i in server.incidents() if i["kind"] == "missed")
            texts = [r["body"]["text"] for r in slack.wait_for_requests(lambda f: len(f) >= 1)]
            # The link opens the incident's page on the dashboard (the listening address here).
            link = f"<http://127.0.0.1:8000/#/incidents/{missed['id']}|Open in flowruns>"
            assert texts == [f"🚨 {missed['message']} {link}"]
            assert missed["message"].startswith("Nightly roster export")
            server.run(process, "2030-01-02T02:05:00Z")  # a start: the incident resolves
            server.evaluate("2030-01-02T02:06:00Z")
            texts = [r["body"]["text"] for r in slack.wait_for_requests(lambda f: len(f) >= 2)]
            assert texts[1] == f"✅ Resolved: {missed['message']} {link}"
            [event] = [r["body"] for r in events.wait_for_requests(lambda f: len(f) >= 1)][:1]
            assert event["type"] == "flowruns.incident.created"
            assert event["subject"] == f"external/industryData/incidents/{missed['id']}"
    finally:
        slack.stop()
        events.stop()
        db.dispose()


def test_starts_before_an_expectation_changed_never_open_incidents(server: Server) -> None:
    process = server.process()
    server.expect(process, schedule=DAILY, grace="PT30M")
    server.evaluate("2030-01-03T02:00:01Z")
    (missed,) = server.incidents()
    assert missed["occurrences"] == 2
    # Changed at 02:10 (by the test's clock): what was open resolves, and the start of 02:00,
    # before the change, is never judged.
    ref = paths.resolve(f"external/industryData/processes/{process}/expectation")
    assert isinstance(ref, paths.EntityRef)
    changed_at = parse("2030-01-03T02:10:00Z")
    body = EntityBody(None, values={"grace": "PT45M"})
    expectations.write(
        server.db, DEFAULT_TENANT, ref, body, None, replace=False, clock=lambda: changed_at
    )
    (resolved,) = server.incidents()
    assert resolved["resolvedDateTime"] == "2030-01-03T02:10:00Z"
    server.evaluate("2030-01-04T01:59:00Z")
    assert len(server.incidents()) == 1
    assert server.health(process)["state"] == "unknown"  # nothing expected since the change
    server.evaluate("2030-01-04T02:46:00Z")
    late = server.incidents()[-1]
    assert (late["kind"], late["expectedDateTime"]) == ("late", "2030-01-04T02:00:00Z")


def _changed_since(server: Server, link: str) -> tuple[list[str], str]:
    """The ids processes/delta() reports after ``link``, and the next deltaLink."""
    response = server.client.get(link)
    assert response.status_code == 200, response.text
    body = response.json()
    return [item["id"] for item in body["value"]], body["@odata.deltaLink"]


def test_a_change_of_health_without_an_incident_is_a_change_of_its_process(
    server: Server,
) -> None:
    process, other = server.process(), server.process("Weekly export")
    latest = server.client.get(f"{HUB}/processes/delta()?$deltatoken=latest&$select=id")
    link = latest.json()["@odata.deltaLink"]
    server.expect(
        process, schedule=DAILY, grace="PT30M", paused=True, pausedUntil="2030-01-01T12:00:00Z"
    )
    changed, link = _changed_since(server, link)
    assert changed == [process]  # the expectation set: its health appears
    server.evaluate("2030-01-01T11:00:00Z")
    assert server.health(process)["state"] == "paused"
    changed, link = _changed_since(server, link)
    assert changed == []  # judged again, nothing changed
    server.evaluate("2030-01-01T12:01:00Z")  # the pause ends; nothing was expected since
    assert server.health(process)["state"] == "unknown"
    assert server.incidents() == []
    changed, link = _changed_since(server, link)
    assert changed == [process]
    response = server.client.delete(f"{HUB}/processes/{process}/expectation")
    assert response.status_code == 204, response.text
    changed, link = _changed_since(server, link)
    assert changed == [process]
    assert other not in changed


def _recent(server: Server, process: str) -> list[str]:
    return list(server.health(process)["recentExpectedDateTimes"])


def test_health_lists_the_latest_expected_starts_the_evaluation_reached(server: Server) -> None:
    process = server.process()
    server.expect(process, schedule=DAILY, grace="PT30M")
    assert _recent(server, process) == []  # nothing expected yet
    server.evaluate("2030-01-03T03:00:00Z")
    assert _recent(server, process) == [f"2030-01-0{d}T02:00:00Z" for d in (1, 2, 3)]
    server.evaluate("2030-01-25T01:00:00Z")
    starts = _recent(server, process)
    assert len(starts) == 20  # the latest 20: 2030-01-05 … 2030-01-24
    assert (starts[0], starts[-1]) == ("2030-01-05T02:00:00Z", "2030-01-24T02:00:00Z")
    # Starts before the expectation changed no longer count.
    ref = paths.resolve(f"external/industryData/processes/{process}/expectation")
    assert isinstance(ref, paths.EntityRef)
    changed_at = parse("2030-01-22T12:00:00Z")
    body = EntityBody(None, values={"grace": "PT45M"})
    expectations.write(
        server.db, DEFAULT_TENANT, ref, body, None, replace=False, clock=lambda: changed_at
    )
    server.evaluate("2030-01-25T01:00:00Z")
    assert _recent(server, process) == ["2030-01-23T02:00:00Z", "2030-01-24T02:00:00Z"]
    server.expect(process, schedule=DAILY, paused=True)
    assert _recent(server, process) == []


def test_expected_starts_in_a_zone_across_spring_forward(server: Server) -> None:
    process = server.process()
    # 02:30 Paris does not exist on 2030-03-31: expected at 03:00 (01:00 UTC) instead.
    server.expect(
        process,
        schedule="30 2 * * *",
        timeZone="Europe/Paris",
        paused=True,
        pausedUntil="2030-03-28T12:00:00Z",
    )
    server.evaluate("2030-04-01T02:00:00Z")
    assert _recent(server, process) == [
        "2030-03-29T01:30:00Z",
        "2030-03-30T01:30:00Z",
        "2030-03-31T01:00:00Z",
        "2030-04-01T00:30:00Z",
    ]


def test_expected_starts_of_many_processes_only_when_selected(server: Server) -> None:
    process = server.process()
    server.expect(process, schedule=DAILY)
    server.evaluate("2030-01-02T03:00:00Z")
    both = ["2030-01-01T02:00:00Z", "2030-01-02T02:00:00Z"]

    def get(path: str) -> Any:
        response = server.client.get(f"{HUB}/{path}")
        assert response.status_code == 200, response.text
        return response.json()

    assert get(f"processes/{process}?$expand=health")["health"]["recentExpectedDateTimes"] == both
    (listed,) = get("processes?$expand=health")["value"]
    assert "recentExpectedDateTimes" not in listed["health"]
    selected = "processes?$expand=health($select=state,recentExpectedDateTimes)"
    (listed,) = get(selected)["value"]
    assert listed["health"] == {
        "@odata.type": "#flowruns.processHealth",
        "@odata.etag": listed["health"]["@odata.etag"],
        "id": process,
        "state": "missed",
        "recentExpectedDateTimes": both,
    }
    assert "recentExpectedDateTimes" not in get(f"processes/{process}/health?$select=state")
    response = server.client.get(
        f"{HUB}/processes?$filter=health/recentExpectedDateTimes/any(t: t gt 2030-01-01T00:00:00Z)"
    )
    assert response.status_code == 400
    assert "computed when read" in response.json()["error"]["message"]
