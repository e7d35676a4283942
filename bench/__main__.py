"""``make bench``: flowruns, the bare Starlette ceilings and Prefect, side by side on loopback.

For each history size it starts one ``flowruns serve`` and one ceiling server (same uvicorn,
same number of workers), plus one Prefect server for the peer size, then loads every scenario
with ``wrk`` for a fixed time, round after round, so that the noise of a shared machine falls
on all contenders alike. The report gives medians over rounds; ratios are taken within a round.

    .venv/bin/python -m bench --sizes 10000 100000 1000000
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench import auth, peer
from bench.datasets import CACHE, Dataset, postgresql_history, sqlite_cached, sqlite_history
from bench.report import LABELS, Key, Results, table, targets
from bench.scenarios import (
    CEILING_SCENARIOS,
    RUN_TYPE,
    STATUS,
    Targets,
    ceiling_requests,
    discover,
    flowruns_requests,
    overview_requests,
)
from bench.servers import Server, cpu_seconds, free_port
from bench.wrk import Request, Sample, WrkMissing, run, wrk_path

REPO = Path(__file__).resolve().parents[1]


def _flowruns_server(dataset: Dataset, work: Path, workers: int) -> Server:
    port = free_port()
    command = [sys.executable, "-m", "flowruns", "serve", "--port", str(port), *dataset.options]
    if workers > 1:
        command += ["--workers", str(workers)]
    log = work / f"flowruns-{dataset.size}.log"
    # The rate limit stays on (its cost is measured) but high enough never to refuse the load.
    env = {"FLOWRUNS_RATE_LIMIT": "1000000", "FLOWRUNS_RATE_BURST": "1000000"}
    return Server(f"flowruns {dataset.size:,}", command, port, "/healthz", log, env)


def _ceiling_server(dataset: Dataset, targets: Targets, work: Path, workers: int) -> Server:
    page = work / f"page-{dataset.size}.json"
    page.write_bytes(targets.page)
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "--factory", "bench.ceiling:create_app"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    command += ["--no-server-header", "--no-access-log", "--log-level", "warning"]
    env = {
        "BENCH_PAGE": str(page),
        "BENCH_PAGE_TYPE": targets.page_type,
        "BENCH_PROCESS_IDS": ",".join(targets.process_ids),
        "PYTHONPATH": str(REPO),
        **dataset.env,
    }
    log = work / f"ceiling-{dataset.size}.log"
    return Server(f"ceiling {dataset.size:,}", command, port, "/healthz", log, env)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--postgres-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="server for --engine postgresql (the account creates databases)",
    )
    parser.add_argument("--workers", type=int, default=1, help="per server, for every contender")
    parser.add_argument("--seconds", type=float, default=5, help="length of one wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved repetitions")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--peer-size", type=int, default=100_000, help="0: no Prefect")
    parser.add_argument(
        "--scenarios",
        nargs="+",
        choices=[name for name in LABELS if name != "peer"],
        help="only these flowruns and ceiling scenarios (default: all)",
    )
    args = parser.parse_args()
    try:
        wrk_path()
    except WrkMissing as error:
        sys.exit(str(error))
    if args.peer_size and args.peer_size not in args.sizes:
        sys.exit("--peer-size must be one of --sizes (the peer holds the same history)")

    started = time.monotonic()
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-", dir=CACHE) as tmp:
        work = Path(tmp)
        servers: list[Server] = []
        try:
            results = _measure(args, work, servers)
        finally:
            for server in servers:
                server.stop()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = CACHE / f"results-{stamp}"
    text = "\n".join([table(results), "", *targets(results, args.sizes)])
    out.with_suffix(".md").write_text(text + "\n")
    raw = {
        "rounds": [{f"{k[0]}/{k[1]}": asdict(s) for k, s in r.items()} for r in results.rounds],
        "rss_mb": {f"{k[0]}/{k[1]}": v for k, v in results.rss_mb.items()},
        "args": vars(args),
    }
    out.with_suffix(".json").write_text(json.dumps(raw, indent=1))
    print(text)
    print(f"\n{time.monotonic() - started:.0f}s; results in {out}.md and .json")


def _measure(args: argparse.Namespace, work: Path, servers: list[Server]) -> Results:
    requests: dict[Key, Request] = {}
    owner: dict[Key, Server] = {}
    for size in args.sizes:
        if args.engine == "postgresql":
            dataset = postgresql_history(size, work, args.postgres_url)
        else:
            dataset = sqlite_history(size, work)
        seeded = (
            "cached" if dataset.seed_seconds is None else f"seeded in {dataset.seed_seconds:.0f}s"
        )
        print(f"{size:,} runs on {args.engine}: {seeded}", flush=True)
        server = _flowruns_server(dataset, work, args.workers)
        servers.append(server)
        server.start()
        headers = auth.headers(server, dataset)
        print(f"  auth: {'bearer token from flowruns token' if headers else 'none'}", flush=True)
        with httpx.Client(timeout=120, headers=dict(headers)) as client:
            found = discover(client, server.base)
        query = "status and type" if found.filtered else "type only (no $filter on this server)"
        print(f"  list query: {found.list_url} [{query}]", flush=True)
        ours = flowruns_requests(found, server.base, headers)
        ours |= overview_requests(server.base, headers)
        for name, request in ours.items():
            if args.scenarios is None or name in args.scenarios:
                requests[size, name] = request
                owner[size, name] = server
        if args.scenarios is None or set(args.scenarios) & set(CEILING_SCENARIOS):
            ceiling = _ceiling_server(dataset, found, work, args.workers)
            servers.append(ceiling)
            ceiling.start()
            for name, request in ceiling_requests(ceiling.base, found.run_id).items():
                if args.scenarios is None or name in args.scenarios:
                    requests[size, name] = request
                    owner[size, name] = ceiling
        if size == args.peer_size:
            home = peer.prefect_history(sqlite_cached(size)[0], size, work)
            prefect = peer.server(home, work / "prefect.log", args.workers)
            servers.append(prefect)
            prefect.start()
            body = peer.filter_body(RUN_TYPE, STATUS)
            url = f"{prefect.base}/api/flow_runs/filter"
            requests[size, "peer"] = Request(
                "POST", url, (("Content-Type", "application/json"),), body
            )
            owner[size, "peer"] = prefect

    script = str(work / "wrk.lua")
    print("warming up", flush=True)
    for request in requests.values():
        run(request, script, seconds=1, connections=args.connections)
    rounds: list[dict[Key, Sample]] = []
    for number in range(args.rounds):
        samples: dict[Key, Sample] = {}
        for key, request in requests.items():
            pids = owner[key].pids()
            before = cpu_seconds(pids)
            sample = run(request, script, seconds=args.seconds, connections=args.connections)
            cpu_ms = (cpu_seconds(pids) - before) * 1000 / max(sample.requests, 1)
            samples[key] = replace(sample, server_cpu_ms=cpu_ms)
            print(
                f"  round {number + 1} {key[0]:>9,} {LABELS[key[1]]:<38}"
                f" {samples[key].requests_per_s:8,.0f} req/s  p50 {samples[key].p50_ms:7.2f} ms"
                f"  cpu {samples[key].server_cpu_ms:6.3f} ms/req"
                + (f"  {sample.failures} FAILED" if sample.failures else ""),
                flush=True,
            )
        rounds.append(samples)
    rss = {key: server.peak_rss_mb() for key, server in owner.items()}
    return Results(rounds, rss, args.peer_size or None)


if __name__ == "__main__":
    main()
