"""A database that goes away and comes back.

While it is away every API call and ``/metrics`` answer ``503 serviceNotAvailable`` with
``Retry-After`` in the Graph error shape, on a connection the server keeps open; ``/readyz``
answers its own 503. A write the outage interrupts changes nothing. The SDK's recorder, which
retries 503, loses nothing once the database is back. CLI commands say in one line which
database they could not use, and exit with status 3.

PostgreSQL is taken away by cutting a TCP proxy of the test's own between flowruns and the
server (never by stopping the shared server); SQLite by a connection holding the database file
exclusively for longer than the busy timeout.
"""

from __future__ import annotations

import gc
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from sqlalchemy import event
from starlette.testclient import TestClient
from typer.testing import CliRunner

from flowruns.api.app import create_app, open_database
from flowruns.cli import app
from flowruns.client import Client, RecorderOptions, RunStatus
from flowruns.settings import Settings
from flowruns.store import migrations
from flowruns.store.database import make_engine
from tests.conftest import HUB, NS, bearer
from tests.engines import ENGINES, created_database
from tests.proxy import TcpProxy
from tests.servers import AUTH, Server, running

POSTGRESQL = ("127.0.0.1", 5432)
RUN = {"@odata.type": f"#{NS}.outgoingFlowRun", "displayName": "before"}
FAST = RecorderOptions(flush_interval=0.05, heartbeat_interval=0.05, max_backoff=0.2)
UNAVAILABLE_STATUS = 3


def _assert_unavailable(response: httpx.Response | httpx2.Response) -> None:
    """A 503 ``serviceNotAvailable`` in the Graph error shape, with a usable ``Retry-After``."""
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error["code"] == "serviceNotAvailable"
    assert error["innerError"]["request-id"] == response.headers["request-id"]
    assert int(response.headers["Retry-After"]) >= 1


def _calls(run_id: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    """One request of every kind that needs the database: method, path, JSON body."""
    run = f"{HUB}/runs/{run_id}"
    return [
        ("GET", f"{HUB}/runs", None),
        ("GET", run, None),
        ("GET", f"{HUB}/runs/$count", None),
        ("GET", f"{HUB}/processes?$expand=runs", None),
        ("POST", f"{HUB}/runs", {**RUN, "displayName": "during"}),
        ("PATCH", run, {"displayName": "during"}),
        ("DELETE", run, None),
        ("GET", "/metrics", None),
    ]


# -- the API in this process, on each engine ------------------------------------------------


@dataclass
class Outage:
    """A server whose database the test takes away (``begin``) and gives back (``end``)."""

    client: TestClient
    begin: Callable[[], None]
    end: Callable[[], None]


def _locked_sqlite(settings: Settings, stack: ExitStack) -> Outage:
    # The lock below needs the database's only connection; the health evaluation's pass (every
    # few seconds, in a connection of its own) would hold one at random moments, so it is off,
    # and the notifier, which polls twice a second, polls once an hour.
    settings.evaluate_health = False
    settings.notification_poll_seconds = 3600.0
    db = open_database(settings)
    stack.callback(db.dispose)

    def short_busy_timeout(dbapi_connection: Any, _: Any) -> None:
        dbapi_connection.execute("PRAGMA busy_timeout=50")

    def short_busy_timeout_again(dbapi_connection: Any, record: Any) -> None:
        short_busy_timeout(dbapi_connection, record)

    # Locked beyond the busy timeout is the outage; 30 seconds of it would only slow the test.
    # Before the server's own settings (they start with a statement that may wait) and after.
    event.listen(db.engine, "connect", short_busy_timeout, insert=True)
    event.listen(db.engine, "connect", short_busy_timeout_again)
    db.engine.dispose()  # connections made from now on wait 50 ms
    holder: list[sqlite3.Connection] = []

    def lock() -> None:
        # In WAL mode only an exclusive locking mode keeps readers out (until the connection
        # closes), and only a connection that is the database's only one can take it: the
        # server's are closed first (the pool's and the writer's), and made again when needed.
        # A background pass (the dispatch the test's first write wakes, the stale-run check)
        # may hold one while they are closed, or open one again (the writer keeps its own from
        # its first write on); a connection it held goes back to the discarded pool, which only
        # the garbage collector closes. So: close, collect, try without waiting, and again
        # until the lock is ours.
        deadline = time.monotonic() + 30
        while True:
            db.dispose()
            gc.collect()
            connection = sqlite3.connect(
                settings.data_dir / "flowruns.db", isolation_level=None, timeout=0
            )
            try:
                connection.execute("PRAGMA locking_mode=EXCLUSIVE")
                connection.execute("BEGIN EXCLUSIVE")
                connection.execute("COMMIT")
            except sqlite3.OperationalError:
                connection.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
                continue
            holder.append(connection)
            return

    def unlock() -> None:
        while holder:
            holder.pop().close()

    stack.callback(unlock)
    client = TestClient(create_app(settings, db=db), raise_server_exceptions=False)
    return Outage(stack.enter_context(client), lock, unlock)


def _proxied_postgresql(settings: Settings, stack: ExitStack) -> Outage:
    assert settings.database_url is not None
    proxy = stack.enter_context(TcpProxy(POSTGRESQL))
    settings.database_url = proxy.through(settings.database_url)
    client = TestClient(create_app(settings), raise_server_exceptions=False)
    return Outage(stack.enter_context(client), proxy.cut, proxy.restore)


@pytest.fixture
def outage(settings: Settings) -> Iterator[Outage]:
    with ExitStack() as stack:
        if settings.database_url is None:
            yield _locked_sqlite(settings, stack)
        else:
            yield _proxied_postgresql(settings, stack)


def test_every_call_answers_503_while_the_database_is_unavailable_and_changes_nothing(
    outage: Outage, settings: Settings
) -> None:
    client = outage.client
    client.headers.update(bearer(settings))
    run = client.post(f"{HUB}/runs", json=RUN).json()
    outage.begin()
    try:
        for method, path, body in _calls(run["id"]):
            response = client.request(method, path, json=body, headers={"If-Match": "*"})
            _assert_unavailable(response)
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["status"] == "unavailable"
    finally:
        outage.end()
    # Back: the same requests are served, and none of the refused writes left a trace.
    assert client.get(f"{HUB}/runs/$count").text == "1"
    assert client.get(f"{HUB}/runs/{run['id']}").json()["displayName"] == "before"
    assert client.get("/metrics").status_code == 200
    assert client.get("/readyz").status_code == 200


# -- a real server on PostgreSQL, behind a proxy --------------------------------------------


@pytest.fixture(scope="module")
def proxy() -> Iterator[TcpProxy]:
    if "postgresql" not in ENGINES:
        pytest.skip("PostgreSQL is not among FLOWRUNS_TEST_ENGINES")
    with TcpProxy(POSTGRESQL) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, proxy: TcpProxy) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("outage")
    with created_database("flowruns_outage") as url:
        engine = make_engine(url)
        migrations.upgrade(engine)
        engine.dispose()
        env = {"FLOWRUNS_DATABASE_URL": proxy.through(url)}
        with running(directory / "server.log", "--data-dir", str(directory), env=env) as server:
            yield server


