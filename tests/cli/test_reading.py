"""``flowruns runs`` and ``flowruns processes`` against a real server."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid

import pytest

from flowruns.cli.runs import RunningRuns, run_filter
from flowruns.client import Client
from tests.cli.conftest import HUB, Service, free_url
from tests.client.recording import RecordingTransport


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


def test_runs_list_follows_pages_up_to_the_limit(service: Service) -> None:
    process = service.process(f"pages {uuid.uuid4()}")
    for day in range(1, 8):
        service.run_of(
            process,
            displayName=f"day {day}",
            status="completed",
            startDateTime=f"2026-02-0{day}T00:00:00Z",
        )
    args = ("runs", "list", "--process", process, "--json")
    result = service.invoke(*args, "--limit", "5", "--page-size", "2")
    assert result.exit_code == 0, result.output
    newest = ["day 7", "day 6", "day 5", "day 4", "day 3"]
    assert [r["displayName"] for r in json.loads(result.stdout)] == newest
    assert "deprecated" not in result.stderr
    # --top is the old name of --limit, kept working, and says so.
    old = service.run([*args, "--top", "5", "--page-size", "2"])
    assert old.returncode == 0, old.stderr
    assert [r["displayName"] for r in json.loads(old.stdout)] == newest
    assert "--top is deprecated" in old.stderr
    assert "use --limit" in old.stderr
    both = service.run([*args, "--top", "5", "--limit", "5"])
    assert both.returncode == 2
    assert "--limit only" in both.stderr


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


def _shown_ids(output: str, ids: list[str]) -> dict[str, str]:
    """Each id of ``ids`` as the table shows it: the first word of the output it starts with."""
    words = output.split()
    return {i: next(w for w in words if len(w) >= 8 and i.startswith(w)) for i in ids}


@pytest.mark.parametrize("columns", [80, 120])
def test_runs_list_fits_the_terminal_and_never_cuts_an_id(service: Service, columns: int) -> None:
    process = service.process(f"Nightly roster export {uuid.uuid4()}")
    names = [f"Nightly roster export 2026-11-2{day}" for day in range(3)]
    runs = [
        service.run_of(
            process,
            displayName=name,
            status="completedWithWarnings",
            startDateTime=f"2026-11-2{day}T01:00:00Z",
            endDateTime=f"2026-11-2{day}T01:04:00Z",
        )
        for day, name in enumerate(names)
    ]
    result = service.run(["runs", "list", "--process", process], env={"COLUMNS": str(columns)})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= columns, result.stdout
    header = next(line for line in lines if line.strip())
    assert "Name" in header, result.stdout
    assert "…" not in result.stdout
    assert "completedWithWarnings" in result.stdout
    shown = _shown_ids(result.stdout, [run["id"] for run in runs])
    if columns == 120:
        # Names stay on one line; ids give way to their unique prefix first.
        assert all(any(name in line for line in lines) for name in names), result.stdout
    # What the table shows is what a user pastes.
    for full, prefix in shown.items():
        pasted = service.run(["runs", "get", prefix])
        assert pasted.returncode == 0, pasted.stderr
        assert full in pasted.stdout


def test_a_wide_terminal_shows_whole_ids(service: Service) -> None:
    process = service.process(f"wide {uuid.uuid4()}")
    run = service.run_of(process, displayName="weekly export")
    result = service.run(["runs", "list", "--process", process], env={"COLUMNS": "200"})
    assert run["id"] in result.stdout


def test_an_id_prefix_names_one_run_or_says_which_it_could_be(service: Service) -> None:
    process = service.process(f"prefixes {uuid.uuid4()}")
    # Seventeen ids: two of them start with the same hexadecimal digit.
    ids = [service.run_of(process, displayName=f"run {i}")["id"] for i in range(17)]
    first: dict[str, list[str]] = {}
    for run_id in ids:
        first.setdefault(run_id[0], []).append(run_id)
    shared = next(group for group in first.values() if len(group) > 1)
    ambiguous = service.run(["runs", "get", shared[0][0]])
    assert ambiguous.returncode == 1
    assert f"more than one run has an id starting with '{shared[0][0]}'" in ambiguous.stderr
    assert ambiguous.stderr.count(f" {shared[0][0]}") >= 2  # the candidates, listed
    assert "give more of the id" in ambiguous.stderr
    unique = service.run(["runs", "get", ids[0][:13], "--json"])
    assert unique.returncode == 0, unique.stderr
    assert json.loads(unique.stdout)["id"] == ids[0]
    unknown = service.run(["runs", "get", "zzzz"])
    assert unknown.returncode == 1
    assert "no run has an id starting with 'zzzz'" in unknown.stderr


def test_a_process_is_named_by_its_name_or_an_id_prefix(service: Service) -> None:
    name = f"Nightly roster export {uuid.uuid4()}"
    process = service.process(name)
    service.run_of(process, displayName="by name")
    by_name = service.run(["runs", "list", "--process", name, "--json"])
    assert by_name.returncode == 0, by_name.stderr
    assert [r["displayName"] for r in json.loads(by_name.stdout)] == ["by name"]
    shown = service.run(["processes", "get", process[:13]])
    assert shown.returncode == 0, shown.stderr
    assert name in shown.stdout
    twin = service.process(name)
    ambiguous = service.run(["processes", "get", name])
    assert ambiguous.returncode == 1
    assert f"more than one process is named '{name}'" in ambiguous.stderr
    assert process in ambiguous.stderr
    assert twin in ambiguous.stderr
    unknown = service.run(["runs", "watch", "--once", "--process", "No such flow"])
    assert unknown.returncode == 1
    assert "no process is named 'No such flow'" in unknown.stderr


@pytest.mark.parametrize("columns", [80, 120])
def test_processes_list_fits_the_terminal_and_never_cuts_an_id(
    service: Service, columns: int
) -> None:
    name = f"Enrollment sync to the learning management system {uuid.uuid4()}"
    process = service.process(name)
    result = service.run(["processes", "list", "--search", name], env={"COLUMNS": str(columns)})
    assert result.returncode == 0, result.stderr
    assert max(len(line) for line in result.stdout.splitlines()) <= columns, result.stdout
    assert "…" not in result.stdout
    prefix = _shown_ids(result.stdout, [process])[process]
    assert service.run(["processes", "get", prefix]).returncode == 0


def test_watch_once_fails_when_the_service_is_down() -> None:
    env = {**os.environ, "FLOWRUNS_URL": free_url(), "FLOWRUNS_TOKEN": "unused"}
    result = subprocess.run(
        [sys.executable, "-m", "flowruns", "runs", "watch", "--once"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "cannot reach the service" in result.stderr
    assert "trying again" not in result.stdout + result.stderr


def test_a_watch_that_retries_says_when() -> None:
    env = {**os.environ, "FLOWRUNS_URL": free_url(), "FLOWRUNS_TOKEN": "unused", "COLUMNS": "200"}
    result = subprocess.run(
        [sys.executable, "-m", "flowruns", "runs", "watch", "--duration", "1", "--interval", "0.5"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    said = " ".join(result.stdout.split())  # as read, wherever the terminal wrapped it
    assert re.search(
        r"cannot reach the service.*; trying again in 0\.5 s \(at \d\d:\d\d:\d\d UTC\)", said
    ), result.stdout


def test_errors_point_at_the_fix(service: Service) -> None:
    no_token = service.run(["runs", "list"], env={"FLOWRUNS_TOKEN": ""})
    assert no_token.returncode == 1
    said = " ".join(no_token.stderr.split())
    assert "Access token is empty" in said
    assert "FLOWRUNS_TOKEN" in said
    assert "`flowruns token` mints one" in said
    root = service.url.removesuffix("/beta")
    no_beta = service.run(["runs", "list"], env={"FLOWRUNS_URL": root})
    assert no_beta.returncode == 1
    said = " ".join(no_beta.stderr.split())
    assert f"The OData service root ends in /beta: {root}/beta" in said


def test_watch_refreshes_follow_delta_links(service: Service) -> None:
    """After its first refresh a watch asks only for what changed: the deltaLink's page."""
    process = service.process(f"watch {uuid.uuid4()}")
    first = service.run_of(process, displayName="first")
    transport = RecordingTransport()
    with Client(service.url, service.token, transport=transport) as sdk:
        query = run_filter(["running"], process, None, None)
        assert query is not None
        running = RunningRuns(sdk, query, None)
        running.refresh()
        assert [r.display_name for r in running.newest(10)] == ["first"]
        second = service.run_of(process, displayName="second")
        finished = service.http.patch(f"{HUB}/runs/{first['id']}", json={"status": "completed"})
        assert finished.status_code == 200
        transport.exchanges.clear()
        running.refresh()
        assert [r.id for r in running.newest(10)] == [second["id"]]
        (request, status), *more = transport.exchanges
        assert not more
        assert status == 200
        assert "/runs/delta()" in request.url.path
        assert "$deltatoken" in str(request.url)
