"""What ``processes expect`` and ``datasets expect`` share: the options that route and pause an
expectation, the change of only the members given (creating the expectation when there is none
yet), and how the expectation written is printed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

import typer

from flowruns.cli import render
from flowruns.cli.remote import out
from flowruns.client import Entity, NotFoundError

E = TypeVar("E", bound=Entity)

Owner = Annotated[str | None, typer.Option(help="Who answers for it.")]
Tags = Annotated[list[str] | None, typer.Option(help="A tag (repeat the option for several).")]
Pause = Annotated[
    bool | None, typer.Option("--pause/--resume", help="Pause or resume the evaluation.")
]
PausedUntil = Annotated[
    datetime | None,
    typer.Option(help="With --pause: when the pause ends (UTC).", formats=["%Y-%m-%dT%H:%M:%S"]),
]


def members(
    owner: str | None,
    tag: list[str] | None,
    pause: bool | None,
    paused_until: datetime | None,
    **others: Any,
) -> dict[str, Any]:
    """The members the options gave (the SDK's names), leaving out those not given: an option
    left out changes nothing."""
    given = {
        **others,
        "owner": owner,
        "tags": tag,
        "paused": pause,
        "paused_until": render.utc(paused_until),
    }
    return {name: value for name, value in given.items() if value is not None}


def write(update: Callable[..., E], create: Callable[..., E], given: dict[str, Any]) -> E:
    """Change the members ``given`` (``PATCH``); when there is no expectation yet, create it
    with them (``PUT``)."""
    try:
        return update(**given)
    except NotFoundError:
        return create(**given)


def show(expectation: Entity, subject: str, *, as_json: bool) -> None:
    """The expectation written, as JSON or as its members, ``subject`` naming what it is of."""
    if as_json:
        typer.echo(render.dumps(render.as_json(expectation)))
    else:
        out().print(render.expectation_details(expectation, subject))
