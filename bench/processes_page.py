"""The dashboard's Processes page: what its requests cost at 10,000 processes and 10^6 runs.

A history of 10,000 processes, each with an expectation (bench/health.py's) and 100 finished
runs, is evaluated once (so every process has a health), then served by ``flowruns serve`` on
SQLite. One request at a time, in interleaved rounds, it times the requests a view of the
Processes page makes (docs/dashboard.md#processes): a view of the page is one request, the first
page (25 processes, worst health first, with their expectation, health, latest 20 runs and open
incidents expanded, and the count); also the same page filtered by health and sorted by name, the
second page, and the owners the Owner field suggests once it is used. The reference is one
filtered first page of runs as the Runs page asks it (one process's runs, 50, with the count and
the process expanded). Target: the page view costs at most 5x the reference, ratio of medians.

    .venv/bin/python -m bench.processes_page --rounds 7
    make bench BENCH_ARGS='--processes-page --rounds 7'
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import httpx

from bench.health import SECRET, History, _seed, _token
from bench.servers import Server, free_port
from flowruns.edm.datetimes import now_ticks
from flowruns.service import health

HUB = "/beta/external/industryData"
TARGET = 5.0
HISTORY = History(10_000, 100)
EXPAND = (
    "expectation($select=owner,tags),health,"
    "runs($top=20;$select=id,displayName,status,startDateTime,endDateTime),"
    "incidents($filter=resolvedDateTime eq null;$select=id,kind,message,openedDateTime)"
)


def _url(path: str, **options: str) -> str:
    query = "&".join(f"{name}={quote(value, safe='')}" for name, value in options.items())
    return f"{HUB}/{path}?{query}"


def _page(orderby: str, filter_: str = "") -> str:
    options = {"$select": "id,displayName"}
    if filter_:
        options["$filter"] = filter_
    options |= {"$orderby": orderby, "$expand": EXPAND, "$top": "25", "$count": "true"}
    return _url("processes", **options)


WORST_FIRST = _page("health/state desc,displayName asc,id asc")
OWNERS = _url("processes", **{"$apply": "groupby((expectation/owner))"})
BY_HEALTH = _page("health/state desc,displayName asc,id asc", "health/state eq 'healthy'")
BY_NAME = _page("displayName asc,id asc")


def _runs_page(process_id: str) -> str:
    return _url(
        "runs",
        **{
            "$filter": f"process/id eq '{process_id}'",
            "$top": "50",
            "$count": "true",
            "$expand": "process($select=id,displayName)",
        },
    )


def _time(http: httpx.Client, url: str) -> float:
    started = time.perf_counter()
    response = http.get(url)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed


def run(rounds: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-processes-page-"))
    now = now_ticks()
    started = time.perf_counter()
    db = _seed(work / "data", HISTORY, now)
    health.evaluate_due(db, now=functools.partial(int, now))
    print(f"seeded and evaluated {HISTORY.name} in {time.perf_counter() - started:.0f} s")
    db.dispose()
    port = free_port()
    env = {"FLOWRUNS_JWT_SECRET": SECRET, "FLOWRUNS_HEALTH_EVALUATION": "off"}
    command = [sys.executable, "-m", "flowruns", "serve", "--port", str(port)]
    command += ["--data-dir", str(work / "data")]
    server = Server("flowruns", command, port, "/healthz", work / "server.log", env)
    base = server.base
    found: dict[str, list[float]] = {}
    try:
        server.start()
        headers = {"Authorization": f"Bearer {_token()}"}
        with httpx.Client(base_url=base, headers=headers, timeout=60) as http:
            first = http.get(WORST_FIRST).json()
            assert first["@odata.count"] == HISTORY.processes, first.get("@odata.count")
            second = first["@odata.nextLink"]
            process_id = first["value"][0]["id"]
            urls = {
                "runs: one process's first page (reference)": _runs_page(process_id),
                "processes: first page, worst first": WORST_FIRST,
                "processes: owners (when the Owner field is first used)": OWNERS,
                "processes: first page, healthy only": BY_HEALTH,
                "processes: first page, by name": BY_NAME,
                "processes: second page (nextLink)": second,
            }
            for url in urls.values():  # warm up
                _time(http, url)
            for _ in range(rounds):
                for name, url in urls.items():
                    found.setdefault(name, []).append(_time(http, url))
    finally:
        server.stop()
    medians = {name: statistics.median(times) * 1000 for name, times in found.items()}
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"| Request ({HISTORY.name}) | Median (ms) |")
    print("|---|---|")
    for name, value in medians.items():
        print(f"| {name} | {value:.1f} |")
    reference = medians["runs: one process's first page (reference)"]
    ratio = medians["processes: first page, worst first"] / reference
    print()
    print(
        f"Processes page view (its first page) / reference: {ratio:.2f} "
        f"(target ≤ {TARGET}; {'met' if ratio <= TARGET else 'not met'})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    run(args.rounds)


if __name__ == "__main__":
    main()
