"""The ``flowruns`` command: the server's own commands here, the client commands (``runs``,
``processes``, ``datasets``, ``exec``) in a module each."""

from __future__ import annotations

import gc
import ipaddress
import os
import re
import shlex
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, TypeVar

import typer
import uvicorn
from rich.console import Console
from rich.markup import escape
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from starlette.applications import Starlette

from flowruns import logs
from flowruns.api import metrics
from flowruns.api.app import create_app, open_database
from flowruns.api.protocol import LimitedHttpToolsProtocol
from flowruns.auth.keys import NoSigningKey, local_signing_key
from flowruns.auth.scopes import ALL_PERMISSIONS, READ_WRITE_PERMISSIONS
from flowruns.auth.tokens import is_guid, mint_token
from flowruns.cli import datasets, incidents, listening, processes, runs, subscriptions
from flowruns.cli.database import exits_when_unavailable, uses_the_database
from flowruns.cli.execute import exec_command
from flowruns.datadir import exposure_warning
from flowruns.demo import seed as seed_history
from flowruns.demo_activity import DemoActivity, local_token
from flowruns.settings import (
    DEFAULT_TENANT,
    InvalidSetting,
    Settings,
    parse_cors_origins,
    parse_max_header_bytes,
    parse_public_url,
    parse_read_timeout,
    parse_run_timeout,
)
from flowruns.store import migrations, transfer
from flowruns.store.database import (
    Database,
    UnsupportedDatabase,
    display_url,
    make_engine,
    open_engine,
)
from flowruns.store.migrations import SchemaNotCurrent
from flowruns.store.transfer import BATCH

app = typer.Typer(help="Record and inspect data-flow runs.", no_args_is_help=True)
demo_app = typer.Typer(help="Demo data.", no_args_is_help=True)
app.add_typer(demo_app, name="demo")
db_app = typer.Typer(help="The database: its schema revision and upgrades.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(runs.app, name="runs")
app.add_typer(processes.app, name="processes")
app.add_typer(subscriptions.app, name="subscriptions")
app.add_typer(incidents.app, name="incidents")
app.add_typer(datasets.app, name="datasets")
app.command("listen")(subscriptions.listen)
# Everything after the options is the command, its own options included.
app.command("exec", context_settings={"allow_interspersed_args": False})(exec_command)
console = Console(stderr=True, soft_wrap=True)  # messages stay whole lines

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data directory (default ./.flowruns, or FLOWRUNS_DATA_DIR)."),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help="Database URL (default: SQLite in the data directory)."),
]


# uvicorn's httptools protocol with the connection limits, by import path so workers load it too.
HTTP_PROTOCOL = f"{LimitedHttpToolsProtocol.__module__}:{LimitedHttpToolsProtocol.__qualname__}"
_Value = TypeVar("_Value")

# Seconds a stopping server waits for requests in flight before it closes their connections.
SHUTDOWN_GRACE_SECONDS = 30

# The token `serve` prints for the first minutes; `flowruns token` mints others.
SERVE_TOKEN_TTL_SECONDS = 12 * 3600
_TTL = re.compile(r"(?P<amount>\d{1,7})(?P<unit>[smhd]?)")
_TTL_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_TTL_SECONDS = 366 * 86400


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _print_token(token: str, what: str) -> None:
    # Plain echo, not rich: a token must stay on one line to paste.
    typer.echo(f"{what}\n\n    export TOKEN={token}\n", err=True)


def local_origin(host: str, port: int) -> str:
    """The origin this machine reaches a server listening on ``host``:``port`` at."""
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"  # listening everywhere: this machine's own address reaches it
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def sign_in_link(host: str, port: int, token: str) -> str:
    """The dashboard's address that signs in with ``token``. The token rides in the fragment,
    which browsers never send to a server, so it reaches neither the request line nor the log."""
    return f"{local_origin(host, port)}/#token={token}"