@pytest.fixture
def cut(proxy: TcpProxy) -> Iterator[TcpProxy]:
    """The proxy, restored after the test whatever happened."""
    try:
        yield proxy
    finally:
        proxy.restore()


def _client_port(response: httpx.Response) -> int:
    """The local port of the connection that carried ``response``."""
    port: int = response.extensions["network_stream"].get_extra_info("client_addr")[1]
    return port


def test_the_server_keeps_the_connection_through_an_outage(server: Server, cut: TcpProxy) -> None:
    one_connection = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    with httpx.Client(base_url=server.base, headers=AUTH, limits=one_connection) as http:
        created = http.post(f"{HUB}/runs", json=RUN)
        assert created.status_code == 201, created.text
        port = _client_port(created)
        cut.cut()
        for method, path, body in _calls(created.json()["id"]):
            response = http.request(method, path, json=body, headers={"If-Match": "*"})
            _assert_unavailable(response)
            assert _client_port(response) == port, f"{method} {path} closed the connection"
        ready = http.get("/readyz")
        assert (ready.status_code, _client_port(ready)) == (503, port)
        cut.restore()
        back = http.get(f"{HUB}/runs/{created.json()['id']}")
        assert (back.status_code, _client_port(back)) == (200, port)
        assert back.json()["displayName"] == "before"


def test_a_write_cut_off_before_its_commit_changes_nothing(server: Server, cut: TcpProxy) -> None:
    with httpx.Client(base_url=server.base, headers=AUTH) as http:
        process = http.post(
            f"{HUB}/processes",
            json={"@odata.type": f"#{NS}.insightsOutgoingFlow", "displayName": "cut"},
        ).json()
        runs = f"{HUB}/processes/{process['id']}/runs"
        key = {"Idempotency-Key": str(uuid.uuid4())}
        # Every statement of the create reaches PostgreSQL; its COMMIT never does.
        cut.cut_before(b"COMMIT\x00", once_sent=b"INSERT INTO runs")
        _assert_unavailable(http.post(runs, json=RUN, headers=key))
        assert cut.is_cut
        cut.restore()
        assert http.get(f"{runs}/$count").text == "0"
        created = http.post(runs, json=RUN, headers=key)  # the same request, sent again
        assert created.status_code == 201, created.text
        run = f"{HUB}/runs/{created.json()['id']}"
        etag = created.headers["ETag"]
        cut.cut_before(b"COMMIT\x00", once_sent=b"UPDATE runs")
        _assert_unavailable(http.patch(run, json={"displayName": "after"}))
        cut.restore()
        stored = http.get(run)
        assert (stored.json()["displayName"], stored.headers["ETag"]) == ("before", etag)
        assert http.get(f"{runs}/$count").text == "1"


