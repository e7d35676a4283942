"""``flowruns exec --process ID -- COMMAND …``: record a run around any command.

The run opens before the command starts and closes when it ends: exit status 0 closes it by the
statistics conventions (``completed``, ``completedWithWarnings``, ``completedWithErrors``), any
other status or a signal closes it ``failed`` with a blocking error that quotes the last lines of
the command's standard error. The command reports statistics by writing a JSON object to the file
named in ``FLOWRUNS_STATS_FILE``. Recording never gets in the command's way: when the service is
unreachable the command runs all the same and flowruns says on stderr what it could not record.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from flowruns.cli import child, lookup
from flowruns.cli.remote import Token, Url, dashboard_link, describe, err
from flowruns.client import Client, FlowrunsClientError, RecorderOptions, RunRecorder
from flowruns.client.retrying import NO_RETRY
from flowruns.client.statistics import Statistics

STATS_FILE_ENV = "FLOWRUNS_STATS_FILE"
STDERR_LINES = 10
NAME_LIMIT = 256
# Exit statuses a shell gives a command it cannot run.
NOT_FOUND_STATUS, NOT_EXECUTABLE_STATUS = 127, 126
# Nothing ran: --process names no process, or several (as for any invalid option).
NO_PROCESS_STATUS = 2


class CommandFailed(Exception):
    """Raised inside the recorder when the command failed, so that the run closes ``failed``;
    ``status`` is the exit status flowruns passes on.

    The recorder names the blocking error after the exception's type, so each failure is raised
    as a subclass named after its code (see :func:`_failure`)."""

    status: int


def _failure(code: str, message: str, status: int) -> CommandFailed:
    failure: CommandFailed = type(code, (CommandFailed,), {})(message)
    failure.status = status
    return failure


class StatsFile:
    """The statistics file of the command: read whenever it changed, merged into the run's."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: tuple[int, int] | None = None
        self.problem: str | None = None

    def merge_into(self, stats: Statistics, *, final: bool = False) -> None:
        """Merge the file's object into ``stats`` if it changed since the last read: members
        present replace, ``null`` removes. A half-written file is read again next time."""
        try:
            status = self.path.stat()
            version = (status.st_mtime_ns, status.st_size)
            if version == self._seen and not final:
                return
            data: Any = json.loads(self.path.read_bytes() or b"null")
        except FileNotFoundError:
            return
        except (OSError, ValueError) as error:
            self.problem = f"{self.path} could not be read as JSON ({error})"
            return
        if not isinstance(data, dict):
            self.problem = f"{self.path} does not hold a JSON object"
            return
        self._seen, self.problem = version, None
        for name, value in data.items():
            if value is None:
                if name in stats:
                    del stats[name]
            elif name not in stats or stats[name] != value:
                stats[name] = value


def _failure_of(ended: child.Ended) -> CommandFailed:
    lines = ended.last_lines(STDERR_LINES)
    if ended.signal is not None:
        code = f"signal{ended.signal.name}"
        summary = (
            f"The command was stopped by {ended.signal.name} (exit status {ended.exit_status})."
        )
    else:
        code = f"exitCode{ended.exit_status}"
        summary = f"The command exited with status {ended.exit_status}."
    if lines:
        summary += " Last lines of its standard error:\n" + "\n".join(lines)
    return _failure(code, summary, ended.exit_status)


