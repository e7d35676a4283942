"""How a command that uses the database ends when the database cannot serve: one line naming
it (credentials masked) and status :data:`UNAVAILABLE_STATUS`, never a traceback."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec

import typer
from rich.console import Console
from sqlalchemy.exc import SQLAlchemyError

from flowruns.settings import Settings
from flowruns.store.database import chosen_url, display_url, unavailable, unavailable_reason

P = ParamSpec("P")

#: The exit status of a command whose database is unreachable, shutting down or locked.
UNAVAILABLE_STATUS = 3

console = Console(stderr=True, soft_wrap=True)  # the message stays one line


@contextmanager
def exits_when_unavailable(name: Callable[[], str]) -> Iterator[None]:
    """Ends the command when the database named by ``name()`` cannot serve inside the block."""
    try:
        yield
    except SQLAlchemyError as error:
        if not unavailable(error):
            raise
        console.print(
            f"flowruns: the database {name()} is unavailable: {unavailable_reason(error)}",
            style="red",
            markup=False,
            highlight=False,
        )
        raise typer.Exit(UNAVAILABLE_STATUS) from None


def uses_the_database(command: Callable[P, None]) -> Callable[P, None]:
    """A command (with ``data_dir`` and ``database_url`` options) that ends in one line when
    its database cannot serve, naming the database those options and the environment select."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        def name() -> str:
            settings = Settings.from_env(
                data_dir=kwargs.get("data_dir"), database_url=kwargs.get("database_url")
            )
            return display_url(chosen_url(settings.database_url, settings.data_dir))

        with exits_when_unavailable(name):
            command(*args, **kwargs)

    return run
