"""Process health: what the evaluation costs, and what expectations cost the writes.

**The evaluation pass** (in process, on SQLite, with the server's own ``evaluate_due`` and a
clock of the benchmark's): a history of processes, each with an expectation (an hourly cron
schedule in Europe/Paris, a grace, a maximum duration, a duration anomaly factor, a success rule
and a failure streak) and one finished run an hour going back. Each round marks every process due
and times one pass, a quarter of a minute later each round; the first round judges the day of
expected starts since the expectations were written (reported apart), the others are the
steady state. Ratios of medians:

- 10,000 processes against 1,000 (ten runs each): at most 11x;
- 1,000 processes with 10^6 runs against the same with 10^5: at most 1.2x.

**Writes** (``flowruns serve`` on SQLite, ``wrk`` creating runs under 1,000 processes): creates
per second with no expectation, and with an expectation on every process (the server evaluating
them meanwhile), in alternating rounds; the ratio of the medians is at most 1.05.

    .venv/bin/python -m bench.health --rounds 5
    make bench BENCH_ARGS='--health --rounds 5'
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
from sqlalchemy import insert, update

from bench import wrk
from bench.servers import Server, free_port
from flowruns.api.app import open_database
from flowruns.edm.datetimes import TICKS_PER_SECOND, now_ticks
from flowruns.edm.industrydata import health_state, run_status
from flowruns.service import health
from flowruns.settings import DEFAULT_TENANT, Settings
from flowruns.store.database import Database
from flowruns.store.schema import expectations, processes, runs

HUB = "/beta/external/industryData"
HOUR = 3600 * TICKS_PER_SECOND
SECRET = "bench-health-token-secret-of-32-bytes-or-more"
PROCESSES_TARGET = 11.0
RUNS_TARGET = 1.2
WRITES_TARGET = 1.05
EXPECTATION = {
    "schedule": "0 * * * *",
    "timeZone": "Europe/Paris",
    "grace": "PT10M",
    "maxDuration": "PT2H",
    "durationAnomaly": 3.0,
    "successRule": "statistics/recordsFailed eq 0 and statistics/recordsProcessed gt 0",
    "failureStreak": 3,
    "owner": "bench",
    "tags": ["hourly"],
}
BATCH = 5000


@dataclass(frozen=True)
class History:
    processes: int
    runs_per_process: int

    @property
    def name(self) -> str:
        return f"{self.processes:,} processes x {self.runs_per_process:,} runs"


def _chunks(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == BATCH:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _seed(directory: Path, history: History, now: int) -> Database:
    """A data directory holding ``history``: processes, their hourly runs, their expectations."""
    db = open_database(Settings(data_dir=directory))
    ids = [str(uuid.uuid4()) for _ in range(history.processes)]
    completed = run_status.value_of("completed")

    def run_rows() -> Iterator[dict[str, Any]]:
        for process_id in ids:
            for hour in range(history.runs_per_process):
                start = now - (hour + 1) * HOUR + 60 * TICKS_PER_SECOND
                yield {
                    "tenant_id": DEFAULT_TENANT,
                    "id": str(uuid.uuid4()),
                    "type": "outgoingFlowRun",
                    "etag": secrets.token_hex(8),
                    "touched": start,
                    "process_id": process_id,
                    "display_name": "hourly export",
                    "start_date_time": start,
                    "end_date_time": start + 300 * TICKS_PER_SECOND,
                    "status": completed,
                    "statistics": {"recordsProcessed": 10, "recordsFailed": 0},
                }

    since = now - 24 * HOUR
    with db.engine.begin() as connection:
        connection.execute(
            insert(processes),
            [
                {
                    "tenant_id": DEFAULT_TENANT,
                    "id": process_id,
                    "type": "insightsOutgoingFlow",
                    "etag": secrets.token_hex(8),
                    "display_name": f"flow {n}",
                }
                for n, process_id in enumerate(ids)
            ],
        )
        for chunk in _chunks(run_rows()):
            connection.execute(insert(runs), chunk)
        connection.execute(
            insert(expectations),
            [
                {
                    "tenant_id": DEFAULT_TENANT,
                    "id": process_id,
                    "type": "expectation",
                    "etag": secrets.token_hex(8),
                    "schedule": EXPECTATION["schedule"],
                    "time_zone": EXPECTATION["timeZone"],
                    "grace": EXPECTATION["grace"],
                    "max_duration": EXPECTATION["maxDuration"],
                    "duration_anomaly": EXPECTATION["durationAnomaly"],
                    "success_rule": EXPECTATION["successRule"],
                    "failure_streak": EXPECTATION["failureStreak"],
                    "owner": EXPECTATION["owner"],
                    "tags": EXPECTATION["tags"],
                    "last_modified_date_time": since,
                    "state": health_state.value_of("unknown"),
                    "changed_date_time": since,
                    "since": since,
                    "judged": since,
                    "due": 0,
                }
                for process_id in ids
            ],
        )
    return db


def _passes(db: Database, now: int, rounds: int) -> list[float]:
    """Seconds of one pass over every process, ``rounds`` times, 15 s apart."""
    times = []
    for number in range(rounds):
        with db.engine.begin() as connection:
            connection.execute(update(expectations).values(due=0))
        moment = now + number * 15 * TICKS_PER_SECOND
        started = time.perf_counter()
        done = health.evaluate_due(db, now=functools.partial(int, moment))
        times.append(time.perf_counter() - started)
        assert done > 0
    return times


def evaluation(rounds: int, work: Path) -> dict[str, Any]:
    now = now_ticks()
    found: dict[str, Any] = {}
    for history in (
        History(1000, 10),
        History(10_000, 10),
        History(1000, 100),
        History(1000, 1000),
    ):
        started = time.perf_counter()
        db = _seed(work / f"{history.processes}-{history.runs_per_process}", history, now)
        seeded = time.perf_counter() - started
        times = _passes(db, now, rounds + 1)
        db.dispose()
        found[history.name] = {
            "seed_s": round(seeded, 1),
            "catch_up_s": round(times[0], 3),
            "pass_s": [round(t, 3) for t in times[1:]],
            "median_s": round(statistics.median(times[1:]), 3),
        }
        print(history.name, json.dumps(found[history.name]), file=sys.stderr)
    return found


def _token() -> str:
    now = int(time.time())
    claims = {
        "iss": "flowruns-local",
        "aud": "api://flowruns",
        "tid": DEFAULT_TENANT,
        "appid": "bench",
        "scp": "IndustryData-Run.ReadWrite.All IndustryData-OutboundFlow.ReadWrite.All",
        "iat": now,
        "nbf": now,
        "exp": now + 6 * 3600,
    }
    return jwt.encode(claims, SECRET, algorithm="HS256")


def writes(rounds: int, seconds: float, work: Path, processes_count: int = 1000) -> dict[str, Any]:
    port = free_port()
    env = {
        "FLOWRUNS_JWT_SECRET": SECRET,
        "FLOWRUNS_RATE_LIMIT": "1000000",
        "FLOWRUNS_RATE_BURST": "1000000",
    }
    command = [sys.executable, "-m", "flowruns", "serve", "--port", str(port)]
    command += ["--data-dir", str(work / "writes")]
    server = Server("flowruns", command, port, "/healthz", work / "server.log", env)
    base = server.base
    token = _token()
    headers = {"Authorization": f"Bearer {token}"}
    found: dict[str, list[float]] = {"without": [], "with": []}
    try:
        server.start()
        with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
            ids = []
            for n in range(processes_count):
                body = {"@odata.type": "#microsoft.graph.industryData.insightsOutgoingFlow"}
                created = http.post(f"{HUB}/processes", json={**body, "displayName": f"p{n}"})
                ids.append(created.json()["id"])
            request = wrk.Request(
                "POST",
                f"{base}{HUB}/processes/{ids[0]}/runs",
                (("Authorization", f"Bearer {token}"), ("Content-Type", "application/json")),
                json.dumps({"displayName": "bench run"}),
                tuple(f"{HUB}/processes/{i}/runs" for i in ids),
            )
            script = str(work / "create.lua")
            wrk.run(request, script, seconds=2, connections=8)  # warm up
            for number in range(rounds):
                for mode in ("without", "with") if number % 2 == 0 else ("with", "without"):
                    for process_id in ids:
                        path = f"{HUB}/processes/{process_id}/expectation"
                        if mode == "with":
                            http.put(path, json=EXPECTATION).raise_for_status()
                        else:
                            http.delete(path)
                    sample = wrk.run(request, script, seconds=seconds, connections=8)
                    found[mode].append(round(sample.requests_per_s, 1))
                print(f"round {number + 1}: {json.dumps(found)}", file=sys.stderr)
    finally:
        server.stop()
    return found


def _report(passes: dict[str, Any], creates: dict[str, list[float]]) -> None:
    def median(name: str) -> float:
        return float(passes[name]["median_s"])

    print("| History | Pass (median, s) | First pass, a day to judge (s) |")
    print("|---|---|---|")
    for name, figures in passes.items():
        print(f"| {name} | {figures['median_s']} | {figures['catch_up_s']} |")
    processes_ratio = median("10,000 processes x 10 runs") / median("1,000 processes x 10 runs")
    runs_ratio = median("1,000 processes x 1,000 runs") / median("1,000 processes x 100 runs")
    without, with_ = statistics.median(creates["without"]), statistics.median(creates["with"])
    writes_ratio = without / with_
    print()
    print("| Ratio | Measured | Target | Met |")
    print("|---|---|---|---|")
    for name, value, target in (
        ("pass over 10,000 processes / 1,000", processes_ratio, PROCESSES_TARGET),
        ("pass at 10^6 runs / 10^5", runs_ratio, RUNS_TARGET),
        ("creates/s without expectations / with", writes_ratio, WRITES_TARGET),
    ):
        print(f"| {name} | {value:.2f} | ≤ {target} | {'yes' if value <= target else 'no'} |")
    print()
    print(f"creates/s without: {creates['without']}; with: {creates['with']}")


def run(rounds: int, seconds: float) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-health-"))
    passes = evaluation(rounds, work)
    creates = writes(rounds, seconds, work)
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    _report(passes, creates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of one wrk run")
    args = parser.parse_args()
    run(args.rounds, args.seconds)


if __name__ == "__main__":
    main()
