"""How the client commands reach a flowruns service, and how they report its errors.

``--url`` and ``--token`` (or ``FLOWRUNS_URL`` and ``FLOWRUNS_TOKEN``) name the service root and
the bearer token. An error the service answers becomes one line on stderr naming the Graph error
code and the request id to quote to the service's operators, and exit status 1: never a
traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from flowruns.cli.lookup import NotOne
from flowruns.client import (
    Client,
    FlowrunsClientError,
    GraphAPIError,
    RetryPolicy,
    ServiceUnreachableError,
)


def out() -> Console:
    """Standard output, for tables, details and JSON; made per use, so it takes the terminal's
    width (or ``COLUMNS``) at that moment."""
    return Console(soft_wrap=False)


def err() -> Console:
    """Standard error, for messages: ``--json`` output on stdout stays parseable."""
    return Console(stderr=True, soft_wrap=True)


Url = Annotated[
    str | None,
    typer.Option(
        "--url",
        envvar="FLOWRUNS_URL",
        show_envvar=True,
        help="Service root, e.g. http://127.0.0.1:8000/beta.",
    ),
]
Token = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="FLOWRUNS_TOKEN",
        show_envvar=True,
        show_default=False,
        help="Bearer token (`flowruns token` mints one).",
    ),
]


# Items the list commands fetch per request: large pages, fewer round trips, within the 999 a
# page may hold.
PAGE_SIZE = 200

Top = Annotated[
    int | None,
    typer.Option("--top", min=1, help="Deprecated: the old name of --limit.", show_default=False),
]


def limit_of(limit: int | None, top: int | None, default: int) -> int:
    """``--limit``, or ``--top``, its deprecated name (saying so on stderr), or ``default``."""
    if top is None:
        return default if limit is None else limit
    if limit is not None:
        raise typer.BadParameter("give --limit only; --top is its old name", param_hint="--top")
    err().print(
        "flowruns: --top is deprecated: it is the old name of --limit (the most to show); "
        "use --limit, and --page-size for how many are fetched per request",
        style="yellow",
        markup=False,
    )
    return top


def fail(message: str) -> typer.Exit:
    """Say ``message`` on stderr; the exit (status 1) to raise."""
    err().print(f"[red]flowruns: {escape(message)}[/red]")
    return typer.Exit(1)


def describe(error: FlowrunsClientError) -> str:
    """One line for an error of the SDK: the Graph code, message and request id."""
    if isinstance(error, GraphAPIError):
        where = f"; request-id {error.request_id}" if error.request_id else ""
        target = f" (target: {error.target})" if error.target else ""
        return f"{error.message}{target} [{error.status} {error.code}{where}]"
    if isinstance(error, ServiceUnreachableError):
        return f"cannot reach the service: {error}"
    return str(error)


def dashboard_link(service_root: str, path: str) -> str | None:
    """The address of a dashboard page (``runs/<id>``) of the flowruns server whose service
    root is ``service_root``: the dashboard is at ``/`` of the server, the root at ``/beta``.
    None for a service root that is not a flowruns server's."""
    root = service_root.rstrip("/")
    if not root.endswith("/beta"):
        return None
    return f"{root.removesuffix('/beta')}/#/{path}"


@contextmanager
def client(
    url: str | None, token: str | None, *, retry: RetryPolicy | None = None
) -> Iterator[Client]:
    """A client of the service; an SDK error inside the block, or an id or a name that does not
    name exactly one entity, ends the command with one line."""
    with Client(url=url, token=token, retry=retry) as connected:
        try:
            yield connected
        except FlowrunsClientError as error:
            raise fail(describe(error)) from None
        except NotOne as error:
            raise fail(str(error)) from None