@app.command()
@uses_the_database
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int | None,
        typer.Option(
            min=0,
            max=65535,
            help="Port to listen on (default 8000, or FLOWRUNS_PORT).",
            show_default=False,
        ),
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, help="Server processes sharing the port (one per core).")
    ] = 1,
    log_format: Annotated[
        str, typer.Option(help="Log lines as 'text' or 'json' (one object per line).")
    ] = "text",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    issuer: Annotated[
        list[str] | None,
        typer.Option(help="Accepted token issuer (repeatable; '{tid}' stands for the tenant)."),
    ] = None,
    audience: Annotated[
        list[str] | None, typer.Option(help="Accepted token audience (repeatable).")
    ] = None,
    jwks_file: Annotated[
        Path | None, typer.Option(help="JWKS document with the token signing keys.")
    ] = None,
    jwks_url: Annotated[
        str | None, typer.Option(help="URL of the identity provider's JWKS document.")
    ] = None,
    no_auth: Annotated[
        bool,
        typer.Option(
            "--no-auth", help="Accept every request without a token (loopback only; experiments)."
        ),
    ] = False,
    run_timeout: Annotated[
        str | None,
        typer.Option(
            help="Fail running runs untouched this long: seconds or ISO 8601 (PT1H); 0 is off "
            "(default 1 hour, or FLOWRUNS_RUN_TIMEOUT).",
        ),
    ] = None,
    max_header_bytes: Annotated[
        str | None,
        typer.Option(
            help="Most bytes a request's line and headers may hold; more is 431 "
            "(default 65536, or FLOWRUNS_MAX_HEADER_BYTES).",
        ),
    ] = None,
    header_timeout: Annotated[
        str | None,
        typer.Option(
            help="Seconds a client has to send a request's headers "
            "(default 10, or FLOWRUNS_HEADER_TIMEOUT).",
        ),
    ] = None,
    body_timeout: Annotated[
        str | None,
        typer.Option(
            help="Seconds a client has to send a request's body once its headers are in "
            "(default 30, or FLOWRUNS_BODY_TIMEOUT).",
        ),
    ] = None,
    print_token: Annotated[
        bool,
        typer.Option(
            "--print-token",
            help="Print a 12-hour read-write token and the dashboard sign-in link even when "
            "standard error is not a terminal (never with --log-format json).",
        ),
    ] = False,
    public_url: Annotated[
        str | None,
        typer.Option(
            help="The URL clients reach the server at behind a reverse proxy "
            "(https://runs.example.com): links in responses start with it, never with the "
            "request's Host (or FLOWRUNS_PUBLIC_URL).",
        ),
    ] = None,
    cors_origin: Annotated[
        list[str] | None,
        typer.Option(
            help="An origin whose pages may call the API from a browser "
            "(https://app.example.com; repeatable; * for any). None by default "
            "(or FLOWRUNS_CORS_ORIGINS, comma-separated).",
        ),
    ] = None,
    demo_activity: Annotated[
        bool,
        typer.Option(
            "--demo-activity",
            help="Start and finish runs of the demo's processes through the API while serving, "
            "so the dashboard's live views move (or FLOWRUNS_DEMO_ACTIVITY=1).",
        ),
    ] = False,
) -> None:
    """Start the flowruns server (service root at /beta).

    SIGTERM or Ctrl-C stops taking new connections and finishes the requests in flight first.
    """
    if log_format not in logs.FORMATS:
        raise typer.BadParameter(f"use one of {', '.join(logs.FORMATS)}", param_hint="--log-format")
    if print_token and log_format == "json":
        raise typer.BadParameter(
            "a JSON log is collected and kept; mint a token with `flowruns token` instead",
            param_hint="--print-token with --log-format json",
        )
    settings = Settings.from_env(
        data_dir=data_dir,
        database_url=database_url,
        host=host,
        port=port,
        issuers=issuer or None,
        audiences=audience or None,
        jwks_file=jwks_file,
        jwks_url=jwks_url,
        run_timeout_seconds=_run_timeout(run_timeout),
        max_header_bytes=_flag(max_header_bytes, parse_max_header_bytes, "--max-header-bytes"),
        header_timeout_seconds=_flag(header_timeout, parse_read_timeout, "--header-timeout"),
        body_timeout_seconds=_flag(body_timeout, parse_read_timeout, "--body-timeout"),
        public_url=_flag(public_url, parse_public_url, "--public-url"),
        cors_origins=_flag(
            ",".join(cors_origin) if cors_origin else None, parse_cors_origins, "--cors-origin"
        ),
        demo_activity=demo_activity or None,
    )
    if no_auth:
        settings.auth = False
    if not settings.auth:
        if not _is_loopback(settings.host):
            console.print(
                f"[red]flowruns: --no-auth refuses to listen on {settings.host}; "
                "it binds to loopback (127.0.0.1, ::1) only.[/red]"
            )
            raise typer.Exit(2)
        console.print(
            "[bold red]WARNING: authentication is OFF (--no-auth). Every request acts with every "
            "permission in the default tenant. For local experiments only.[/bold red]"
        )
    if warning := exposure_warning(settings.data_dir):
        console.print(f"[yellow]flowruns: WARNING: {warning}[/yellow]")
    if settings.demo_activity:
        _start_demo_activity(settings)
    settings.secret()  # checked, or made, here: before the database, once for all workers
    # Check (or, for the data directory, upgrade) the schema once, before any worker starts.
    open_database(settings).dispose()
    # Each worker process builds its app from the environment (see server_app).
    os.environ.update(settings.environment())
    where = display_url(settings.database_url) if settings.database_url else settings.data_dir
    if refusal := listening.refusal(settings.host, settings.port):
        console.print(f"flowruns: {refusal}", style="red", markup=False)
        raise typer.Exit(listening.STARTUP_FAILURE)
    console.print(
        f"flowruns serving http://{settings.host}:{settings.port}/beta "
        f"with {workers} worker{'s' if workers > 1 else ''} (data: {where})"
    )
    if settings.auth and settings.trusts_local_key:
        _offer_token(settings, print_token=print_token, log_format=log_format)
    with metrics_directory(workers):
        uvicorn.run(
            "flowruns.cli:server_app",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=workers,
            log_config=logs.config(log_format),
            access_log=False,  # flowruns logs every request itself, with more to say
            server_header=False,
            timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
            http=HTTP_PROTOCOL,
        )


