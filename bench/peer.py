"""The peer: a Prefect server on its own SQLite, holding the same history as flowruns.

Prefect goes into its own virtualenv (``bench/.venv-prefect``, version pinned) so that it never
mixes with flowruns' dependencies. Its database is created by Prefect itself (migrations run on
the first start), then the flowruns history is copied straight into its tables: each process
becomes a flow, each run a flow run with its state, the run type a tag.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.datasets import CACHE
from bench.scenarios import PAGE_SIZE
from bench.servers import Server, free_port
from flowruns.edm.datetimes import TICKS_PER_SECOND
from flowruns.edm.industrydata import run_status

PREFECT_VERSION = "3.9.1"
VENV = Path(__file__).resolve().parent / ".venv-prefect"


_EPOCH = datetime(1970, 1, 1)
_STATES = {  # flowruns status -> Prefect state (type, name)
    "running": ("RUNNING", "Running"),
    "completed": ("COMPLETED", "Completed"),
    "completedWithWarnings": ("COMPLETED", "Completed"),
    "completedWithErrors": ("COMPLETED", "Completed"),
    "failed": ("FAILED", "Failed"),
}


def filter_body(run_type: str, status: str) -> str:
    """``POST /api/flow_runs/filter``: one state type and one tag, newest start first, a page."""
    state_type = _STATES[status][0]
    return json.dumps(
        {
            "flow_runs": {
                "state": {"type": {"any_": [state_type]}},
                "tags": {"all_": [run_type]},
            },
            "sort": "START_TIME_DESC",
            "limit": PAGE_SIZE,
        }
    )


def ensure_prefect() -> Path:
    """The ``prefect`` executable, installing the pinned version into its virtualenv if needed."""
    prefect = VENV / "bin" / "prefect"
    marker = VENV / f"prefect-{PREFECT_VERSION}"
    if not marker.exists():
        print(f"Installing prefect=={PREFECT_VERSION} into {VENV} (once)", flush=True)
        shutil.rmtree(VENV, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(VENV / "bin" / "pip"), "install", "--quiet", f"prefect=={PREFECT_VERSION}"],
            check=True,
        )
        marker.touch()
    return prefect


def server(home: Path, log: Path, workers: int) -> Server:
    """A Prefect API server (no UI, no background services) on ``home``'s database."""
    port = free_port()
    command = [str(ensure_prefect()), "server", "start", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--no-services", "--no-ui", "--workers", str(workers)]
    env = {"PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    return Server("prefect", command, port, "/api/health", log, env)


def prefect_history(flowruns_db: Path, size: int, logs: Path) -> Path:
    """The cached Prefect home holding the history of ``flowruns_db`` (built if missing)."""
    home = CACHE / "prefect" / str(size)
    if (home / "complete").exists():
        return home
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    first = server(home, logs / "prefect-migrate.log", workers=1)
    first.start()  # creates and migrates prefect.db
    first.stop()
    target, source = sqlite3.connect(home / "prefect.db"), sqlite3.connect(flowruns_db)
    try:
        with target:
            _copy_history(source, target)
        target.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        target.close()
        source.close()
    (home / "complete").touch()
    return home


def _stamp(ticks: int) -> str:
    moment = _EPOCH + timedelta(microseconds=ticks // (TICKS_PER_SECOND // 1_000_000))
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def _copy_history(source: sqlite3.Connection, target: sqlite3.Connection) -> None:
    flows = {
        pid: (str(uuid.uuid4()), name)
        for pid, name in source.execute("SELECT id, display_name FROM processes")
    }
    flows[None] = (str(uuid.uuid4()), "run groups")
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    target.executemany(
        "INSERT INTO flow (id, created, updated, name, tags, labels)"
        " VALUES (?, ?, ?, ?, '[]', '{}')",
        [(fid, now, now, name) for fid, name in flows.values()],
    )
    rows = source.execute(
        "SELECT process_id, type, display_name, status, start_date_time, end_date_time FROM runs"
    )
    runs, states = [], []
    for run, state in _prefect_rows(rows, flows, now):
        runs.append(run)
        states.append(state)
        if len(runs) >= 20_000:
            _insert(target, runs, states)
            runs, states = [], []
    _insert(target, runs, states)


def _prefect_rows(
    rows: Iterator[tuple[str | None, str, str, int, int, int | None]],
    flows: dict[str | None, tuple[str, str]],
    now: str,
) -> Iterator[tuple[tuple[object, ...], tuple[object, ...]]]:
    for process_id, run_type, name, status, start, end in rows:
        run_id, state_id = str(uuid.uuid4()), str(uuid.uuid4())
        state_type, state_name = _STATES[run_status.members[status]]
        started, ended = _stamp(start), None if end is None else _stamp(end)
        total = _stamp(end - start) if end is not None else _stamp(0)
        flow_id = flows[process_id][0]
        labels = json.dumps({"prefect.flow.id": flow_id})
        yield (
            (
                run_id,
                now,
                now,
                name,
                state_type,
                1,
                started,
                started,
                ended,
                total,
                json.dumps([run_type]),
                flow_id,
                state_id,
                state_name,
                ended or started,
                labels,
            ),
            (
                state_id,
                now,
                now,
                state_type,
                ended or started,
                state_name,
                json.dumps({"flow_run_id": run_id}),
                run_id,
            ),
        )


def _insert(
    target: sqlite3.Connection, runs: list[tuple[object, ...]], states: list[tuple[object, ...]]
) -> None:
    target.executemany(
        "INSERT INTO flow_run (id, created, updated, name, state_type, run_count,"
        " expected_start_time, start_time, end_time, total_run_time, tags, flow_id, state_id,"
        " state_name, state_timestamp, labels) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
        " ?, ?, ?)",
        runs,
    )
    target.executemany(
        "INSERT INTO flow_run_state (id, created, updated, type, timestamp, name,"
        " state_details, flow_run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        states,
    )
