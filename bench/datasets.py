"""Seeded histories, cached between benchmark runs, and the working copies a run changes.

A history is seeded once per engine and size with ``flowruns demo seed`` (same seed, same
history) and kept: SQLite files under ``bench/.data`` (not in git), PostgreSQL databases named
``flowruns_bench_<size>``. Every benchmark run works on a fresh copy, because its write
scenarios add and change runs: a file copy, or ``CREATE DATABASE … TEMPLATE``.

With a baseline (another commit, :mod:`bench.baseline`) the history is seeded by the build with
the older schema, cached under that build's commit, and each contender upgrades its own copy with
its own code.
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

from bench.builds import CURRENT, Build

CACHE = Path(__file__).resolve().parent / ".data"
SEED = 7


@dataclass(frozen=True)
class Dataset:
    """A working copy of a seeded history, as ``flowruns`` options and environment."""

    size: int
    data_dir: Path  # the server's secret and token key live here on either engine
    database_url: str | None  # None: SQLite in data_dir
    seed_seconds: float | None  # None: taken from the cache
    build: Build = CURRENT  # the flowruns whose schema the copy is at, and which serves it

    @property
    def options(self) -> tuple[str, ...]:
        url = ("--database-url", self.database_url) if self.database_url else ()
        return ("--data-dir", str(self.data_dir), *url)

    @property
    def env(self) -> dict[str, str]:
        url = {"FLOWRUNS_DATABASE_URL": self.database_url} if self.database_url else {}
        return {"FLOWRUNS_DATA_DIR": str(self.data_dir), **url}


def sqlite_cached(size: int, seeder: Build = CURRENT) -> tuple[Path, float | None]:
    """The cached SQLite history of ``size`` runs, seeded first if missing, and its seed time.

    A history this checkout seeded under an older schema revision is upgraded in place, once;
    one seeded by another commit stays at that commit's schema.
    """
    cached = CACHE / "sqlite" / f"{size}{seeder.suffix}"
    if (cached / "complete").exists():
        if seeder.sha is None:
            seeder.run("db", "upgrade", "--data-dir", cached)
            _checkpoint(cached / "flowruns.db")
        return cached / "flowruns.db", None
    shutil.rmtree(cached, ignore_errors=True)
    cached.mkdir(parents=True)
    started = time.perf_counter()
    seeder.run("demo", "seed", "--runs", str(size), "--seed", str(SEED), "--data-dir", cached)
    seconds = time.perf_counter() - started
    _checkpoint(cached / "flowruns.db")
    (cached / "complete").write_text(f"{seconds:.1f}\n")
    return cached / "flowruns.db", seconds


def sqlite_history(
    size: int, work: Path, seeder: Build = CURRENT, build: Build = CURRENT
) -> Dataset:
    """A working copy, for ``build``, of the SQLite history of ``size`` runs ``seeder`` made."""
    cached, seconds = sqlite_cached(size, seeder)
    data_dir = work / f"sqlite-{size}{build.suffix}"
    data_dir.mkdir(parents=True)
    shutil.copy(cached, data_dir / "flowruns.db")
    if build != seeder:
        build.run("db", "upgrade", "--data-dir", data_dir)
    return Dataset(size, data_dir, None, seconds, build)


def _checkpoint(path: Path) -> None:
    # Fold the WAL into the main file so that one file is the whole history.
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def postgresql_history(
    size: int, work: Path, server_url: str, seeder: Build = CURRENT, build: Build = CURRENT
) -> Dataset:
    """A working database, for ``build``, copied from the cached PostgreSQL history of ``size``
    runs that ``seeder`` made."""
    server = make_url(server_url)
    admin = create_engine(
        server.set(drivername="postgresql+psycopg", database="postgres"),
        isolation_level="AUTOCOMMIT",
    )
    template = f"flowruns_bench_{size}{_identifier(seeder.suffix)}"
    working = f"flowruns_bench_{size}_run{_identifier(build.suffix)}"
    marker = CACHE / "postgresql" / f"{size}{seeder.suffix}"
    seconds = None
    try:
        with admin.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": template}
            ).first()
            url = server.set(database=template).render_as_string(hide_password=False)
            if exists is not None and marker.exists():
                if seeder.sha is None:
                    seeder.run("db", "upgrade", "--database-url", url)
            else:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)'))
                connection.execute(text(f'CREATE DATABASE "{template}"'))
                started = time.perf_counter()
                seeder.run(
                    "demo", "seed", "--runs", str(size), "--seed", str(SEED), "--database-url", url
                )
                seconds = time.perf_counter() - started
                marker.parent.mkdir(parents=True, exist_ok=True)
                marker.write_text(f"{seconds:.1f}\n")
            connection.execute(text(f'DROP DATABASE IF EXISTS "{working}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{working}" TEMPLATE "{template}"'))
    finally:
        admin.dispose()
    data_dir = work / f"postgresql-{size}{build.suffix}"
    data_dir.mkdir(parents=True)
    url = server.set(database=working).render_as_string(hide_password=False)
    if build != seeder:
        # A server on a database URL refuses an older schema rather than upgrading it.
        build.run("db", "upgrade", "--database-url", url)
    return Dataset(size, data_dir, url, seconds, build)


def _identifier(suffix: str) -> str:
    return suffix.replace("-", "_")
