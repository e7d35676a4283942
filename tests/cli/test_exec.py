"""``flowruns exec``: a run recorded around a real command, however the command ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from tests.cli.conftest import Service, free_url

PYTHON = sys.executable


def _exec(
    service: Service, process: str, *command: str, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    return service.run(["exec", "--process", process, "--name", "job", "--", *command], **kwargs)


def _only_run(service: Service, process: str) -> dict[str, Any]:
    runs = service.runs_of(process)
    assert len(runs) == 1, runs
    return runs[0]


def test_a_succeeding_command_completes_its_run(service: Service) -> None:
    process = service.process(f"ok {uuid.uuid4()}")
    result = _exec(
        service,
        process,
        PYTHON,
        "-c",
        "print('exported'); import sys; print('note', file=sys.stderr)",
    )
    assert result.returncode == 0, result.stderr
    assert "exported" in result.stdout
    assert "note" in result.stderr  # the command's stderr still reaches the terminal
    run = _only_run(service, process)
    assert run["status"] == "completed"
    assert run["displayName"] == "job"
    assert run["endDateTime"] is not None


def test_a_failing_command_fails_its_run_with_the_end_of_stderr(service: Service) -> None:
    process = service.process(f"fail {uuid.uuid4()}")
    script = "import sys\nfor i in range(30): print(f'line {i}', file=sys.stderr)\nsys.exit(3)"
    result = _exec(service, process, PYTHON, "-c", script)
    assert result.returncode == 3
    assert "line 0" in result.stderr
    assert "line 29" in result.stderr
    run = _only_run(service, process)
    assert run["status"] == "failed"
    error = run["blockingError"]
    assert error["code"] == "exitCode3"
    assert "line 29" in error["message"]
    assert "line 20" in error["message"]
    assert "line 19" not in error["message"]


def test_a_signal_is_forwarded_and_the_run_fails(service: Service, tmp_path: Path) -> None:
    process = service.process(f"signal {uuid.uuid4()}")
    started = tmp_path / "started"
    script = f"import pathlib, time\npathlib.Path({str(started)!r}).touch()\ntime.sleep(60)"
    env = {**os.environ, **service.env}
    command = [PYTHON, "-m", "flowruns", "exec", "--process", process, "--", PYTHON, "-c", script]
    cli = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while not started.exists():
            assert cli.poll() is None, cli.communicate()
            assert time.monotonic() < deadline, "the command never started"
            time.sleep(0.05)
        cli.send_signal(signal.SIGTERM)
        _, stderr = cli.communicate(timeout=60)
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()
    assert cli.returncode == 128 + signal.SIGTERM, stderr
    run = _only_run(service, process)
    assert run["status"] == "failed"
    assert run["blockingError"]["code"] == "signalSIGTERM"


def test_statistics_written_by_the_command_are_recorded(service: Service) -> None:
    process = service.process(f"stats {uuid.uuid4()}")
    script = (
        "import json, os\n"
        "path = os.environ['FLOWRUNS_STATS_FILE']\n"
        "stats = {'recordsProcessed': 10, 'recordsFailed': 0, 'warningCount': 1,\n"
        "         'warnings': [{'code': 'emptyEmail', 'message': 'row 3 has no e-mail'}]}\n"
        "with open(path + '.tmp', 'w') as f: json.dump(stats, f)\n"
        "os.replace(path + '.tmp', path)\n"
    )
    result = _exec(service, process, PYTHON, "-c", script)
    assert result.returncode == 0, result.stderr
    run = _only_run(service, process)
    assert run["status"] == "completedWithWarnings"
    assert run["statistics"]["recordsProcessed"] == 10
    assert run["statistics"]["warnings"][0]["code"] == "emptyEmail"


def test_a_command_not_found_fails_its_run_with_status_127(service: Service) -> None:
    process = service.process(f"missing {uuid.uuid4()}")
    result = _exec(service, process, "no-such-command-anywhere")
    assert result.returncode == 127
    assert "command not found" in result.stderr
    assert _only_run(service, process)["blockingError"]["code"] == "commandNotFound"


def test_the_command_runs_while_the_service_is_down(tmp_path: Path) -> None:
    done = tmp_path / "done"
    env = {**os.environ, "FLOWRUNS_URL": free_url(), "FLOWRUNS_TOKEN": "unused"}
    script = f"import pathlib, sys\npathlib.Path({str(done)!r}).touch()\nsys.exit(4)"
    result = subprocess.run(
        [
            PYTHON,
            "-m",
            "flowruns",
            "exec",
            "--process",
            str(uuid.uuid4()),
            "--send-timeout",
            "1",
            "--",
            PYTHON,
            "-c",
            script,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.exists()
    assert result.returncode == 4
    assert "flowruns:" in result.stderr  # the recorder says what it could not record
    assert "Traceback" not in result.stderr


def test_a_process_is_named_by_its_name_and_exec_tells_the_run_it_recorded(
    service: Service,
) -> None:
    name = f"Nightly roster export {uuid.uuid4()}"
    process = service.process(name)
    result = service.run(["exec", "--process", name, "--", PYTHON, "-c", "print('exported')"])
    assert result.returncode == 0, result.stderr
    run = _only_run(service, process)
    assert run["status"] == "completed"
    dashboard = service.url.removesuffix("/beta")
    told = f"flowruns: recorded run {run['id']} as completed: {dashboard}/#/runs/{run['id']}"
    assert told in result.stderr
    by_prefix = _exec(service, process[:13], PYTHON, "-c", "pass")
    assert by_prefix.returncode == 0, by_prefix.stderr
    assert len(service.runs_of(process)) == 2


def test_an_unknown_or_ambiguous_process_stops_before_the_command_starts(
    service: Service, tmp_path: Path
) -> None:
    ran = tmp_path / "ran"
    touch = [PYTHON, "-c", f"import pathlib; pathlib.Path({str(ran)!r}).touch()"]
    unknown = _exec(service, "No such flow", *touch)
    assert unknown.returncode == 2
    assert "no process is named 'No such flow'" in unknown.stderr
    assert "the command was not run" in unknown.stderr
    missing = _exec(service, str(uuid.uuid4()), *touch)
    assert missing.returncode == 2
    assert "no process has the id" in missing.stderr
    name = f"twins {uuid.uuid4()}"
    twins = [service.process(name), service.process(name)]
    ambiguous = _exec(service, name, *touch)
    assert ambiguous.returncode == 2
    assert f"more than one process is named '{name}'" in ambiguous.stderr
    assert all(twin in ambiguous.stderr for twin in twins)
    assert not ran.exists()
    assert service.runs_of(twins[0]) == service.runs_of(twins[1]) == []

    flags = ["exec", "--process", "No such flow", "--run-anyway", "--"]
    anyway = service.run([*flags, *touch[:2], f"{touch[2]}; exit(5)"])
    assert anyway.returncode == 5
    assert ran.exists()
    assert "the command runs unrecorded" in anyway.stderr
    assert "recorded run" not in anyway.stderr


def test_a_process_name_while_the_service_is_down_runs_the_command_unrecorded(
    tmp_path: Path,
) -> None:
    done = tmp_path / "done"
    env = {**os.environ, "FLOWRUNS_URL": free_url(), "FLOWRUNS_TOKEN": "unused"}
    command = [PYTHON, "-m", "flowruns", "exec", "--process", "Nightly roster export", "--"]
    result = subprocess.run(
        [*command, PYTHON, "-c", f"import pathlib; pathlib.Path({str(done)!r}).touch()"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert done.exists()
    assert "could not be looked up" in result.stderr
    assert "the command runs unrecorded" in result.stderr


def test_a_path_in_the_error_is_kept_whole(service: Service) -> None:
    process = service.process(f"paths {uuid.uuid4()}")
    result = _exec(service, process, "sh", "-c", "/etc/passwd")
    assert result.returncode == 126
    message = _only_run(service, process)["blockingError"]["message"]
    assert "/etc/passwd: Permission denied" in message
    assert "***" not in message