def exec_command(
    command: Annotated[
        list[str], typer.Argument(metavar="COMMAND…", help="The command and its arguments.")
    ],
    process: Annotated[
        str,
        typer.Option(
            "--process",
            help="The process the run belongs to: its name, its id or the start of its id.",
        ),
    ],
    name: Annotated[
        str | None, typer.Option("--name", help="The run's display name (default: the command).")
    ] = None,
    inputs: Annotated[
        list[str] | None,
        typer.Option(
            "--input", metavar="DATASET", help="A dataset the command reads (repeatable)."
        ),
    ] = None,
    outputs: Annotated[
        list[str] | None,
        typer.Option(
            "--output", metavar="DATASET", help="A dataset the command writes (repeatable)."
        ),
    ] = None,
    send_timeout: Annotated[
        float,
        typer.Option(
            min=0,
            help="Seconds to keep trying to record the end of the run when the service is "
            "slow or unreachable.",
        ),
    ] = 15.0,
    run_anyway: Annotated[
        bool,
        typer.Option(
            "--run-anyway",
            help="Run the command, unrecorded, even when --process names no process or several.",
        ),
    ] = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Run COMMAND and record a run of --process around it; exit with the command's status.

    Write statistics as a JSON object to the file named in $FLOWRUNS_STATS_FILE (replace the file
    whole, e.g. write a temporary file and rename it); they are sent while the command runs and
    at its end. A non-zero exit or a signal fails the run, quoting the end of standard error.
    --input and --output name the datasets (in the flowruns namespace) the command reads and
    writes, recorded with the run.
    """
    display_name = (name or shlex.join(command))[:NAME_LIMIT]
    workdir = Path(tempfile.mkdtemp(prefix="flowruns-exec-"))
    stats_file = StatsFile(workdir / "statistics.json")
    env = {**os.environ, STATS_FILE_ENV: str(stats_file.path)}
    options = RecorderOptions(final_timeout=send_timeout)
    status = 0
    try:
        with Client(url=url, token=token) as service:
            process_id = _process_of(
                Client(url=url, token=token, retry=NO_RETRY, timeout=options.start_timeout),
                process,
                run_anyway=run_anyway,
            )
            recording = None
            if process_id is not None:
                recording = service.record_run(
                    process_id,
                    display_name=display_name,
                    inputs=inputs or (),
                    outputs=outputs or (),
                    options=options,
                )
            try:
                if recording is None:
                    _run(command, env, stats_file, Statistics())
                else:
                    with recording as run:
                        _run(command, env, stats_file, run.stats)
            except CommandFailed as failure:
                status = failure.status  # the failure itself is the run's blocking error
            except KeyboardInterrupt:
                # Ctrl-C before the command started (while the run was being opened).
                status = 128 + signal.SIGINT
            if recording is not None:
                _tell(service, recording)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    raise typer.Exit(status)


def _process_of(looking: Client, process: str, *, run_anyway: bool) -> str | None:
    """The id of the process ``--process`` names, asked once before the command starts (within
    the time the recorder waits for the service at the start); None when the command is to run
    unrecorded. The command runs all the same when the service cannot say (unreachable,
    refusing the token): recording never stands in a job's way."""
    try:
        with looking:
            return lookup.process_id(looking, process, check=True)
    except lookup.NotOne as error:
        if not run_anyway:
            err().print(
                f"flowruns: {error}; the command was not run (--run-anyway runs it unrecorded)",
                style="red",
                markup=False,
            )
            raise typer.Exit(NO_PROCESS_STATUS) from None
        problem = str(error)
    except FlowrunsClientError as error:
        if lookup.is_whole_id(process):
            return process  # the recorder tries, and says what it could not record
        problem = f"the process '{process}' could not be looked up ({describe(error)})"
    err().print(f"flowruns: {problem}; the command runs unrecorded", style="red", markup=False)
    return None


def _tell(service: Client, recorder: RunRecorder) -> None:
    """Say on stderr which run was recorded, and where the dashboard shows it."""
    if recorder.id is None:
        return  # never created: the recorder has said why
    closed = f" as {recorder.status.value}" if recorder.status is not None else ""
    link = dashboard_link(service.url, f"runs/{recorder.id}")
    where = f": {link}" if link else ""
    err().print(f"flowruns: recorded run {recorder.id}{closed}{where}", markup=False)


def _run(command: list[str], env: dict[str, str], stats_file: StatsFile, stats: Statistics) -> None:
    """Run the command to its end; :class:`CommandFailed` unless it exited 0."""
    try:
        ended = child.run(command, env, on_tick=lambda: stats_file.merge_into(stats))
    except FileNotFoundError:
        typer.echo(f"flowruns: {command[0]}: command not found", err=True)
        raise _failure(
            "commandNotFound", f"{command[0]}: command not found", NOT_FOUND_STATUS
        ) from None
    except PermissionError:
        typer.echo(f"flowruns: {command[0]}: permission denied", err=True)
        raise _failure(
            "commandNotExecutable", f"{command[0]}: permission denied", NOT_EXECUTABLE_STATUS
        ) from None
    stats_file.merge_into(stats, final=True)
    if stats_file.problem:
        typer.echo(f"flowruns: statistics not recorded: {stats_file.problem}", err=True)
    if ended.returncode != 0:
        raise _failure_of(ended)
