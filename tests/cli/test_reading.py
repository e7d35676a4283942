"""``flowruns runs`` and ``flowruns processes`` against a real server."""

from __future__ import annotations

import json
import uuid

from tests.cli.conftest import Service


def test_runs_list_filters_by_status_process_and_time_as_json(service: Service) -> None:
    process = service.process(f"roster {uuid.uuid4()}")
    other = service.process(f"other {uuid.uuid4()}")
    failed = service.run_of(
        process,
        displayName="nightly failed",
        status="failed",
        startDateTime="2026-01-02T00:00:00Z",
        endDateTime="2026-01-02T00:10:00Z",
        blockingError={"code": "quotaExceeded", "message": "over quota"},
    )
    service.run_of(process, displayName="nightly running")
    service.run_of(other, displayName="other failed", status="failed")

    result = service.invoke("runs", "list", "--status", "failed", "--process", process, "--json")
    assert result.exit_code == 0, result.output
    runs = json.loads(result.stdout)
    assert [r["id"] for r in runs] == [failed["id"]]
    assert runs[0]["blockingError"]["code"] == "quotaExceeded"
    assert runs[0]["@odata.type"] == "#microsoft.graph.industryData.outgoingFlowRun"

    window = ["--since", "2026-01-01", "--until", "2026-01-03T00:00:00Z"]
    result = service.invoke("runs", "list", "--process", process, *window, "--json")
    assert [r["id"] for r in json.loads(result.stdout)] == [failed["id"]]
    result = service.invoke("runs", "list", "--process", process, "--since", "1h", "--json")
    assert [r["displayName"] for r in json.loads(result.stdout)] == ["nightly running"]


def test_runs_list_follows_pages_up_to_top(service: Service) -> None:
    process = service.process(f"pages {uuid.uuid4()}")
    for day in range(1, 8):
        service.run_of(
            process,
            displayName=f"day {day}",
            status="completed",
            startDateTime=f"2026-02-0{day}T00:00:00Z",
        )
    args = ("runs", "list", "--process", process, "--json")
    result = service.invoke(*args, "--top", "5", "--page-size", "2")
    assert result.exit_code == 0, result.output
    assert [r["displayName"] for r in json.loads(result.stdout)] == [
        "day 7",
        "day 6",
        "day 5",
        "day 4",
        "day 3",
    ]


def test_runs_list_shows_a_progress_bar_on_a_terminal_only(service: Service) -> None:
    process = service.process(f"progress {uuid.uuid4()}")
    for day in range(1, 4):
        service.run_of(process, displayName=f"day {day}", startDateTime=f"2026-03-0{day}T00:00:00Z")
    args = ("runs", "list", "--process", process, "--page-size", "1")
    piped = service.run(args)
    assert piped.returncode == 0, piped.stderr
    assert "Fetching runs" not in piped.stderr
    terminal = service.run(args, env={"TTY_COMPATIBLE": "1"})
    assert terminal.returncode == 0, terminal.stderr
    assert "Fetching runs" in terminal.stderr


def test_runs_list_table_shows_status_duration_and_type(service: Service) -> None:
    process = service.process(f"table {uuid.uuid4()}")
    run = service.run_of(
        process,
        displayName="weekly export",
        status="completedWithWarnings",
        startDateTime="2026-03-01T10:00:00Z",
        endDateTime="2026-03-01T11:02:00Z",
    )
    result = service.invoke("runs", "list", "--process", process, "--search", "weekly")
    assert result.exit_code == 0, result.output
    assert "weekly export" in result.stdout
    assert "completedWithWarnings" in result.stdout
    assert "1h 02m" in result.stdout
    assert "outgoing" in result.stdout
    assert run["id"] in result.stdout
    none = service.invoke("runs", "list", "--process", process, "--search", "daily")
    assert none.exit_code == 0
    assert "No runs match" in none.stderr


def test_runs_get_shows_statistics_and_the_blocking_error(service: Service) -> None:
    process = service.process(f"detail {uuid.uuid4()}")
    run = service.run_of(
        process,
        displayName="sync to LMS",
        status="failed",
        statistics={
            "recordsProcessed": 1200,
            "warnings": [{"code": "emptyEmail", "message": "no e-mail", "target": "row 7"}],
        },
        blockingError={"code": "connectionFailed", "message": "the LMS did not answer"},
    )
    result = service.invoke("runs", "get", run["id"])
    assert result.exit_code == 0, result.output
    for text in (
        "sync to LMS",
        "failed",
        "recordsProcessed",
        "1200",
        "emptyEmail",
        "row 7",
        "Blocking error: connectionFailed",
        "the LMS did not answer",
        process,
    ):
        assert text in result.stdout, text

    result = service.invoke("runs", "get", run["id"], "--json")
    assert json.loads(result.stdout)["statistics"]["recordsProcessed"] == 1200


def test_a_service_error_is_one_line_with_code_and_request_id(service: Service) -> None:
    missing = str(uuid.uuid4())
    result = service.run(["runs", "get", missing])
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "itemNotFound" in lines[0]
    assert "request-id" in lines[0]
    assert "Traceback" not in result.stderr


def test_a_bad_token_is_reported_without_a_traceback(service: Service) -> None:
    result = service.run(["runs", "list"], env={"FLOWRUNS_TOKEN": "not-a-token"})
    assert result.returncode == 1
    assert "InvalidAuthenticationToken" in result.stderr
    assert "Traceback" not in result.stderr


def test_processes_create_list_get_delete(service: Service) -> None:
    name = f"Nightly roster export {uuid.uuid4()}"
    created = service.invoke(
        "processes", "create", name, "--type", "dataShareOutgoingFlow", "--share-name", "roster"
    )
    assert created.exit_code == 0, created.output
    process_id = created.stdout.strip()

    listed = service.invoke("processes", "list", "--search", name, "--json")
    assert [p["id"] for p in json.loads(listed.stdout)] == [process_id]
    shown = service.invoke("processes", "get", process_id)
    assert shown.exit_code == 0, shown.output
    assert name in shown.stdout
    assert "dataShareOutgoingFlow" in shown.stdout
    assert "roster" in shown.stdout

    service.run_of(process_id, displayName="still going")
    refused = service.invoke("processes", "delete", process_id)
    assert refused.exit_code == 1
    assert "conflict" in refused.stderr
    deleted = service.invoke("processes", "delete", process_id, "--cascade-running")
    assert deleted.exit_code == 0, deleted.output
    gone = service.invoke("processes", "get", process_id)
    assert gone.exit_code == 1
    assert "itemNotFound" in gone.stderr


def test_watch_once_shows_the_running_runs(service: Service) -> None:
    process = service.process(f"watch {uuid.uuid4()}")
    service.run_of(process, displayName="still exporting")
    service.run_of(process, displayName="done already", status="completed")
    result = service.invoke("runs", "watch", "--process", process, "--once")
    assert result.exit_code == 0, result.output
    assert "1 running run" in result.stdout
    assert "still exporting" in result.stdout
    assert "done already" not in result.stdout


def test_watch_for_a_bounded_duration_ends_by_itself(service: Service) -> None:
    result = service.run(["runs", "watch", "--duration", "1", "--interval", "0.5"])
    assert result.returncode == 0, result.stderr
    assert "running run" in result.stdout
