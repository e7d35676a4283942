"""Recording runs around a flow's code: every way a run can end, the decorator, and a flow that
outlives its server."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from flowruns.client import (
    Client,
    F,
    OutgoingFlowRun,
    Process,
    RecorderOptions,
    Run,
    RunStatus,
    current_run,
)
from tests.client.conftest import TOKEN, server_env
from tests.client.recording import RecordingTransport
from tests.engines import ENGINES
from tests.servers import Server, free_port, start, wait_ready

FAST = RecorderOptions(flush_interval=0.05, heartbeat_interval=0.05, max_backoff=0.2)


def eventually(check: Callable[[], bool], what: str, seconds: float = 30) -> None:
    """Wait until ``check()`` holds (the recorder works in the background)."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.05)


def only_run(client: Client, process: Process) -> Run:
    runs = list(client.runs.list(filter=F.process.id == process.id))
    assert len(runs) == 1, runs
    return runs[0]


def test_a_clean_run_completes_with_its_statistics(client: Client, process: Process) -> None:
    with client.record_run(process, display_name="Roster export") as run:
        for _ in range(3):
            run.stats["recordsProcessed"] += 10
        run.stats["recordsSucceeded"] = 30
    stored = client.runs.get(run.id or "")
    assert stored.status is RunStatus.COMPLETED
    assert stored.statistics == {"recordsProcessed": 30, "recordsSucceeded": 30}
    assert stored.end_date_time is not None
    assert isinstance(stored, OutgoingFlowRun)  # the run type of an outgoing flow
    assert only_run(client, process).display_name == "Roster export"


def test_warnings_and_errors_set_the_final_status_and_keep_the_newest_twenty(
    client: Client, process: Process
) -> None:
    with client.record_run(process, display_name="warned") as warned:
        warned.warn("optionalDropped", "no email for student 7", target="students/7")
    with client.record_run(process, display_name="errored") as errored:
        for i in range(25):
            errored.error("recordRejected", f"row {i} has no id", target=f"row {i}")
        errored.warn("optionalDropped", "also a warning")
    first = client.runs.get(warned.id or "")
    assert first.status is RunStatus.COMPLETED_WITH_WARNINGS
    assert first.statistics == {
        "warningCount": 1,
        "warnings": [
            {"code": "optionalDropped", "message": "no email for student 7", "target": "students/7"}
        ],
    }
    second = client.runs.get(errored.id or "")
    assert second.status is RunStatus.COMPLETED_WITH_ERRORS
    assert second.statistics is not None
    assert second.statistics["errorCount"] == 25
    assert [e["target"] for e in second.statistics["errors"]] == [f"row {i}" for i in range(5, 25)]


def test_problem_lists_the_flow_fills_itself_are_sent_as_the_newest_twenty(
    client: Client, process: Process
) -> None:
    """The service refuses more than 20 entries (400), so the recorder never sends more, however
    the flow filled the lists: given at the start, assigned, or appended to in place."""
    entries = [{"code": "old", "message": f"given {i}", "target": None} for i in range(30)]
    with client.record_run(
        process, display_name="filled", statistics={"warnings": entries}, options=FAST
    ) as run:
        run.stats["errors"] = [{"code": "set", "message": f"set {i}"} for i in range(25)]
        run.stats["errors"].extend({"code": "late", "message": f"late {i}"} for i in range(5))
        run.stats["errorCount"] = 30
    stored = client.runs.get(run.id or "")
    assert stored.status is RunStatus.COMPLETED_WITH_ERRORS
    assert stored.statistics is not None
    messages = [e["message"] for e in stored.statistics["errors"]]
    assert messages == [f"set {i}" for i in range(10, 25)] + [f"late {i}" for i in range(5)]
    assert [w["message"] for w in stored.statistics["warnings"]] == [
        f"given {i}" for i in range(10, 30)
    ]


def test_an_exception_fails_the_run_with_a_blocking_error_and_propagates(
    client: Client, process: Process
) -> None:
    recorders = []

    def flow() -> None:
        with client.record_run(process, display_name="doomed") as run:
            recorders.append(run)
            run.stats["recordsProcessed"] = 5
            raise ConnectionError(
                f"cannot reach postgresql://sis:hunter2@db/sis with token {TOKEN}"
            )

    with pytest.raises(ConnectionError, match="hunter2"):  # the flow's exception, untouched
        flow()
    run = recorders[0]
    stored = client.runs.get(run.id or "")
    assert stored.status is RunStatus.FAILED
    assert stored.statistics == {"recordsProcessed": 5}
    assert stored.blocking_error is not None
    assert stored.blocking_error.code == "ConnectionError"
    message = stored.blocking_error.message or ""
    assert message == "cannot reach postgresql://sis:***@db/sis with token ***"
    assert "Traceback" not in message


def test_a_wrapper_can_fail_the_run_without_raising(client: Client, process: Process) -> None:
    with client.record_run(process, display_name="wrapped command") as run:
        run.stats["recordsProcessed"] = 2
        run.fail("exitCode3", f"export.sh exited with 3; last stderr: token={TOKEN}")
    stored = client.runs.get(run.id or "")
    assert stored.status is RunStatus.FAILED
    assert stored.blocking_error is not None
    assert (stored.blocking_error.code, stored.blocking_error.message) == (
        "exitCode3",
        "export.sh exited with 3; last stderr: token=***",
    )


