"""``flowruns runs list|get|watch``: reading runs from a terminal."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.console import Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.text import Text

from flowruns.cli import lookup, render
from flowruns.cli.remote import (
    PAGE_SIZE,
    Token,
    Top,
    Url,
    client,
    describe,
    err,
    fail,
    limit_of,
    out,
)
from flowruns.client import (
    Client,
    F,
    Filter,
    GraphAPIError,
    Removed,
    RetryPolicy,
    Run,
    RunStatus,
    ServerError,
    ServiceUnreachableError,
)
from flowruns.client.filters import literal

app = typer.Typer(help="Read runs: list, show one, watch the running ones.", no_args_is_help=True)

_STATUSES = [s.value for s in RunStatus if s is not RunStatus.UNKNOWN_FUTURE_VALUE]
_TYPES = ("outgoingFlowRun", "incomingFlowRun", "runGroup")
_AGO = re.compile(r"(?P<amount>\d+)(?P<unit>[smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
# Runs shown by `list` and `watch` unless --limit says otherwise.
LIST_LIMIT = 50
WATCH_LIMIT = 30
# The datasets `get` shows in each direction.
DATASETS_SHOWN = 50

Status = Annotated[
    list[str] | None,
    typer.Option(
        "--status", "-s", help=f"Only runs with this status (repeatable): {', '.join(_STATUSES)}."
    ),
]
RunType = Annotated[str | None, typer.Option("--type", help=f"Only {', '.join(_TYPES)}.")]
ProcessName = Annotated[
    str | None,
    typer.Option(
        "--process", help="Only runs of this process: its name, its id or the start of its id."
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def parse_time(text: str, option: str) -> datetime:
    """An ISO 8601 date or date-time (UTC unless it says otherwise) or a time ago: 30m, 2h, 7d."""
    ago = _AGO.fullmatch(text.strip().lower())
    if ago is not None:
        seconds = int(ago["amount"]) * _UNITS[ago["unit"]]
        return datetime.now(UTC) - timedelta(seconds=seconds)
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(
            "give an ISO 8601 date or date-time (2026-11-27, 2026-11-27T08:00Z) or a time ago "
            "(30m, 2h, 7d, 2w)",
            param_hint=option,
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _accessed(navigation: str, name: str) -> Filter:
    """Runs with a dataset of this name among their ``inputs`` or ``outputs``."""
    return Filter(f"{navigation}/any(d: d/name eq {literal(name)})")


def run_filter(
    status: list[str] | None,
    process: str | None,
    since: str | None,
    until: str | None,
    inputs: list[str] | None = None,
    outputs: list[str] | None = None,
) -> Filter | None:
    """The ``$filter`` the options ask for, built without splicing text; ``process`` is the
    process's id."""
    parts: list[Filter] = []
    if status:
        unknown = sorted(set(status) - set(_STATUSES))
        if unknown:
            raise typer.BadParameter(
                f"unknown status {', '.join(unknown)}; use {', '.join(_STATUSES)}",
                param_hint="--status",
            )
        parts.append(F.status == status[0] if len(status) == 1 else F.status.in_(status))
    if process:
        parts.append(F.process.id == process)
    if since:
        parts.append(F.startDateTime >= parse_time(since, "--since"))
    if until:
        parts.append(F.startDateTime < parse_time(until, "--until"))
    parts += [_accessed("inputs", name) for name in inputs or []]
    parts += [_accessed("outputs", name) for name in outputs or []]
    if not parts:
        return None
    combined = parts[0]
    for part in parts[1:]:
        combined = combined & part
    return combined


def _check_type(run_type: str | None) -> None:
    if run_type is not None and run_type not in _TYPES:
        raise typer.BadParameter(f"use one of {', '.join(_TYPES)}", param_hint="--type")