def _start_demo_activity(settings: Settings) -> None:
    """Start the demo activity in this process, the one process however many workers serve; it
    waits for the server to answer. It needs a token it can mint itself."""
    if settings.auth and not settings.trusts_local_key:
        raise typer.BadParameter(
            "the demo activity signs its own token with the data directory's key, which a "
            "server trusting --jwks-file or --jwks-url does not accept",
            param_hint="--demo-activity",
        )
    token = local_token(settings.data_dir) if settings.auth else None
    DemoActivity(f"{local_origin(settings.host, settings.port)}/beta", token).start()


def _offer_token(settings: Settings, *, print_token: bool, log_format: str) -> None:
    """Print a read-write token and the dashboard link that signs in with it, for a person at a
    terminal or when asked; else one line saying how to get a token. Never into a JSON log,
    which a collector (journald, a container runtime) keeps and ships."""
    mint = f"flowruns token --data-dir {shlex.quote(str(settings.data_dir.resolve()))}"
    if log_format == "json":
        typer.echo(f"No token is printed into a JSON log; mint one with: {mint}", err=True)
        return
    if not (print_token or sys.stderr.isatty()):
        typer.echo(
            "No token printed: standard error is not a terminal. Mint one with: "
            f"{mint} (or start with --print-token)",
            err=True,
        )
        return
    local_signing_key(settings.data_dir)  # the server's own key: made here on a first start
    token = mint_token(
        settings.data_dir,
        tenant=DEFAULT_TENANT,
        scopes=READ_WRITE_PERMISSIONS,
        ttl_seconds=SERVE_TOKEN_TTL_SECONDS,
    )
    _print_token(
        token,
        f"A read-write token for tenant {DEFAULT_TENANT}, valid for 12 hours "
        "(`flowruns token` mints more); send it as 'Authorization: Bearer $TOKEN':",
    )
    link = sign_in_link(settings.host, settings.port, token)
    typer.echo(f"Open the dashboard, signed in with that token:\n\n    {link}\n", err=True)


def _run_timeout(text: str | None) -> float | None:
    try:
        return None if text is None else parse_run_timeout(text)
    except InvalidSetting as error:
        raise typer.BadParameter(str(error), param_hint="--run-timeout") from None