def test_the_decorator_records_each_call(client: Client, process: Process) -> None:
    @client.recorded(process)
    def export(rows: int) -> int:
        current_run().stats["recordsExported"] += rows
        if rows < 0:
            raise ValueError("negative")
        return rows * 2

    assert export(21) == 42
    with pytest.raises(ValueError, match="negative"):
        export(-1)
    runs = list(client.processes.runs(process.id or "", orderby=F.startDateTime.asc()))
    assert [r.status for r in runs] == [RunStatus.COMPLETED, RunStatus.FAILED]
    assert runs[0].display_name == export.__qualname__
    assert runs[0].statistics == {"recordsExported": 21}
    with pytest.raises(LookupError):
        current_run()


def test_statistics_are_sent_while_the_flow_runs_and_heartbeats_keep_it_alive(
    server: Server, process: Process
) -> None:
    transport = RecordingTransport()
    with (
        Client(f"{server.base}/beta", TOKEN, transport=transport) as client,
        client.record_run(process, display_name="long", options=FAST) as run,
    ):
        run.stats["recordsProcessed"] = 1
        eventually(
            lambda: client.runs.get(run.id or "").statistics == {"recordsProcessed": 1},
            "statistics sent before the end",
        )
        eventually(
            lambda: any(r.method == "PATCH" and r.content == b"{}" for r, _ in transport.exchanges),
            "a heartbeat",
        )
        assert client.runs.get(run.id or "").status is RunStatus.RUNNING


@pytest.fixture(params=ENGINES)
def restartable(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Server]]:
    """Start (and restart) a server on one port and one database; stopped at the end."""
    port = free_port()
    servers: list[Server] = []
    with ExitStack() as stack:
        env = server_env(request.param, stack, request)

        def start_server() -> Server:
            server = start(
                tmp_path / "log", "--data-dir", str(tmp_path / "data"), env=env, port=port
            )
            servers.append(server)
            wait_ready(server)
            return server

        yield start_server
        for server in servers:
            server.stop()


def test_a_flow_keeps_running_while_the_server_restarts(
    restartable: Callable[[], Server], capsys: pytest.CaptureFixture[str]
) -> None:
    server = restartable()
    with Client(f"{server.base}/beta", TOKEN) as client:
        process = client.processes.create("nightly", "insightsOutgoingFlow")
        with client.record_run(process, display_name="survivor", options=FAST) as run:
            run.stats["recordsExported"] = 1
            eventually(lambda: client.runs.get(run.id or "").statistics != {}, "first statistics")
            server.stop()
            for _ in range(50):  # the flow carries on, never waiting on the recorder
                run.stats["recordsExported"] += 1
            run.warn("slow", "the server went away for a while")
            eventually(lambda: "cannot record" in capsys.readouterr().err, "a warning on stderr")
            server = restartable()
            eventually(
                lambda: (
                    (client.runs.get(run.id or "").statistics or {}).get("recordsExported") == 51
                ),
                "statistics buffered during the outage",
            )
        stored = client.runs.get(run.id or "")
        assert stored.status is RunStatus.COMPLETED_WITH_WARNINGS
        assert stored.statistics is not None
        assert stored.statistics["recordsExported"] == 51
        assert client.runs.count(filter=F.process.id == process.id) == 1


def test_a_run_created_while_the_server_is_down_is_created_once_it_is_back(
    restartable: Callable[[], Server], capsys: pytest.CaptureFixture[str]
) -> None:
    server = restartable()
    with Client(f"{server.base}/beta", TOKEN) as client:
        process = client.processes.create("nightly", "insightsOutgoingFlow")
        server.stop()
        with client.record_run(
            process, display_name="late start", inputs=["roster.csv"], options=FAST
        ) as run:
            assert run.id is None  # the block started anyway
            run.stats["recordsExported"] = 7
            run.output("roster.share", row_count=7)
            server = restartable()
            eventually(lambda: run.id is not None, "the run created in the background")
        stored = only_run(client, process)
        assert (stored.id, stored.status) == (run.id, RunStatus.COMPLETED)
        assert stored.statistics == {"recordsExported": 7}
        # The datasets declared while the server was down were recorded once it was back.
        assert [a.name for a in client.runs.inputs(run.id or "")] == ["roster.csv"]
        outputs = [(a.name, a.row_count) for a in client.runs.outputs(run.id or "")]
        assert outputs == [("roster.share", 7)]
    assert "cannot record run 'late start'" in capsys.readouterr().err


def test_an_unreachable_server_at_the_end_costs_a_bounded_wait_and_a_warning(
    restartable: Callable[[], Server], capsys: pytest.CaptureFixture[str]
) -> None:
    server = restartable()
    options = RecorderOptions(flush_interval=0.05, final_timeout=1.0, request_timeout=0.5)
    with Client(f"{server.base}/beta", TOKEN) as client:
        process = client.processes.create("nightly", "insightsOutgoingFlow")
        with client.record_run(process, display_name="orphan", options=options) as run:
            server.stop()
            run.stats["recordsExported"] = 3
            run.output("roster.share", row_count=3)
        err = capsys.readouterr().err
        assert "could not record the end of run 'orphan'" in err
        assert "status completed" in err
        assert "'recordsExported': 3" in err
        assert "datasets (output roster.share)" in err
        server = restartable()
        assert client.runs.get(run.id or "").status is RunStatus.RUNNING


def test_each_recorded_run_is_a_run_of_its_own_even_with_one_name(
    client: Client, process: Process
) -> None:
    name = f"same {uuid.uuid4()}"
    for _ in range(2):
        with client.record_run(process, display_name=name):
            pass
    assert client.runs.count(filter=F.displayName == name) == 2
