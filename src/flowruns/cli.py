"""The ``flowruns`` command."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.console import Console
from sqlalchemy import Engine
from starlette.applications import Starlette

from flowruns import logs
from flowruns.api import metrics
from flowruns.api.app import create_app, open_database
from flowruns.demo import seed as seed_history
from flowruns.settings import DEFAULT_TENANT, Settings
from flowruns.store import migrations
from flowruns.store.database import UnsupportedDatabase, display_url, make_engine, sqlite_url
from flowruns.store.migrations import SchemaNotCurrent

app = typer.Typer(help="Record and inspect data-flow runs.", no_args_is_help=True)
demo_app = typer.Typer(help="Demo data.", no_args_is_help=True)
app.add_typer(demo_app, name="demo")
db_app = typer.Typer(help="The database: its schema revision and upgrades.", no_args_is_help=True)
app.add_typer(db_app, name="db")
console = Console(stderr=True)

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Data directory (default ./.flowruns, or FLOWRUNS_DATA_DIR)."),
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help="Database URL (default: SQLite in the data directory)."),
]


# Seconds a stopping server waits for requests in flight before it closes their connections.
SHUTDOWN_GRACE_SECONDS = 30


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="Server processes sharing the port (one per core).")
    ] = 1,
    log_format: Annotated[
        str, typer.Option(help="Log lines as 'text' or 'json' (one object per line).")
    ] = "text",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Start the flowruns server (service root at /beta).

    SIGTERM or Ctrl-C stops taking new connections and finishes the requests in flight first.
    """
    if log_format not in logs.FORMATS:
        raise typer.BadParameter(f"use one of {', '.join(logs.FORMATS)}", param_hint="--log-format")
    settings = Settings.from_env(data_dir=data_dir, database_url=database_url, host=host, port=port)
    # Check (or, for the data directory, upgrade) the schema once, before any worker starts.
    open_database(settings).dispose()
    settings.secret()  # made here, once, rather than raced for by the workers
    # Each worker process builds its app from the environment (see server_app).
    os.environ.update(settings.environment())
    where = display_url(settings.database_url) if settings.database_url else settings.data_dir
    console.print(
        f"flowruns serving http://{settings.host}:{settings.port}/beta "
        f"with {workers} worker{'s' if workers > 1 else ''} (data: {where})"
    )
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
        )


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
    return create_app(Settings.from_env())


@demo_app.command("seed")
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
        f"in {time.perf_counter() - started:.1f}s."
    )


def _engine(data_dir: Path | None, database_url: str | None) -> Engine:
    settings = Settings.from_env(data_dir=data_dir, database_url=database_url)
    if settings.database_url:
        return make_engine(settings.database_url)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return make_engine(sqlite_url(settings.data_dir))


@db_app.command("upgrade")
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


def main() -> None:
    try:
        app()
    except SchemaNotCurrent as error:
        console.print(f"[red]flowruns: {error}[/red]")
        raise SystemExit(2) from None
    except UnsupportedDatabase as error:
        console.print(f"[red]flowruns: {error}[/red]")
        raise SystemExit(2) from None
