"""``flowruns datasets list|get|expect``: the datasets runs read and write, when each was last
written by a successful run, which runs wrote and read it, and how often it is expected to be
written (its freshness expectation, and the stale incidents when it was not)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Annotated, Any

import typer

from flowruns.cli import expectations, lookup, render
from flowruns.cli.remote import PAGE_SIZE, Token, Url, client, err, limit_of, out
from flowruns.client import F, Filter
from flowruns.client.models import FreshnessExpectation, FreshnessState

app = typer.Typer(
    help="Datasets: what runs read and write, and how fresh each one is.", no_args_is_help=True
)

Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
DatasetName = Annotated[
    str,
    typer.Argument(metavar="DATASET", help="The dataset's name, its id or the start of its id."),
]
Namespace = Annotated[
    str | None,
    typer.Option("--namespace", help="The namespace of the named dataset, when names repeat."),
]
_STATES = tuple(s.value for s in FreshnessState if s is not FreshnessState.UNKNOWN_FUTURE_VALUE)
# A dataset's freshness expectation, and its open stale incidents, read with it in one request.
FRESHNESS = "expectation,incidents($filter=resolvedDateTime eq null)"
# Datasets shown by `list`, and runs by `get` in each direction, unless told otherwise.
LIST_LIMIT = 100
ACCESSES_SHOWN = 10

_DURATION = re.compile(r"(?P<amount>\d+)(?P<unit>[mhdw])")
_ISO_DURATION = re.compile(
    r"P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?"
)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str, option: str) -> timedelta:
    """``30m``, ``36h``, ``7d``, ``2w`` or an ISO 8601 duration (``P1D``, ``PT12H``)."""
    value = text.strip()
    short = _DURATION.fullmatch(value.lower())
    if short is not None:
        return timedelta(**{_UNITS[short["unit"]]: int(short["amount"])})
    iso = _ISO_DURATION.fullmatch(value.upper())
    if iso is not None and value.upper() not in ("P", "PT"):
        return timedelta(**{unit: int(amount) for unit, amount in iso.groupdict(0).items()})
    raise typer.BadParameter(
        "give a duration: 30m, 36h, 7d, 2w, or ISO 8601 (P1D, PT12H)", param_hint=option
    )


def dataset_filter(
    namespace: str | None, stale_for: str | None, freshness: str | None = None
) -> Filter | None:
    """The ``$filter`` the options of ``list`` ask for, built without splicing text."""
    parts: list[Filter] = []
    if namespace:
        parts.append(F.namespace == namespace)
    if stale_for:
        cutoff = datetime.now(UTC) - parse_duration(stale_for, "--stale-for")
        parts.append(F.lastWrittenDateTime.is_null() | (F.lastWrittenDateTime < cutoff))
    if freshness:
        parts.append(F.expectation.state == freshness)
    if not parts:
        return None
    combined = parts[0]
    for part in parts[1:]:
        combined = combined & part
    return combined


@app.command("list")
def list_datasets(
    name: Annotated[
        str | None,
        typer.Option("--name", help="Only datasets whose name contains this (in any case)."),
    ] = None,
    namespace: Annotated[
        str | None,
        typer.Option("--namespace", help="Only datasets of this namespace (e.g. flowruns)."),
    ] = None,
    stale_for: Annotated[
        str | None,
        typer.Option(
            "--stale-for",
            metavar="DURATION",
            help="Only datasets no successful run wrote for this long (30m, 36h, 7d, P1D), "
            "or ever.",
        ),
    ] = None,
    freshness: Annotated[
        str | None,
        typer.Option(
            "--freshness",
            metavar="STATE",
            help=f"Only datasets whose freshness expectation is {', '.join(_STATES)}.",
        ),
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            min=1, help="Show at most this many datasets.  [default: 100]", show_default=False
        ),
    ] = None,
    as_json: Json = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """List datasets by namespace and name, with their last successful write and freshness."""
    if freshness is not None and freshness not in _STATES:
        raise typer.BadParameter(f"use one of {', '.join(_STATES)}", param_hint="--freshness")
    query = dataset_filter(namespace, stale_for, freshness)
    most = limit_of(limit, None, LIST_LIMIT)
    with client(url, token) as service:
        found = service.datasets.list(
            filter=query,
            orderby=["namespace", "name"],
            top=min(most, PAGE_SIZE),
            search=name,
            # The state alone: the table's column, at the cost of a join.
            expand="expectation($select=state)",
            limit=most,
        )
        datasets = list(found)
    if as_json:
        typer.echo(render.dumps([render.as_json(d) for d in datasets]))
    elif datasets:
        console = out()
        console.print(render.datasets_table(datasets, width=console.width))
    else:
        err().print("No datasets match.")


@app.command("get")
def get_dataset(
    dataset: DatasetName,
    namespace: Namespace = None,
    as_json: Json = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Show one dataset, its freshness, its open stale incidents and the latest runs that wrote
    and read it."""
    with client(url, token) as service:
        dataset_id = lookup.dataset_id(service, dataset, namespace)
        found = service.datasets.get(dataset_id, expand=FRESHNESS)
        writes = list(service.datasets.writes(dataset_id, limit=ACCESSES_SHOWN))
        reads = list(service.datasets.reads(dataset_id, limit=ACCESSES_SHOWN))
    if as_json:
        typer.echo(render.dumps(render.as_json(found)))
        return
    console = out()
    console.print(render.dataset_details(found))
    if found.incidents:
        title = "Open stale incidents"
        console.print(render.incidents_table(found.incidents, width=console.width, title=title))
    for title, accesses in (("Latest writes", writes), ("Latest reads", reads)):
        if accesses:
            console.print(render.accesses_table(accesses, width=console.width, title=title))
        else:
            console.print(f"{title}: none")


@app.command("expect")
def expect(
    dataset: DatasetName,
    every: Annotated[
        str | None,
        typer.Option(
            "--every",
            metavar="DURATION",
            help="ISO 8601 duration: a successful run writes it at least this often (P1D, "
            "PT6H); required for a dataset without a freshness expectation.",
        ),
    ] = None,
    owner: expectations.Owner = None,
    tag: expectations.Tags = None,
    pause: expectations.Pause = None,
    paused_until: expectations.PausedUntil = None,
    remove: Annotated[
        bool, typer.Option("--remove", help="Remove the freshness expectation instead.")
    ] = False,
    namespace: Namespace = None,
    as_json: Json = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Set members of a dataset's freshness expectation (creating it, with --every, when the
    dataset has none), or remove it."""
    given = expectations.members(owner, tag, pause, paused_until, written_every=every)
    if remove and given:
        raise typer.BadParameter("give no other member with --remove", param_hint="--remove")
    with client(url, token) as service:
        dataset_id = lookup.dataset_id(service, dataset, namespace)
        if remove:
            service.datasets.remove_expectation(dataset_id)
            err().print(f"Removed the freshness expectation of dataset {dataset_id}.")
            return

        def create(**members: Any) -> FreshnessExpectation:
            if every is None:
                raise typer.BadParameter(
                    "the dataset has no freshness expectation yet: say how often it is written",
                    param_hint="--every",
                )
            return service.datasets.expect(dataset_id, **members)

        expectation = expectations.write(
            partial(service.datasets.update_expectation, dataset_id), create, given
        )
    expectations.show(expectation, "Dataset", as_json=as_json)
