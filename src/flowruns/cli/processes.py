"""``flowruns processes list|get|create|delete|health|expect``: the flows whose executions are
runs, their expectations and their health."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import typer

from flowruns.cli import expectations, lookup, render
from flowruns.cli.remote import PAGE_SIZE, Token, Top, Url, client, err, limit_of, out
from flowruns.client.filters import literal

app = typer.Typer(help="Processes: the data flows whose executions are runs.", no_args_is_help=True)

_TYPES = ("insightsOutgoingFlow", "dataShareOutgoingFlow")
_READINESS = ("notReady", "ready", "failed", "deleted", "expired")
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
ProcessName = Annotated[
    str,
    typer.Argument(metavar="PROCESS", help="The process's name, its id or the start of its id."),
]
# Processes shown by `list` unless --limit says otherwise.
LIST_LIMIT = 100


@app.command("list")
def list_processes(
    search: Annotated[
        str | None, typer.Option(help="Only processes whose name contains this.")
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            min=1, help="Show at most this many processes.  [default: 100]", show_default=False
        ),
    ] = None,
    top: Top = None,
    as_json: Json = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """List processes by name."""
    most = limit_of(limit, top, LIST_LIMIT)
    with client(url, token) as service:
        found = service.processes.list(search=search, top=min(most, PAGE_SIZE), limit=most)
        processes = list(found)
    if as_json:
        typer.echo(render.dumps([render.as_json(p) for p in processes]))
    elif processes:
        console = out()
        console.print(render.processes_table(processes, width=console.width))
    else:
        err().print("No processes match.")


@app.command("get")
def get_process(
    process: ProcessName,
    as_json: Json = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Show one process and its latest runs."""
    with client(url, token) as service:
        process_id = lookup.process_id(service, process)
        found = service.processes.get(process_id)
        runs = list(service.processes.runs(process_id, limit=10))
    if as_json:
        typer.echo(render.dumps(render.as_json(found)))
        return
    console = out()
    console.print(render.process_details(found))
    if runs:
        console.print(render.runs_table(runs, width=console.width, title="Latest runs"))


@app.command("create")
def create_process(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The process's display name.")],
    process_type: Annotated[
        str, typer.Option("--type", help=f"One of {', '.join(_TYPES)}.")
    ] = "insightsOutgoingFlow",
    readiness: Annotated[
        str, typer.Option(help=f"Readiness status: {', '.join(_READINESS)}.")
    ] = "ready",
    share_name: Annotated[
        str | None, typer.Option(help="Share name (dataShareOutgoingFlow only).")
    ] = None,
    as_json: Json = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Create a process and print its id (on stdout, for scripts)."""
    if process_type not in _TYPES:
        raise typer.BadParameter(f"use one of {', '.join(_TYPES)}", param_hint="--type")
    if readiness not in _READINESS:
        raise typer.BadParameter(f"use one of {', '.join(_READINESS)}", param_hint="--readiness")
    if share_name is not None and process_type != "dataShareOutgoingFlow":
        raise typer.BadParameter(
            "only a dataShareOutgoingFlow has a share name", param_hint="--share-name"
        )
    props: dict[str, str] = {"readiness_status": readiness}
    if share_name is not None:
        props["share_name"] = share_name
    with client(url, token) as service:
        process = service.processes.create(name, process_type, **props)
    if as_json:
        typer.echo(render.dumps(render.as_json(process)))
    else:
        typer.echo(process.id)


@app.command("delete")
def delete_process(
    process: ProcessName,
    cascade_running: Annotated[
        bool,
        typer.Option("--cascade-running", help="Also delete its runs that are still running."),
    ] = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Delete a process and all its runs (refused while one runs, unless --cascade-running)."""
    with client(url, token) as service:
        process_id = lookup.process_id(service, process)
        service.processes.delete(process_id, cascade_running=cascade_running)
    err().print(f"Deleted process {process_id} and its runs.")


@app.command("health")
def health(
    owner: Annotated[str | None, typer.Option(help="Only the processes of this owner.")] = None,
    tag: Annotated[str | None, typer.Option(help="Only the processes with this tag.")] = None,
    unhealthy: Annotated[
        bool, typer.Option("--unhealthy", help="Only the processes that are not healthy.")
    ] = False,
    limit: Annotated[
        int | None,
        typer.Option(
            min=1, help="Show at most this many processes.  [default: 100]", show_default=False
        ),
    ] = None,
    as_json: Json = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """The health of every process with an expectation, the worst first."""
    # Every value written as an OData literal (quotes doubled), never pasted in.
    conditions = ["expectation ne null"]
    if owner is not None:
        conditions.append(f"expectation/owner eq {literal(owner)}")
    if tag is not None:
        conditions.append(f"expectation/tags/any(t: t eq {literal(tag)})")
    if unhealthy:
        conditions.append("not (health/state in ('healthy', 'unknown'))")
    condition = " and ".join(conditions)
    most = limit_of(limit, None, LIST_LIMIT)
    with client(url, token) as service:
        found = service.processes.list(
            filter=condition,
            orderby=["health/state desc", "displayName"],
            expand="expectation,health",
            top=min(most, PAGE_SIZE),
            limit=most,
        )
        processes = list(found)
    if as_json:
        typer.echo(render.dumps([render.health_json(p) for p in processes]))
    elif processes:
        console = out()
        console.print(render.health_table(processes, width=console.width))
    else:
        err().print("No process with an expectation matches.")


@app.command("expect")
def expect(
    process: ProcessName,
    schedule: Annotated[
        str | None,
        typer.Option(
            help="Cron (with --time-zone) or ISO 8601 interval (R/2026-01-01T02:00Z/P1D)."
        ),
    ] = None,
    time_zone: Annotated[
        str | None, typer.Option(help="IANA time zone of a cron schedule (default UTC).")
    ] = None,
    grace: Annotated[
        str | None, typer.Option(help="ISO 8601 duration: later than this is late (PT30M).")
    ] = None,
    max_duration: Annotated[
        str | None, typer.Option(help="ISO 8601 duration: running longer is overdue (PT2H).")
    ] = None,
    duration_anomaly: Annotated[
        float | None, typer.Option(help="Slow: this many times the median duration.")
    ] = None,
    success_rule: Annotated[
        str | None, typer.Option(help="$filter a finished run must satisfy.")
    ] = None,
    failure_streak: Annotated[
        int | None, typer.Option(help="This many failed runs in a row: failing.")
    ] = None,
    owner: expectations.Owner = None,
    tag: expectations.Tags = None,
    pause: expectations.Pause = None,
    paused_until: expectations.PausedUntil = None,
    as_json: Json = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Set members of a process's expectation (creating it when the process has none)."""
    given = expectations.members(
        owner,
        tag,
        pause,
        paused_until,
        schedule=schedule,
        time_zone=time_zone,
        grace=grace,
        max_duration=max_duration,
        duration_anomaly=duration_anomaly,
        success_rule=success_rule,
        failure_streak=failure_streak,
    )
    with client(url, token) as service:
        process_id = lookup.process_id(service, process)
        expectation = expectations.write(
            partial(service.processes.update_expectation, process_id),
            partial(service.processes.expect, process_id),
            given,
        )
    expectations.show(expectation, "Process", as_json=as_json)