def test_a_recorded_run_loses_nothing_through_a_database_outage(
    server: Server, cut: TcpProxy, capsys: pytest.CaptureFixture[str]
) -> None:
    token = AUTH["Authorization"].removeprefix("Bearer ")
    with Client(f"{server.base}/beta", token) as client:
        process = client.processes.create(f"flow {uuid.uuid4()}", "insightsOutgoingFlow")
        with client.record_run(process, display_name="through", options=FAST) as run:
            run.stats["recordsExported"] = 1
            _eventually(
                lambda: client.runs.get(run.id or "").statistics == {"recordsExported": 1},
                "the first statistics",
            )
            cut.cut()
            for _ in range(50):  # the flow carries on while the database is away
                run.stats["recordsExported"] += 1
            run.warn("slow", "the database went away for a while")
            _eventually(lambda: "cannot record" in capsys.readouterr().err, "the recorder noticed")
            # Some seconds of outage: the recorder's retries keep asking for the database.
            _eventually(lambda: cut.refused >= 20, "retries during the outage")
            cut.restore()
            _eventually(
                lambda: (
                    (client.runs.get(run.id or "").statistics or {}).get("recordsExported") == 51
                ),
                "the statistics kept during the outage",
            )
        stored = client.runs.get(run.id or "")
    assert stored.status is RunStatus.COMPLETED_WITH_WARNINGS
    assert stored.statistics == {
        "recordsExported": 51,
        "warningCount": 1,
        "warnings": [
            {"code": "slow", "message": "the database went away for a while", "target": None}
        ],
    }
    assert stored.end_date_time is not None
    assert "recording run 'through'" in capsys.readouterr().err


def _eventually(check: Callable[[], bool], what: str, seconds: float = 30) -> None:
    """Wait until ``check()`` holds (the recorder works in the background)."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.05)


# -- the command line --------------------------------------------------------------------


@pytest.fixture
def gone() -> Iterator[TcpProxy]:
    """A PostgreSQL address whose server has gone: a proxy cut from the start."""
    with TcpProxy(POSTGRESQL) as proxy:
        proxy.cut()
        yield proxy


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.mark.parametrize(
    "command",
    [["db", "current"], ["db", "upgrade"], ["demo", "seed", "--runs", "1"]],
    ids=lambda command: " ".join(command[:2]),
)
def test_a_command_names_the_unavailable_database_in_one_line(
    command: list[str], gone: TcpProxy
) -> None:
    url = f"postgresql://flowruns:hunter2@127.0.0.1:{gone.port}/flowruns"
    result = CliRunner().invoke(app, [*command, "--database-url", url])
    assert result.exit_code == UNAVAILABLE_STATUS, result.output
    assert _one_line(result.stderr).startswith(
        f"flowruns: the database postgresql+psycopg://flowruns:***@127.0.0.1:{gone.port}/flowruns "
        "is unavailable: "
    )
    assert "hunter2" not in result.output


def test_serve_refuses_to_start_on_an_unavailable_database_in_one_line(
    gone: TcpProxy, tmp_path: Path
) -> None:
    url = f"postgresql://flowruns:hunter2@127.0.0.1:{gone.port}/flowruns"
    result = subprocess.run(
        [sys.executable, "-m", "flowruns", "serve", "--port", "0", "--database-url", url],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode == UNAVAILABLE_STATUS, result.stderr
    line = _one_line(result.stderr)  # no traceback
    assert f"flowruns:***@127.0.0.1:{gone.port}/flowruns is unavailable: " in line
    assert "hunter2" not in result.stdout + result.stderr


def test_a_copy_names_the_target_it_cannot_reach(gone: TcpProxy, tmp_path: Path) -> None:
    target = f"postgresql://flowruns:hunter2@127.0.0.1:{gone.port}/flowruns"
    result = CliRunner().invoke(app, ["db", "copy", "--data-dir", str(tmp_path), "--to", target])
    assert result.exit_code == UNAVAILABLE_STATUS, result.output
    assert f"flowruns:***@127.0.0.1:{gone.port}/flowruns is unavailable: " in _one_line(
        result.stderr
    )
    assert "hunter2" not in result.output


def test_a_sqlite_file_that_cannot_be_opened_is_named_in_one_line(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'missing' / 'flowruns.db'}"
    result = CliRunner().invoke(app, ["db", "current", "--database-url", url])
    assert result.exit_code == UNAVAILABLE_STATUS, result.output
    assert _one_line(result.stderr) == (
        f"flowruns: the database {url} is unavailable: unable to open database file"
    )
