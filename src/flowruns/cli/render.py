"""How runs, processes, health, incidents and datasets look in a terminal: status colours,
durations, tables and JSON."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rich import box
from rich.cells import cell_len
from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from flowruns.client import Entity, Process, Run, RunStatus
from flowruns.client.codec import encode
from flowruns.client.models import (
    Dataset,
    DatasetAccess,
    FreshnessExpectation,
    FreshnessState,
    HealthState,
    Incident,
)

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

# An id shown in part is never shorter than this, the first group of a GUID: the prefix of one
# table's ids stays unique among many more entities, so what a user copies keeps working.
MIN_ID_PREFIX = 8
# The narrowest a wrapping column (a name) gets before the table stops fitting the terminal.
MIN_NAME_WIDTH = 12
# Wide enough to measure a table's width when nothing in it wraps.
_UNBOUNDED = 100_000


def id_prefix_length(ids: Iterable[str]) -> int:
    """The shortest length, at least :data:`MIN_ID_PREFIX`, at which each of ``ids`` starts
    differently from all the others: the ids shown that long are unique prefixes."""
    length = MIN_ID_PREFIX
    for left, right in itertools.pairwise(sorted(set(ids))):
        pairs = enumerate(zip(left, right, strict=False))
        shared = next((i for i, (a, b) in pairs if a != b), len(left))
        length = max(length, shared + 1)
    return length


@dataclass(frozen=True)
class _Column:
    header: str
    cells: Sequence[str | Text]
    wraps: bool = False  # only a name wraps; the other columns keep each value on one line


def _table(columns: Sequence[_Column], title: str | None) -> Table:
    table = Table(
        title=title,
        title_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    for column in columns:
        if column.wraps:
            table.add_column(column.header, min_width=MIN_NAME_WIDTH)
        else:
            widest = max(cell_len(str(cell)) for cell in [column.header, *column.cells])
            table.add_column(column.header, no_wrap=True, min_width=widest, overflow="fold")
    for row in zip(*(column.cells for column in columns), strict=True):
        table.add_row(*row)
    return table


def _fitted(layouts: Sequence[Sequence[_Column]], width: int, title: str | None) -> Table:
    """The first of ``layouts`` that fits in ``width`` columns with nothing wrapped, else the
    last one, whose names wrap."""
    measuring = Console(width=_UNBOUNDED)
    for columns in layouts:
        table = _table(columns, title)
        if measuring.measure(table).maximum <= width:
            break
    return table


def runs_table(runs: Sequence[Run], *, width: int, title: str | None = None) -> Table:
    """One line per run, fitted to ``width`` columns. Ids are never cut: they show whole when
    there is room, else as their shortest unique prefix (which every command accepts); then the
    type and the duration are left out; only then do names wrap."""
    now = datetime.now(UTC)
    ids = [run.id or "" for run in runs]
    prefix = id_prefix_length(ids)
    started = _Column("Started (UTC)", [when(run.start_date_time)[:16] for run in runs])
    state = _Column("Status", [status(run.status) for run in runs])
    took = _Column("Duration", [duration(run, now) for run in runs])
    name = _Column("Name", [run.display_name or "" for run in runs], wraps=True)
    kinds = [_SHORT_TYPES.get(type_name(run), type_name(run)) for run in runs]
    kind = _Column("Type", kinds)
    whole = _Column("Id", ids)
    short = _Column("Id", [run_id[:prefix] for run_id in ids])
    layouts = [
        (started, state, took, name, kind, whole),
        (started, state, took, name, kind, short),
        (started, state, took, name, short),
        (started, state, name, short),
    ]
    return _fitted(layouts, width, title)


def processes_table(processes: Sequence[Process], *, width: int) -> Table:
    """One line per process, fitted to ``width`` columns as :func:`runs_table` fits runs."""
    ids = [process.id or "" for process in processes]
    prefix = id_prefix_length(ids)
    name = _Column("Name", [process.display_name or "" for process in processes], wraps=True)
    kind = _Column("Type", [type_name(process) for process in processes])
    readiness = _Column(
        "Readiness",
        [p.readiness_status.value if p.readiness_status else "" for p in processes],
    )
    whole = _Column("Id", ids)
    short = _Column("Id", [process_id[:prefix] for process_id in ids])
    layouts = [
        (name, kind, readiness, whole),
        (name, kind, readiness, short),
        (name, kind, short),
        (name, short),
    ]
    return _fitted(layouts, width, None)


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


HEALTH_STYLES = {
    HealthState.HEALTHY: "green",
    HealthState.UNKNOWN: "dim",
    HealthState.SLOW: "yellow",
    HealthState.RULE_BROKEN: "dark_orange",
    HealthState.LATE: "dark_orange",
    HealthState.OVERDUE: "dark_orange",
    HealthState.FAILING: "bold red",
    HealthState.MISSED: "bold red",
    HealthState.PAUSED: "cyan",
}


def health_state(value: HealthState | None) -> Text:
    name = value.value if value is not None else "?"
    return Text(name, style=HEALTH_STYLES.get(value, "") if value is not None else "")


def utc(value: datetime | None) -> datetime | None:
    """A date-time typed at the terminal (no offset) read as UTC."""
    return None if value is None else value.replace(tzinfo=value.tzinfo or UTC)


def health_table(processes: Sequence[Process], *, width: int) -> Table:
    """One line per process with an expectation (expanded with its health), fitted to
    ``width`` as :func:`runs_table` fits runs."""
    ids = [process.id or "" for process in processes]
    prefix = id_prefix_length(ids)
    states = [p.health.state if p.health is not None else None for p in processes]
    changed = [p.health.changed_date_time if p.health is not None else None for p in processes]
    following = [
        p.health.next_expected_date_time if p.health is not None else None for p in processes
    ]
    owners = [p.expectation.owner if p.expectation is not None else None for p in processes]
    name = _Column("Name", [process.display_name or "" for process in processes], wraps=True)
    state = _Column("Health", [health_state(s) for s in states])
    since = _Column("Since (UTC)", [when(t)[:16] for t in changed])
    upcoming = _Column("Next expected (UTC)", [when(t)[:16] for t in following])
    owner = _Column("Owner", [o or "" for o in owners])
    whole = _Column("Id", ids)
    short = _Column("Id", [process_id[:prefix] for process_id in ids])
    layouts = [
        (name, state, since, upcoming, owner, whole),
        (name, state, since, upcoming, owner, short),
        (name, state, since, owner, short),
        (name, state, short),
    ]
    return _fitted(layouts, width, None)


def health_json(process: Process) -> dict[str, Any]:
    """A process's name and id with its expectation and health, as the service sends them."""
    return {
        "id": process.id,
        "displayName": process.display_name,
        "expectation": None if process.expectation is None else as_json(process.expectation),
        "health": None if process.health is None else as_json(process.health),
    }


