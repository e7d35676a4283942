"""Change notifications end to end: real ``flowruns serve`` processes on each engine and real
receiver processes on loopback (``tests/receiver.py``, written from Graph's documentation).

Retry timing is scaled down through the settings (first retry after 0.25 s, a retry window of
8 s instead of Graph's 4 hours), so "the receiver is down for a while" takes seconds here.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from flowruns.client import Client
from flowruns.settings import DEFAULT_TENANT
from flowruns.store import migrations
from flowruns.store.database import make_engine
from tests.conftest import NS
from tests.engines import ENGINES, created_database
from tests.servers import AUTH, Server, start, token, wait_ready
from tests.webhooks import Receiver, start_receiver

HUB = "/beta/external/industryData"
RETRY_WINDOW_SECONDS = 8.0
ENVIRONMENT = {
    "FLOWRUNS_NOTIFICATION_ALLOW_PRIVATE": "1",
    "FLOWRUNS_NOTIFICATION_RETRY": "0.25",
    "FLOWRUNS_NOTIFICATION_RETRY_WINDOW": str(RETRY_WINDOW_SECONDS),
    "FLOWRUNS_NOTIFICATION_POLL": "0.2",
    "FLOWRUNS_NOTIFICATION_TIMEOUT": "5",
}


@pytest.fixture
def receivers(tmp_path: Path) -> Iterator[Callable[..., Receiver]]:
    started: list[Receiver] = []

    def make(*args: str, name: str = "receiver", port: int = 0) -> Receiver:
        receiver = start_receiver(tmp_path / f"{name}.jsonl", *args, port=port)
        started.append(receiver)
        return receiver

    yield make
    for receiver in started:
        receiver.stop()


def _database(engine: str, root: Path) -> Iterator[list[str]]:
    if engine == "sqlite":
        yield ["--data-dir", str(root / "data")]
        return
    with created_database("flowruns_notify") as url:
        created = make_engine(url)
        migrations.upgrade(created)
        created.dispose()
        yield ["--database-url", url, "--data-dir", str(root / "data")]


@pytest.fixture(params=ENGINES)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[str]]:
    """``serve`` arguments naming a fresh database of one engine."""
    yield from _database(request.param, tmp_path)


@pytest.fixture
def server(database: list[str], tmp_path: Path) -> Iterator[Server]:
    started = start(tmp_path / "server.log", *database, env=ENVIRONMENT)
    try:
        wait_ready(started)
        yield started
    finally:
        started.stop()


def _later(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def subscribe(
    base: str,
    receiver: Receiver,
    *,
    resource: str = "external/industryData/runs",
    change_type: str = "created,updated,deleted",
    lifecycle: Receiver | None = None,
    seconds: float = 3600,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    body: dict[str, Any] = {
        "changeType": change_type,
        "notificationUrl": receiver.url,
        "resource": resource,
        "expirationDateTime": _later(seconds),
        "clientState": "secretClientValue",
    }
    if lifecycle is not None:
        body["lifecycleNotificationUrl"] = lifecycle.url
    return httpx.post(f"{base}/beta/subscriptions", json=body, headers=headers or AUTH, timeout=30)


def create_run(base: str, name: str = "nightly export", **values: Any) -> str:
    body = {"@odata.type": f"#{NS}.outgoingFlowRun", "displayName": name, **values}
    response = httpx.post(f"{base}{HUB}/runs", json=body, headers=AUTH)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_a_receiver_gets_each_change_in_graphs_shape(
    server: Server, receivers: Callable[..., Receiver]
) -> None:
    receiver = receivers()
    created = subscribe(server.base, receiver)
    assert created.status_code == 201, created.text
    subscription = created.json()
    assert created.headers["Location"].endswith(f"/beta/subscriptions/{subscription['id']}")
    assert subscription["changeType"] == "created,updated,deleted"
    assert subscription["applicationId"] == "tests"
    assert subscription["includeResourceData"] is False

    run_id = create_run(server.base)
    patched = httpx.patch(
        f"{server.base}{HUB}/runs/{run_id}", json={"status": "failed"}, headers=AUTH
    )
    assert patched.status_code == 200
    assert httpx.delete(f"{server.base}{HUB}/runs/{run_id}", headers=AUTH).status_code == 204

    items = receiver.wait_for(lambda items: len(items) >= 3)
    assert [item["changeType"] for item in items] == ["created", "updated", "deleted"]
    for item in items:
        assert set(item) == {
            "id",
            "subscriptionId",
            "subscriptionExpirationDateTime",
            "changeType",
            "resource",
            "resourceData",
            "clientState",
            "tenantId",
        }
        assert item["subscriptionId"] == subscription["id"]
        assert item["clientState"] == "secretClientValue"
        assert item["tenantId"] == DEFAULT_TENANT
        assert item["resource"] == f"external/industryData/runs/{run_id}"
        assert item["resourceData"] == {
            "@odata.type": f"#{NS}.outgoingFlowRun",
            "@odata.id": f"external/industryData/runs/{run_id}",
            "id": run_id,
        }
    time.sleep(1)
    assert len(receiver.items()) == 3  # once each
    assert len({item["id"] for item in receiver.items()}) == 3


def test_a_filtered_subscription_hears_only_the_runs_its_filter_keeps(
    server: Server, receivers: Callable[..., Receiver]
) -> None:
    failed, everything = receivers(name="failed"), receivers(name="all")
    resource = "external/industryData/runs?$filter=status eq 'failed'"
    assert (
        subscribe(server.base, failed, resource=resource, change_type="created").status_code == 201
    )
    assert subscribe(server.base, everything, change_type="created").status_code == 201
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    bad = create_run(
        server.base,
        "broken",
        status="failed",
        startDateTime=now,
        endDateTime=now,
        blockingError={"code": "x", "message": "y"},
    )
    create_run(server.base, "fine")
    everything.wait_for(lambda items: len(items) == 2)
    items = failed.wait_for(lambda items: len(items) >= 1)
    time.sleep(0.5)
    assert [item["resourceData"]["id"] for item in failed.items()] == [bad]
    assert items[0]["changeType"] == "created"


def test_a_filter_that_cannot_be_evaluated_stops_no_other_subscriptions_delivery(
    server: Server, receivers: Callable[..., Receiver]
) -> None:
    # Out of 64-bit range once a run's name is longer than one character: PostgreSQL refuses
    # to compute it, SQLite goes on in floating point. Either way the other subscription of the
    # same collection hears every run, before and after.
    overflowing, everything = receivers(name="overflowing"), receivers(name="all")
    resource = "external/industryData/runs?$filter=length(displayName) mul 9223372036854775807 gt 0"
    assert (
        subscribe(server.base, overflowing, resource=resource, change_type="created").status_code
        == 201
    )
    assert subscribe(server.base, everything, change_type="created").status_code == 201
    first = create_run(server.base, "nightly export")
    everything.wait_for(lambda items: len(items) == 1)
    second = create_run(server.base, "x")
    items = everything.wait_for(lambda items: len(items) == 2)
    assert [item["resourceData"]["id"] for item in items] == [first, second]
    heard = [
        item["resourceData"]["id"]
        for item in overflowing.wait_for(
            lambda items: second in {i["resourceData"]["id"] for i in items}
        )
    ]
    assert second in heard  # a run its filter can be evaluated on still reaches it


def test_a_subscription_to_a_process_runs_hears_that_process_alone(
    server: Server, receivers: Callable[..., Receiver]
) -> None:
    receiver = receivers()
    process = httpx.post(
        f"{server.base}{HUB}/processes",
        json={"@odata.type": f"#{NS}.insightsOutgoingFlow", "displayName": "p"},
        headers=AUTH,
    ).json()["id"]
    resource = f"external/industryData/processes/{process}/runs"
    assert (
        subscribe(server.base, receiver, resource=resource, change_type="created").status_code
        == 201
    )
    create_run(server.base, "elsewhere")
    mine = httpx.post(
        f"{server.base}{HUB}/processes/{process}/runs", json={"displayName": "mine"}, headers=AUTH
    ).json()["id"]
    receiver.wait_for(lambda items: len(items) >= 1)
    time.sleep(0.5)
    assert [item["resourceData"]["id"] for item in receiver.items()] == [mine]


@pytest.mark.parametrize(
    ("behaviour", "said"), [("wrong", "instead of the validation token"), ("error", "answered 500")]
)
def test_a_receiver_that_fails_the_handshake_gets_no_subscription(
    server: Server, receivers: Callable[..., Receiver], behaviour: str, said: str
) -> None:
    receiver = receivers("--handshake", behaviour)
    response = subscribe(server.base, receiver)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert said in error["message"]
    assert error["target"] == "notificationUrl"
    listed = httpx.get(f"{server.base}/beta/subscriptions", headers=AUTH).json()["value"]
    assert listed == []


def test_a_receiver_down_for_a_while_gets_its_notifications_when_it_is_back(
    server: Server, receivers: Callable[..., Receiver]
) -> None:
    receiver = receivers()
    assert subscribe(server.base, receiver, change_type="created").status_code == 201
    receiver.stop()
    run_ids = [create_run(server.base, f"run {n}") for n in range(3)]
    time.sleep(RETRY_WINDOW_SECONDS / 2)  # several tries fail meanwhile
    back = receivers(name="back", port=receiver.port)
    items = back.wait_for(lambda items: len(items) >= 3)
    assert sorted(item["resourceData"]["id"] for item in items) == sorted(run_ids)


def test_notifications_given_up_on_are_announced_as_missed(
    server: Server, receivers: Callable[..., Receiver]
) -> None:
    receiver, lifecycle = receivers(name="changes"), receivers(name="lifecycle")
    assert subscribe(server.base, receiver, lifecycle=lifecycle).status_code == 201
    receiver.stop()
    create_run(server.base)
    items = lifecycle.wait_for(lambda items: any(i["lifecycleEvent"] == "missed" for i in items))
    missed = next(i for i in items if i["lifecycleEvent"] == "missed")
    assert missed["clientState"] == "secretClientValue"
    assert missed["tenantId"] == DEFAULT_TENANT


def test_changes_pruned_before_a_subscription_heard_of_them_are_announced_as_missed(
    database: list[str], tmp_path: Path, receivers: Callable[..., Receiver]
) -> None:
    """A subscription waiting for reauthorization hears nothing; when retention prunes the
    changes it was owed meanwhile, it is told so with ``missed`` once it is reauthorized."""
    receiver, lifecycle = receivers(name="changes"), receivers(name="lifecycle")
    environment = {**ENVIRONMENT, "FLOWRUNS_CHANGE_RETENTION": "1"}
    server = start(tmp_path / "server.log", *database, env=environment)
    try:
        wait_ready(server)
        short = {"Authorization": f"Bearer {token(lifetime_seconds=2)}"}
        created = subscribe(server.base, receiver, lifecycle=lifecycle, headers=short)
        assert created.status_code == 201, created.text
        key = created.json()["id"]
        time.sleep(2.5)  # the token expired: notifications are held
        create_run(server.base)
        time.sleep(2.5)  # older than the retention, and pruned
        renewed = httpx.post(f"{server.base}/beta/subscriptions/{key}/reauthorize", headers=AUTH)
        assert renewed.status_code == 204, renewed.text
        items = lifecycle.wait_for(
            lambda items: any(i["lifecycleEvent"] == "missed" for i in items)
        )
    finally:
        server.stop()
    missed = next(i for i in items if i["lifecycleEvent"] == "missed")
    assert missed["subscriptionId"] == key
    assert missed["clientState"] == "secretClientValue"
    assert receiver.items() == []


def test_a_slow_receiver_does_not_delay_another(
    server: Server, receivers: Callable[..., Receiver]
) -> None:
    slow, fast = receivers("--delay", "3", name="slow"), receivers(name="fast")
    for receiver in (slow, fast):
        assert subscribe(server.base, receiver, change_type="created").status_code == 201
    started = time.time()
    for n in range(4):
        create_run(server.base, f"run {n}")
    fast.wait_for(lambda items: len(items) == 4)
    fast_done = max(r["received"] for r in fast.requests())
    slow.wait_for(lambda items: len(items) == 4)
    assert fast_done - started < 2.5
    assert max(r["received"] for r in slow.requests()) > fast_done


def test_an_expired_subscription_is_removed_with_a_lifecycle_notification(
    server: Server, receivers: Callable[..., Receiver]
) -> None:
    receiver, lifecycle = receivers(name="changes"), receivers(name="lifecycle")
    created = subscribe(server.base, receiver, lifecycle=lifecycle, seconds=2)
    assert created.status_code == 201
    key = created.json()["id"]
    items = lifecycle.wait_for(
        lambda items: any(i["lifecycleEvent"] == "subscriptionRemoved" for i in items)
    )
    assert items[-1]["subscriptionId"] == key
    gone = httpx.get(f"{server.base}/beta/subscriptions/{key}", headers=AUTH)
    assert gone.status_code == 404


def test_a_token_about_to_expire_asks_for_reauthorization(
    server: Server, receivers: Callable[..., Receiver]
) -> None:
    receiver, lifecycle = receivers(name="changes"), receivers(name="lifecycle")
    short = {"Authorization": f"Bearer {token(lifetime_seconds=120)}"}
    created = subscribe(server.base, receiver, lifecycle=lifecycle, headers=short)
    assert created.status_code == 201
    key = created.json()["id"]
    items = lifecycle.wait_for(
        lambda items: any(i["lifecycleEvent"] == "reauthorizationRequired" for i in items)
    )
    assert items[0]["subscriptionId"] == key
    renewed = httpx.post(f"{server.base}/beta/subscriptions/{key}/reauthorize", headers=AUTH)
    assert renewed.status_code == 204, renewed.text


def test_a_notification_owed_when_the_server_is_killed_is_delivered_after_restart(
    database: list[str], tmp_path: Path, receivers: Callable[..., Receiver]
) -> None:
    receiver = receivers()
    first = start(tmp_path / "first.log", *database, env=ENVIRONMENT)
    try:
        wait_ready(first)
        assert subscribe(first.base, receiver, change_type="created").status_code == 201
        receiver.stop()  # nothing can be delivered: the notifications wait in the queue
        run_ids = [create_run(first.base, f"run {n}") for n in range(5)]
    finally:
        first.stop(signal.SIGKILL)
    back = receivers(name="back", port=receiver.port)
    second = start(tmp_path / "second.log", *database, env=ENVIRONMENT)
    try:
        wait_ready(second)
        items = back.wait_for(lambda items: len(items) >= 5)
        assert sorted(item["resourceData"]["id"] for item in items) == sorted(run_ids)
    finally:
        second.stop()


def delivery_processes(server: Server) -> list[int]:
    """The ids of the delivery processes ``server``'s process started that still run."""
    found = []
    for task in Path(f"/proc/{server.process.pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            with suppress(FileNotFoundError):
                if b"flowruns.api.delivery" in Path(f"/proc/{child}/cmdline").read_bytes():
                    found.append(int(child))
    return found


def is_running(pid: int) -> bool:
    """Whether the process ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def wait_until(done: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline
        time.sleep(0.02)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_the_delivery_process_ends_with_its_server(tmp_path: Path, sig: signal.Signals) -> None:
    server = start(tmp_path / "server.log", "--data-dir", str(tmp_path / "data"), env=ENVIRONMENT)
    try:
        wait_ready(server)
        [delivery] = delivery_processes(server)
        assert is_running(delivery)
    finally:
        server.stop(sig)
    wait_until(lambda: not is_running(delivery))


def test_a_delivery_process_that_dies_is_started_again_and_readyz_says_so_meanwhile(
    tmp_path: Path, receivers: Callable[..., Receiver]
) -> None:
    receiver = receivers()
    server = start(tmp_path / "server.log", "--data-dir", str(tmp_path / "data"), env=ENVIRONMENT)
    try:
        wait_ready(server)
        assert httpx.get(f"{server.base}/readyz").status_code == 200
        assert subscribe(server.base, receiver, change_type="created").status_code == 201
        [first] = delivery_processes(server)
        os.kill(first, signal.SIGKILL)
        wait_until(lambda: httpx.get(f"{server.base}/readyz").status_code == 503)
        unready = httpx.get(f"{server.base}/readyz").json()
        assert "delivery" in unready["reason"]
        run_id = create_run(server.base)  # owed while no delivery process runs
        wait_until(lambda: httpx.get(f"{server.base}/readyz").status_code == 200)
        [second] = delivery_processes(server)
        assert second != first
        items = receiver.wait_for(lambda items: len(items) >= 1)
        assert [item["resourceData"]["id"] for item in items] == [run_id]
    finally:
        server.stop()
    assert "delivery process exited" in server.log.read_text()


@pytest.mark.parametrize("engine", [e for e in ENGINES if e == "postgresql"])
def test_two_servers_on_postgresql_share_delivery_without_sending_twice(
    engine: str, tmp_path: Path, receivers: Callable[..., Receiver]
) -> None:
    receiver = receivers()
    with created_database("flowruns_notify_scale") as url:
        created = make_engine(url)
        migrations.upgrade(created)
        created.dispose()
        environment = {**ENVIRONMENT, "FLOWRUNS_DATABASE_URL": url}
        servers = [start(tmp_path / f"{name}.log", env=environment) for name in "ab"]
        try:
            for server in servers:
                wait_ready(server)
            assert subscribe(servers[0].base, receiver, change_type="created").status_code == 201
            run_ids = [create_run(servers[n % 2].base, f"run {n}") for n in range(40)]
            receiver.wait_for(lambda items: len(items) >= len(run_ids))
            time.sleep(1)  # anything sent twice would have arrived by now
        finally:
            for server in servers:
                server.stop()
    items = receiver.items()
    assert sorted(item["resourceData"]["id"] for item in items) == sorted(run_ids)
    assert len({item["id"] for item in items}) == len(items)


def test_the_sdk_and_the_cli_manage_subscriptions_and_listen(
    server: Server, receivers: Callable[..., Receiver], tmp_path: Path
) -> None:
    receiver = receivers()
    root = f"{server.base}/beta"
    with Client(root, token()) as sdk:
        created = sdk.subscriptions.create(
            "external/industryData/runs",
            receiver.url,
            datetime.now(UTC) + timedelta(hours=1),
            change_type="created",
            client_state="s",
        )
        assert created.id is not None
        assert [s.id for s in sdk.subscriptions.list()] == [created.id]
        later = datetime.now(UTC) + timedelta(hours=2)
        renewed = sdk.subscriptions.renew(created.id, later)
        assert renewed.expiration_date_time is not None
        assert abs((renewed.expiration_date_time - later).total_seconds()) < 1
        sdk.subscriptions.reauthorize(created.id)
        sdk.subscriptions.delete(created.id)
        assert sdk.subscriptions.list() == []

    environment = {**os.environ, "FLOWRUNS_URL": root, "FLOWRUNS_TOKEN": token()}
    listening = subprocess.Popen(
        [sys.executable, "-m", "flowruns", "listen", "--change-type", "created"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert listening.stderr is not None
        assert "Listening on http://127.0.0.1:" in listening.stderr.readline()
        run_id = create_run(server.base)
        assert listening.stdout is not None
        line = listening.stdout.readline()
        assert f"created  external/industryData/runs/{run_id}" in line
    finally:
        listening.send_signal(signal.SIGINT)
        listening.communicate(timeout=30)
    listed = subprocess.run(
        [sys.executable, "-m", "flowruns", "subscriptions", "list", "--json"],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(listed.stdout) == []  # listen deleted its subscription


def test_run_groups_and_processes_are_followed_through_every_change_type(
    server: Server, receivers: Callable[..., Receiver]
) -> None:
    groups, processes = receivers(name="groups"), receivers(name="processes")
    resource = "external/industryData/runGroups"
    assert subscribe(server.base, groups, resource=resource).status_code == 201
    resource = "external/industryData/processes"
    assert subscribe(server.base, processes, resource=resource).status_code == 201
    group = httpx.post(
        f"{server.base}{HUB}/runGroups", json={"displayName": "nightly"}, headers=AUTH
    ).json()["id"]
    run_id = create_run(server.base)
    member = {"@odata.id": f"external/industryData/runs/{run_id}"}
    added = httpx.post(f"{server.base}{HUB}/runGroups/{group}/runs/$ref", json=member, headers=AUTH)
    assert added.status_code == 204
    assert httpx.delete(f"{server.base}{HUB}/runGroups/{group}", headers=AUTH).status_code == 204
    process = httpx.post(
        f"{server.base}{HUB}/processes",
        json={"@odata.type": f"#{NS}.insightsOutgoingFlow", "displayName": "p"},
        headers=AUTH,
    ).json()["id"]
    renamed = httpx.patch(
        f"{server.base}{HUB}/processes/{process}", json={"displayName": "q"}, headers=AUTH
    )
    assert renamed.status_code == 200
    assert httpx.delete(f"{server.base}{HUB}/processes/{process}", headers=AUTH).status_code == 204

    seen = groups.wait_for(lambda items: any(i["changeType"] == "deleted" for i in items))
    # A member added, and removed when the group is deleted: each a change of the group, told
    # as an update even once the group is gone (its type is in the log).
    changes = [(i["changeType"], i["resourceData"]["id"]) for i in seen]
    assert changes[0] == ("created", group)
    assert changes[-1] == ("deleted", group)
    assert len(changes) >= 4
    assert set(changes[1:-1]) == {("updated", group)}
    assert seen[0]["resource"] == f"external/industryData/runGroups/{group}"
    assert seen[0]["resourceData"]["@odata.type"] == f"#{NS}.runGroup"
    seen = processes.wait_for(lambda items: len(items) >= 3)
    assert [i["changeType"] for i in seen] == ["created", "updated", "deleted"]
    assert seen[0]["resourceData"]["@odata.type"] == f"#{NS}.insightsOutgoingFlow"


def test_the_runs_of_a_deleted_process_are_notified_as_deleted(
    server: Server, receivers: Callable[..., Receiver]
) -> None:
    receiver = receivers()
    process = httpx.post(
        f"{server.base}{HUB}/processes",
        json={"@odata.type": f"#{NS}.insightsOutgoingFlow", "displayName": "p"},
        headers=AUTH,
    ).json()["id"]
    resource = f"external/industryData/processes/{process}/runs"
    for change_type in ("deleted", "created,updated"):
        created = subscribe(server.base, receiver, resource=resource, change_type=change_type)
        assert created.status_code == 201
    run_id = httpx.post(
        f"{server.base}{HUB}/processes/{process}/runs", json={"displayName": "r"}, headers=AUTH
    ).json()["id"]
    receiver.wait_for(lambda items: len(items) >= 1)  # created
    gone = httpx.delete(
        f"{server.base}{HUB}/processes/{process}",
        headers={**AUTH, "Prefer": "cascade-running"},
    )
    assert gone.status_code == 204
    items = receiver.wait_for(lambda items: len(items) >= 2)
    time.sleep(0.5)
    assert [(i["changeType"], i["resourceData"]["id"]) for i in receiver.items()] == [
        ("created", run_id),
        ("deleted", run_id),
    ]
    assert items[1]["resource"] == f"external/industryData/runs/{run_id}"
