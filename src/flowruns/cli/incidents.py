"""``flowruns incidents list|get``: departures of processes from their expectations, and of
datasets from their freshness expectations."""

from __future__ import annotations

from typing import Annotated

import typer

from flowruns.cli import lookup, render
from flowruns.cli.remote import PAGE_SIZE, Token, Url, client, err, limit_of, out
from flowruns.client.filters import literal
from flowruns.client.models import IncidentKind

app = typer.Typer(
    help="Incidents: when a process broke its expectation or a dataset went stale, and when "
    "that cleared.",
    no_args_is_help=True,
)

Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
_KINDS = tuple(k.value for k in IncidentKind if k is not IncidentKind.UNKNOWN_FUTURE_VALUE)
LIST_LIMIT = 100
# What each incident is about, read with it: the table names the process or the dataset.
SUBJECTS = "process($select=id,displayName),dataset($select=id,namespace,name)"


@app.command("list")
def list_incidents(
    process: Annotated[
        str | None,
        typer.Option(help="Only this process's (its name, its id or the start of its id)."),
    ] = None,
    dataset: Annotated[
        str | None,
        typer.Option(help="Only this dataset's (its name, its id or the start of its id)."),
    ] = None,
    kind: Annotated[str | None, typer.Option(help=f"One of {', '.join(_KINDS)}.")] = None,
    open_only: Annotated[bool, typer.Option("--open", help="Only open incidents.")] = False,
    limit: Annotated[
        int | None,
        typer.Option(
            min=1, help="Show at most this many incidents.  [default: 100]", show_default=False
        ),
    ] = None,
    as_json: Json = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """List incidents, newest first, with the process or dataset each is about."""
    if kind is not None and kind not in _KINDS:
        raise typer.BadParameter(f"use one of {', '.join(_KINDS)}", param_hint="--kind")
    conditions = []
    if kind is not None:
        conditions.append(f"kind eq {literal(kind)}")
    if open_only:
        conditions.append("resolvedDateTime eq null")
    most = limit_of(limit, None, LIST_LIMIT)
    with client(url, token) as service:
        if process is not None:
            conditions.append(f"process/id eq {literal(lookup.process_id(service, process))}")
        if dataset is not None:
            conditions.append(f"datasetId eq {literal(lookup.dataset_id(service, dataset))}")
        found = service.incidents.list(
            " and ".join(conditions) or None,
            top=min(most, PAGE_SIZE),
            expand=SUBJECTS,
            limit=most,
        )
        incidents = list(found)
    if as_json:
        typer.echo(render.dumps([render.as_json(i) for i in incidents]))
    elif incidents:
        console = out()
        console.print(render.incidents_table(incidents, width=console.width))
    else:
        err().print("No incidents match.")


@app.command("get")
def get_incident(
    incident: Annotated[str, typer.Argument(metavar="INCIDENT", help="The incident's id.")],
    as_json: Json = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Show one incident, with the process or dataset it is about."""
    with client(url, token) as service:
        found = service.incidents.get(incident, expand=SUBJECTS)
    if as_json:
        typer.echo(render.dumps(render.as_json(found)))
    else:
        out().print(render.incident_details(found))