def expectation_details(expectation: Entity, subject: str) -> Table:
    """Every member of an expectation (a process's, a dataset's freshness expectation) that is
    set, after the id of its ``subject``, whose key it shares."""
    props = Table.grid(padding=(0, 2))
    props.add_column(style="bold")
    props.add_column()
    props.add_row(subject, expectation.id or "")
    for name, value in encode(expectation).items():
        if name != "id" and value is not None:
            props.add_row(name, _value(value))
    return props


def incident_subject(incident: Incident) -> str:
    """What an incident is about, when it was read with it (``$expand``): a process's display
    name, or a dataset's name for a dataset's (stale) incident."""
    if incident.dataset is not None:
        return incident.dataset.name or ""
    if incident.process is not None:
        return incident.process.display_name or ""
    return ""


def incidents_table(
    incidents: Sequence[Incident], *, width: int, title: str | None = None
) -> Table:
    """One line per incident, fitted to ``width``; the process or dataset it is about when any
    was read with it."""
    ids = [incident.id or "" for incident in incidents]
    prefix = id_prefix_length(ids)
    kinds = [i.kind.value if i.kind is not None else "" for i in incidents]
    opened = _Column("Opened (UTC)", [when(i.opened_date_time)[:16] for i in incidents])
    resolved = _Column(
        "Resolved (UTC)", [when(i.resolved_date_time)[:16] or "open" for i in incidents]
    )
    kind = _Column("Kind", kinds)
    message = _Column("Message", [i.message or "" for i in incidents], wraps=True)
    whole = _Column("Id", ids)
    short = _Column("Id", [incident_id[:prefix] for incident_id in ids])
    subjects = [incident_subject(i) for i in incidents]
    about = (_Column("Process or dataset", subjects, wraps=True),) if any(subjects) else ()
    layouts = [
        (opened, resolved, kind, *about, message, whole),
        (opened, resolved, kind, *about, message, short),
        (opened, kind, *about, message, short),
    ]
    return _fitted(layouts, width, title)


def incident_details(incident: Incident) -> Table:
    """Every member of an incident, then what it is about when it was read with it: the
    process (its name and id) or the dataset (its namespace, name and id)."""
    props = Table.grid(padding=(0, 2))
    props.add_column(style="bold")
    props.add_column()
    for name, value in encode(incident).items():
        if name not in ("process", "dataset"):
            props.add_row(name, "" if value is None else _value(value))
    if incident.process is not None:
        props.add_row("process", f"{incident.process.display_name} ({incident.process.id})")
    if incident.dataset is not None:
        dataset = incident.dataset
        props.add_row("dataset", f"{dataset.namespace}/{dataset.name} ({dataset.id})")
    return props