def _flag(text: str | None, parse: Callable[[str], _Value], name: str) -> _Value | None:
    try:
        return None if text is None else parse(text)
    except InvalidSetting as error:
        raise typer.BadParameter(str(error), param_hint=name) from None


@contextmanager
def metrics_directory(workers: int) -> Iterator[None]:
    """With several workers, a fresh directory where they share their metrics samples."""
    if workers == 1 or os.environ.get(metrics.MULTIPROCESS_ENV):
        yield
        return
    with tempfile.TemporaryDirectory(prefix="flowruns-metrics-") as directory:
        os.environ[metrics.MULTIPROCESS_ENV] = directory
        try:
            yield
        finally:
            del os.environ[metrics.MULTIPROCESS_ENV]


def server_app() -> Starlette:
    """The app of one server process, configured by the environment ``serve`` prepared."""
    served = create_app(Settings.from_env(), delivery_process=True)
    # What exists now (modules, the model, the routes, SQLAlchemy's metadata) lives as long as
    # the process. Frozen out of the collector's sight, it is no longer walked by every full
    # collection, which under load took a third of a second and stalled every request in
    # flight (docs/performance.md).
    gc.collect()
    gc.freeze()
    return served


def _ttl_seconds(text: str) -> int:
    match = _TTL.fullmatch(text.strip().lower())
    if match is None:
        raise typer.BadParameter("use a number of seconds or minutes/hours/days: 3600, 90m, 8h, 7d")
    seconds = int(match["amount"]) * _TTL_UNITS[match["unit"]]
    if not 0 < seconds <= MAX_TTL_SECONDS:
        raise typer.BadParameter("must be more than 0 and at most 366 days")
    return seconds


@app.command()
def token(
    tenant: Annotated[
        str, typer.Option(help="Tenant id (tid) the token acts in.")
    ] = DEFAULT_TENANT,
    scope: Annotated[
        list[str] | None,
        typer.Option(help="Delegated permission (repeatable); default: both ReadWrite.All."),
    ] = None,
    role: Annotated[
        list[str] | None, typer.Option(help="Application permission (repeatable), as 'roles'.")
    ] = None,
    ttl: Annotated[str, typer.Option(help="Lifetime: seconds, or 90m, 8h, 7d.")] = "1h",
    client: Annotated[
        str, typer.Option(help="Client id (appid) the token names.")
    ] = "flowruns-cli",
    data_dir: DataDir = None,
) -> None:
    """Print a token signed with the data directory's key (issuer flowruns-local)."""
    settings = Settings.from_env(data_dir=data_dir)
    if not is_guid(tenant):
        raise typer.BadParameter("the tenant id (tid) must be a GUID", param_hint="--tenant")
    scopes = list(scope or ([] if role else READ_WRITE_PERMISSIONS))
    unknown = sorted(set(scopes + list(role or [])) - ALL_PERMISSIONS)
    if unknown:
        raise typer.BadParameter(
            f"unknown permission {', '.join(unknown)}; known: {', '.join(sorted(ALL_PERMISSIONS))}"
        )
    try:
        minted = mint_token(
            settings.data_dir,
            tenant=tenant,
            scopes=scopes,
            roles=role or [],
            ttl_seconds=_ttl_seconds(ttl),
            client=client,
        )
    except NoSigningKey as missing:
        console.print(
            f"flowruns: {missing}. `flowruns token` signs with the key a server keeps in its data "
            "directory, and never makes one; name the server's data directory (it says "
            "'data: …' when it starts) with --data-dir DIR or FLOWRUNS_DATA_DIR.",
            style="red",
            markup=False,
        )
        raise typer.Exit(2) from None
    typer.echo(minted)


@demo_app.command("seed")
@uses_the_database
def demo_seed(
    runs: Annotated[int, typer.Option("--runs", min=0, help="How many runs to add.")] = 2000,
    tenant: Annotated[str, typer.Option(help="Tenant the data belongs to.")] = DEFAULT_TENANT,
    days: Annotated[int, typer.Option(min=1, help="Spread the runs over this many days.")] = 180,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same history).")] = 7,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Fill the store with realistic processes and runs."""
    settings = Settings.from_env(data_dir=data_dir, database_url=database_url)
    db = open_database(settings)
    started = time.perf_counter()
    result = seed_history(db, tenant, runs, days=days, seed=seed)
    db.dispose()
    console.print(
        f"Added {result.processes} processes and {result.runs} runs "
        f"({result.accesses} reads and writes of {result.datasets} datasets) "
        f"in {time.perf_counter() - started:.1f}s."
    )


