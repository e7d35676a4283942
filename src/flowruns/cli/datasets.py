"""``flowruns datasets list|get``: the datasets runs read and write, when each was last written
by a successful run, and which runs wrote and read it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from flowruns.cli import lookup, render
from flowruns.cli.remote import PAGE_SIZE, Token, Url, client, err, limit_of, out
from flowruns.client import F, Filter

app = typer.Typer(
    help="Datasets: what runs read and write, and how fresh each one is.", no_args_is_help=True
)

Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
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


def dataset_filter(namespace: str | None, stale_for: str | None) -> Filter | None:
    """The ``$filter`` the options of ``list`` ask for, built without splicing text."""
    parts: list[Filter] = []
    if namespace:
        parts.append(F.namespace == namespace)
    if stale_for:
        cutoff = datetime.now(UTC) - parse_duration(stale_for, "--stale-for")
        parts.append(F.lastWrittenDateTime.is_null() | (F.lastWrittenDateTime < cutoff))
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
    """List datasets by namespace and name, with their last successful write."""
    query = dataset_filter(namespace, stale_for)
    most = limit_of(limit, None, LIST_LIMIT)
    with client(url, token) as service:
        found = service.datasets.list(
            filter=query,
            orderby=["namespace", "name"],
            top=min(most, PAGE_SIZE),
            search=name,
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
    dataset: Annotated[
        str,
        typer.Argument(
            metavar="DATASET", help="The dataset's name, its id or the start of its id."
        ),
    ],
    namespace: Annotated[
        str | None,
        typer.Option("--namespace", help="The namespace of the named dataset, when names repeat."),
    ] = None,
    as_json: Json = False,
    url: Url = None,
    token: Token = None,
) -> None:
    """Show one dataset and the latest runs that wrote and read it."""
    with client(url, token) as service:
        dataset_id = lookup.dataset_id(service, dataset, namespace)
        found = service.datasets.get(dataset_id)
        writes = list(service.datasets.writes(dataset_id, limit=ACCESSES_SHOWN))
        reads = list(service.datasets.reads(dataset_id, limit=ACCESSES_SHOWN))
    if as_json:
        typer.echo(render.dumps(render.as_json(found)))
        return
    console = out()
    console.print(render.dataset_details(found))
    for title, accesses in (("Latest writes", writes), ("Latest reads", reads)):
        if accesses:
            console.print(render.accesses_table(accesses, width=console.width, title=title))
        else:
            console.print(f"{title}: none")