def _count(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


FRESHNESS_STYLES = {
    FreshnessState.FRESH: "green",
    FreshnessState.UNKNOWN: "dim",
    FreshnessState.STALE: "bold red",
    FreshnessState.PAUSED: "cyan",
}


def freshness_state(expectation: FreshnessExpectation | None) -> Text:
    """A dataset's freshness state, or ``—`` for a dataset without a freshness expectation."""
    if expectation is None or expectation.state is None:
        return Text("—", style="dim")
    return Text(expectation.state.value, style=FRESHNESS_STYLES.get(expectation.state, ""))


def datasets_table(datasets: Sequence[Dataset], *, width: int) -> Table:
    """One line per dataset, fitted to ``width``: its name and namespace, the end of the last
    successful run that wrote it (``never`` when none did) and, when it has a freshness
    expectation (read with it), its state."""
    ids = [dataset.id or "" for dataset in datasets]
    prefix = id_prefix_length(ids)
    name = _Column("Name", [d.name or "" for d in datasets], wraps=True)
    namespace = _Column("Namespace", [d.namespace or "" for d in datasets])
    written = _Column(
        "Last written (UTC)", [when(d.last_written_date_time)[:16] or "never" for d in datasets]
    )
    fresh = _Column("Freshness", [freshness_state(d.expectation) for d in datasets])
    whole = _Column("Id", ids)
    short = _Column("Id", [dataset_id[:prefix] for dataset_id in ids])
    layouts = [
        (name, namespace, written, fresh, whole),
        (name, namespace, written, fresh, short),
        (name, written, fresh, short),
    ]
    return _fitted(layouts, width, None)


def dataset_details(dataset: Dataset) -> Table:
    """Every property of a dataset, its freshness (when its ``expectation`` was read with it:
    the state, how often it is expected to be written, when it is due) and its facets as
    JSON."""
    props = Table.grid(padding=(0, 2))
    props.add_column(style="bold")
    props.add_column()
    rows = [
        ("Name", dataset.name or ""),
        ("Namespace", dataset.namespace or ""),
        ("Id", dataset.id or ""),
        ("Last written (UTC)", when(dataset.last_written_date_time) or "never"),
        ("Last written by run", dataset.last_written_run_id or "—"),
        ("Created (UTC)", when(dataset.created_date_time)),
        ("Changed (UTC)", when(dataset.last_modified_date_time)),
    ]
    for label, value in rows:
        props.add_row(label, value)
    expectation = dataset.expectation
    if expectation is None:
        props.add_row("Freshness", Text("no freshness expectation", style="dim"))
    else:
        state = freshness_state(expectation)
        state.append(f", written every {expectation.written_every}", style="")
        if expectation.paused_until is not None:
            state.append(f" (paused until {when(expectation.paused_until)})", style="")
        props.add_row("Freshness", state)
        props.add_row("Write due (UTC)", when(expectation.write_due_date_time) or "—")
        props.add_row("Owner", expectation.owner or "—")
        if expectation.tags:
            props.add_row("Tags", ", ".join(expectation.tags))
    if dataset.facets:
        props.add_row("Facets", _value(dataset.facets))
    return props


def accesses_table(
    accesses: Sequence[DatasetAccess], *, width: int, title: str | None = None
) -> Table:
    """One line per run that wrote (or read) a dataset, fitted to ``width``: the run's start,
    status, the rows it wrote or read, and its id."""
    run_ids = [a.run_id or "" for a in accesses]
    prefix = id_prefix_length(run_ids)
    started = _Column("Run started (UTC)", [when(a.run_start_date_time)[:16] for a in accesses])
    state = _Column("Run status", [status(a.run_status) for a in accesses])
    rows = _Column("Rows", [_count(a.row_count) for a in accesses])
    whole = _Column("Run", run_ids)
    short = _Column("Run", [run_id[:prefix] for run_id in run_ids])
    return _fitted([(started, state, rows, whole), (started, state, rows, short)], width, title)


def datasets_of_run_table(accesses: Sequence[DatasetAccess], *, width: int, title: str) -> Table:
    """One line per dataset a run read or wrote: its name, namespace and the rows."""
    name = _Column("Dataset", [a.name or "" for a in accesses], wraps=True)
    namespace = _Column("Namespace", [a.namespace or "" for a in accesses])
    rows = _Column("Rows", [_count(a.row_count) for a in accesses])
    return _fitted([(name, namespace, rows)], width, title)