@app.command("list")
def list_runs(
    status: Status = None,
    run_type: RunType = None,
    process: ProcessName = None,
    since: Annotated[
        str | None, typer.Option(help="Started at or after: 2026-11-27, 2026-11-27T08:00Z, 2h, 7d.")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Started before (same forms).")] = None,
    search: Annotated[str | None, typer.Option(help="Only runs whose name contains this.")] = None,
    inputs: Annotated[
        list[str] | None,
        typer.Option(
            "--input", metavar="DATASET", help="Only runs that read this dataset (repeatable)."
        ),
    ] = None,
    outputs: Annotated[
        list[str] | None,
        typer.Option(
            "--output", metavar="DATASET", help="Only runs that wrote this dataset (repeatable)."
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(min=1, help="Show at most this many runs.  [default: 50]", show_default=False),
    ] = None,
    top: Top = None,
    page_size: Annotated[
        int, typer.Option(min=1, max=999, help="Runs fetched per request.")
    ] = PAGE_SIZE,
    as_json: Json = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """List runs, newest first (following pages up to --limit)."""
    _check_type(run_type)
    most = limit_of(limit, top, LIST_LIMIT)
    with client(url, token) as service:
        process_id = lookup.process_id(service, process) if process else None
        query = run_filter(status, process_id, since, until, inputs, outputs)
        with _fetching(most) as advance:
            runs = []
            found = service.runs.list(
                filter=query, top=min(most, page_size), search=search, type=run_type, limit=most
            )
            for run in found:
                runs.append(run)
                advance()
    if as_json:
        typer.echo(render.dumps([render.as_json(r) for r in runs]))
        return
    if not runs:
        err().print("No runs match.")
        return
    console = out()
    console.print(render.runs_table(runs, width=console.width))


@contextmanager
def _fetching(top: int) -> Iterator[Callable[[], None]]:
    """A progress bar on standard error while pages arrive; shown only on a terminal and
    erased when done, so piped and ``--json`` output stay clean."""
    columns = (SpinnerColumn(), TextColumn("Fetching runs"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=err(), transient=True) as progress:
        task = progress.add_task("runs", total=top)
        yield lambda: progress.advance(task)


@app.command("get")
def get_run(
    run_id: Annotated[str, typer.Argument(metavar="ID", help="The run's id, or the start of it.")],
    as_json: Json = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Show one run: every property, its statistics, the error that stopped it and the datasets
    it read and wrote."""
    with client(url, token) as service:
        run = service.runs.get(lookup.run_id(service, run_id), expand="process")
        if as_json:
            typer.echo(render.dumps(render.as_json(run)))
            return
        inputs = list(service.runs.inputs(run.id or "", limit=DATASETS_SHOWN))
        outputs = list(service.runs.outputs(run.id or "", limit=DATASETS_SHOWN))
    console = out()
    console.print(render.run_details(run))
    for title, accesses in (("Inputs", inputs), ("Outputs", outputs)):
        if accesses:
            table = render.datasets_of_run_table(accesses, width=console.width, title=title)
            console.print(table)


@dataclass
class RunningRuns:
    """The running runs, kept by delta query: the first refresh reads them all, every later
    one only what changed since (``@odata.deltaLink``), so a quiet service costs an empty
    page per refresh."""

    service: Client
    query: Filter
    run_type: str | None
    runs: dict[str, Run] = field(default_factory=dict)
    delta_link: str | None = None

    def refresh(self) -> None:
        """Apply what changed; :class:`ServiceUnreachableError` or :class:`ServerError` when
        it cannot be read (the next refresh asks again from the same place)."""
        if self.delta_link is None:
            delta = self.service.runs.delta(filter=self.query, type=self.run_type)
        else:
            delta = self.service.runs.delta(delta_link=self.delta_link)
        try:
            for item in delta:
                if isinstance(item, Removed):
                    self.runs.pop(item.id, None)
                elif item.id is not None:
                    self.runs[item.id] = item
        except GraphAPIError as error:
            if error.code != "syncStateNotFound":
                raise
            # Too long since the last refresh: start over from the current state.
            self.runs.clear()
            self.delta_link = None
            self.refresh()
            return
        self.delta_link = delta.delta_link

    def newest(self, limit: int) -> list[Run]:
        """The ``limit`` running runs that started last, newest first."""
        started = sorted(self.runs.values(), key=lambda r: (r.start_date_time or _EPOCH, r.id))
        return started[::-1][:limit]


_EPOCH = datetime.fromtimestamp(0, UTC)


def _watch_view(running: RunningRuns, limit: int) -> Group:
    """The running runs now; :class:`ServiceUnreachableError` or :class:`ServerError` when
    they cannot be read."""
    stamp = datetime.now(UTC).strftime("%H:%M:%S")
    running.refresh()
    shown = running.newest(limit)
    total = len(running.runs)
    title = f"{total} running run{'' if total == 1 else 's'} at {stamp} UTC"
    if total > len(shown):
        title += f" (newest {len(shown)} shown)"
    if not shown:
        return Group(Text(title, style="bold"))
    return Group(render.runs_table(shown, width=out().width, title=title))


def _retrying_view(running: RunningRuns, limit: int, interval: float) -> Group:
    """The running runs now, or a line saying why they cannot be read and when the watch
    tries again."""
    try:
        return _watch_view(running, limit)
    except (ServiceUnreachableError, ServerError) as error:
        now = datetime.now(UTC)
        again = (now + timedelta(seconds=interval)).strftime("%H:%M:%S")
        return Group(
            Text(
                f"{now:%H:%M:%S} UTC — {describe(error)}; trying again in {interval:g} s "
                f"(at {again} UTC)",
                style="red",
            )
        )


@app.command("watch")
def watch_runs(
    run_type: RunType = None,
    process: ProcessName = None,
    interval: Annotated[float, typer.Option(min=0.2, help="Seconds between refreshes.")] = 2.0,
    limit: Annotated[
        int | None,
        typer.Option(
            min=1, max=999, help="Show at most this many runs.  [default: 30]", show_default=False
        ),
    ] = None,
    top: Top = None,
    once: Annotated[
        bool,
        typer.Option(
            "--once", help="Print the view once and exit (status 1 when the service is down)."
        ),
    ] = False,
    duration: Annotated[
        float | None, typer.Option(min=0, help="Stop after this many seconds.")
    ] = None,
    url: Url = None,
    token: Token = None,
) -> None:
    """A live view of the running runs, refreshed every --interval seconds; Ctrl-C stops it.

    Each refresh follows a delta query's deltaLink: it reads only the runs that changed since
    the last one."""
    _check_type(run_type)
    most = limit_of(limit, top, WATCH_LIMIT)
    # A live view tries again every --interval by itself; --once may retry a moment's outage.
    retry = None if once else RetryPolicy(attempts=1)
    with client(url, token, retry=retry) as service:
        process_id = lookup.process_id(service, process) if process else None
        query = run_filter(["running"], process_id, None, None)
        assert query is not None
        running = RunningRuns(service, query, run_type)
        if once:
            try:
                view = _watch_view(running, most)
            except (ServiceUnreachableError, ServerError) as error:
                raise fail(describe(error)) from None
            out().print(view)
            return
        deadline = None if duration is None else time.monotonic() + duration
        try:
            first = _retrying_view(running, most, interval)
            with Live(first, console=out()) as live:
                while deadline is None or time.monotonic() < deadline:
                    pause = interval
                    if deadline is not None:
                        pause = max(0.0, min(pause, deadline - time.monotonic()))
                    time.sleep(pause)
                    live.update(_retrying_view(running, most, interval))
        except KeyboardInterrupt:
            pass