def _engine(data_dir: Path | None, database_url: str | None) -> Engine:
    settings = Settings.from_env(data_dir=data_dir, database_url=database_url)
    return open_engine(settings.database_url, settings.data_dir)


@db_app.command("upgrade")
@uses_the_database
def db_upgrade(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Bring the database schema to the current revision (creating it in an empty database).

    Safe to run while servers run and from several places at once: they take turns."""
    engine = _engine(data_dir, database_url)
    try:
        before, after = migrations.upgrade(engine)
    finally:
        engine.dispose()
    if before.revision == after.revision:
        console.print(f"The database schema is already current ({after.revision}).")
    else:
        console.print(f"Upgraded the database schema from {before.describe()} to {after.revision}.")


@db_app.command("current")
@uses_the_database
def db_current(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Print the database's schema revision; exit 1 unless it is current."""
    engine = _engine(data_dir, database_url)
    try:
        with engine.connect() as connection:
            found = migrations.state(connection)
    finally:
        engine.dispose()
    typer.echo(found.describe())
    if not found.current:
        raise typer.Exit(1)


@db_app.command("copy")
@uses_the_database
def db_copy(
    to: Annotated[
        str, typer.Option("--to", help="URL of the database to copy into, e.g. postgresql://…")
    ],
    batch: Annotated[int, typer.Option(min=1, help="Rows per target transaction.")] = BATCH,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Copy this database's history into another one, then verify the counts.

    Every table of users' data is copied; the change log and subscriptions are not (see
    docs/operations.md). The target gets the current schema if it is empty. Stop the servers
    of the source first. Interrupted? Run the same command again: it resumes where the
    target's rows end.
    """
    settings = Settings.from_env(data_dir=data_dir, database_url=database_url)
    source = open_database(settings)
    target = Database(make_engine(to))
    try:
        if source.engine.url == target.engine.url:
            raise typer.BadParameter("the target is the source itself", param_hint="--to")
        with exits_when_unavailable(lambda: display_url(to)):
            migrations.upgrade(target.engine)
        console.print(f"Copying into {display_url(to)}")
        # Either side may fail mid-copy; the driver's message tells which.
        both = f"{source.engine.url.render_as_string(hide_password=True)} or {display_url(to)}"
        with exits_when_unavailable(lambda: both):
            results = transfer.copy_database(source, target, batch=batch, progress=_progress())
    except (transfer.ForeignRows, IntegrityError) as error:
        reason = error if isinstance(error, transfer.ForeignRows) else "rows conflict"
        console.print(f"[red]flowruns: the copy stopped: {reason}[/red]")
        raise typer.Exit(1) from None
    finally:
        source.dispose()
        target.dispose()
    for result in results:
        mark = "verified" if result.verified else "[red]MISMATCH[/red]"
        console.print(
            f"  {result.table}: {result.target_rows} rows in the target, {result.source_rows} "
            f"in the source ({result.copied} copied now) — {mark}"
        )
    if not all(r.verified for r in results):
        console.print(
            "[red]flowruns: the row counts differ; was the source written to during the copy, "
            "or did the target hold other rows?[/red]"
        )
        raise typer.Exit(1)
    console.print("Every row copied and counted.")


def _progress() -> Callable[[str, int], None]:
    """Reports a table's running total each time it passes another 100,000 rows."""
    reported: dict[str, int] = {}

    def report(table: str, rows: int) -> None:
        if rows // 100_000 > reported.get(table, 0):
            reported[table] = rows // 100_000
            console.print(f"  {table}: {rows} rows copied …")

    return report


def main() -> None:
    try:
        app()
    except (SchemaNotCurrent, UnsupportedDatabase, InvalidSetting) as error:
        # Escaped: the message may quote a value the user gave, brackets and all.
        console.print(f"[red]flowruns: {escape(str(error))}[/red]")
        raise SystemExit(2) from None
