"""How runs and processes look in a terminal: status colours, durations, tables and JSON."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from flowruns.client import Entity, Process, Run, RunStatus
from flowruns.client.codec import encode

STATUS_STYLES = {
    RunStatus.RUNNING: "bold cyan",
    RunStatus.COMPLETED: "green",
    RunStatus.COMPLETED_WITH_WARNINGS: "yellow",
    RunStatus.COMPLETED_WITH_ERRORS: "dark_orange",
    RunStatus.FAILED: "bold red",
}


def status(value: RunStatus | None) -> Text:
    name = value.value if value is not None else "?"
    return Text(name, style=STATUS_STYLES.get(value, "") if value is not None else "")


def duration(run: Run, now: datetime | None = None) -> str:
    """``1h 02m``, ``3m 05s``, ``12.4s``: from start to end, or to now while running."""
    if run.start_date_time is None:
        return ""
    end = run.end_date_time or now or datetime.now(UTC)
    seconds = max(0.0, (end - run.start_date_time).total_seconds())
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s"


def when(value: datetime | None) -> str:
    """A UTC time to the second, as people read it."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def type_name(entity: Entity) -> str:
    return type(entity).odata_type.rsplit(".", 1)[-1]


# Run types in a table column: the kind is enough there (``get`` and ``--json`` say it in full).
_SHORT_TYPES = {"outgoingFlowRun": "outgoing", "incomingFlowRun": "incoming", "runGroup": "group"}


def runs_table(runs: Iterable[Run], title: str | None = None) -> Table:
    """One line per run; only the name wraps. Below about 110 columns the id is cut short: use
    a wider terminal or ``--json`` to copy ids."""
    now = datetime.now(UTC)
    rows = [
        (
            when(run.start_date_time)[:16],
            status(run.status),
            duration(run, now),
            run.display_name or "",
            _SHORT_TYPES.get(type_name(run), type_name(run)),
            run.id or "",
        )
        for run in runs
    ]
    table = Table(
        title=title,
        title_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    headers = ("Started (UTC)", "Status", "Duration", "Name", "Type", "Id")
    for i, name in enumerate(headers):
        if name == "Name":
            table.add_column(name, min_width=16, ratio=1)
        else:
            widest = max([len(name), *(len(str(row[i])) for row in rows)])
            table.add_column(name, no_wrap=True, min_width=widest)
    for row in rows:
        table.add_row(*row)
    return table


def processes_table(processes: Iterable[Process]) -> Table:
    table = Table(header_style="bold", box=box.SIMPLE_HEAD)
    for name in ("Name", "Type", "Readiness", "Id"):
        table.add_column(name, no_wrap=name != "Name")
    for process in processes:
        readiness = process.readiness_status.value if process.readiness_status else ""
        table.add_row(process.display_name or "", type_name(process), readiness, process.id or "")
    return table


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _problems(title: str, entries: Any) -> Table | None:
    """The ``warnings`` or ``errors`` statistics member as a table, when it is a list."""
    if not isinstance(entries, list) or not entries:
        return None
    table = Table(title=title, title_justify="left", header_style="bold")
    for name in ("Code", "Message", "Target"):
        table.add_column(name)
    for entry in entries:
        item = entry if isinstance(entry, dict) else {"message": entry}
        table.add_row(*(_value(item.get(k) or "") for k in ("code", "message", "target")))
    return table


def run_details(run: Run) -> Group:
    """Every property of a run, its statistics and the error that stopped it."""
    props = Table.grid(padding=(0, 2))
    props.add_column(style="bold")
    props.add_column()
    process = run.process
    rows: list[tuple[str, str | Text]] = [
        ("Name", run.display_name or ""),
        ("Id", run.id or ""),
        ("Type", type_name(run)),
        ("Status", status(run.status)),
        ("Started (UTC)", when(run.start_date_time)),
        ("Ended (UTC)", when(run.end_date_time) or "—"),
        ("Duration", duration(run)),
        ("Process", f"{process.display_name} ({process.id})" if process else "—"),
        ("ETag", run.etag or ""),
    ]
    for name, value in rows:
        props.add_row(name, value)
    parts: list[RenderableType] = [props]
    statistics = dict(run.statistics or {})
    problems = [
        _problems(t, statistics.pop(k, None))
        for t, k in (("Warnings", "warnings"), ("Errors", "errors"))
    ]
    if statistics:
        table = Table(title="Statistics", title_justify="left", header_style="bold")
        table.add_column("Member")
        table.add_column("Value", justify="right")
        for name, value in statistics.items():
            table.add_row(name, _value(value))
        parts.append(table)
    parts.extend(p for p in problems if p is not None)
    error = run.blocking_error
    if error is not None:
        body = Text(error.message or "")
        if error.target:
            body.append(f"\ntarget: {error.target}", style="dim")
        parts.append(
            Panel(
                body, title=f"Blocking error: {error.code}", border_style="red", title_align="left"
            )
        )
    return Group(*parts)


def as_json(entity: Entity) -> dict[str, Any]:
    """The entity as the service sends it: JSON names, ``@odata.type`` and the ETag first."""
    head = {"@odata.type": type(entity).odata_type}
    if entity.etag is not None:
        head["@odata.etag"] = entity.etag
    return {**head, **encode(entity)}


def dumps(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def process_details(process: Process) -> Table:
    """Every property of a process."""
    props = Table.grid(padding=(0, 2))
    props.add_column(style="bold")
    props.add_column()
    props.add_row("Name", process.display_name or "")
    props.add_row("Id", process.id or "")
    props.add_row("Type", type_name(process))
    props.add_row("Readiness", process.readiness_status.value if process.readiness_status else "")
    for name, value in encode(process).items():
        if name not in ("id", "displayName", "readinessStatus", "eTag"):
            props.add_row(name, _value(value))
    props.add_row("ETag", process.e_tag or "")
    return props
