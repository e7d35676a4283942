"""Seeded histories, cached between benchmark runs under ``bench/.data`` (not in git).

A history is seeded once per engine and size with ``flowruns demo seed``. Every benchmark run
works on a fresh copy, because its write scenarios add and change runs.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

CACHE = Path(__file__).resolve().parent / ".data"
SEED = 7  # same seed, same history: cached copies stay comparable between runs


@dataclass(frozen=True)
class Dataset:
    """Where a working copy of a seeded history lives, as ``flowruns`` options."""

    size: int
    options: tuple[str, ...]
    env: dict[str, str]  # the same place for processes configured by environment
    seed_seconds: float | None  # None: taken from the cache


def sqlite_history(size: int, work: Path) -> Dataset:
    """A working copy of the cached SQLite history of ``size`` runs (seeded if missing)."""
    cached = CACHE / "sqlite" / str(size)
    seed_seconds = None
    if not (cached / "complete").exists():
        shutil.rmtree(cached, ignore_errors=True)
        cached.mkdir(parents=True)
        started = time.perf_counter()
        _flowruns("demo", "seed", "--runs", str(size), "--seed", str(SEED), "--data-dir", cached)
        seed_seconds = time.perf_counter() - started
        # Fold the WAL into the main file so that one file is the whole history.
        with sqlite3.connect(cached / "flowruns.db") as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        (cached / "complete").write_text(f"{seed_seconds:.1f}\n")
    data_dir = work / f"sqlite-{size}"
    data_dir.mkdir(parents=True)
    shutil.copy(cached / "flowruns.db", data_dir / "flowruns.db")
    return Dataset(
        size, ("--data-dir", str(data_dir)), {"FLOWRUNS_DATA_DIR": str(data_dir)}, seed_seconds
    )


def sqlite_file(dataset: Dataset) -> Path:
    """The database file of a SQLite working copy."""
    return Path(dataset.options[1]) / "flowruns.db"


def _flowruns(*args: str | Path) -> None:
    subprocess.run([sys.executable, "-m", "flowruns", *map(str, args)], check=True)
