"""``make bench``: flowruns, the bare Starlette ceilings and Prefect, side by side on loopback.

For each history size it starts one ``flowruns serve`` and one ceiling server (same uvicorn,
same number of workers), plus one Prefect server for the peer size, then loads every scenario
with ``wrk`` for a fixed time, round after round, so that the noise of a shared machine falls
on all contenders alike. The report gives medians over rounds; ratios are taken within a round.
With ``--baseline REF`` another commit of flowruns serves its own copy of each history beside
this checkout, and each flowruns scenario loads both, one after the other, in every round.

    .venv/bin/python -m bench --sizes 10000 100000 1000000
    .venv/bin/python -m bench --baseline main --sizes 10000
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench import auth, health, notifications, peer, processes_page, write_ceiling
from bench.baseline import BaselineError, describe_current
from bench.baseline import build as build_baseline
from bench.builds import CURRENT, Build, seeder
from bench.datasets import CACHE, Dataset, postgresql_history, sqlite_cached, sqlite_history
from bench.report import LABELS, Key, Results, scaling_table, table, targets, versus
from bench.scenarios import (
    CEILING_SCENARIOS,
    FAIR_SCENARIOS,
    LINEAGE_SCENARIOS,
    RUN_TYPE,
    STATUS,
    Targets,
    ceiling_requests,
    compression_requests,
    delta_requests,
    discover,
    fair_requests,
    flowruns_requests,
    latest_delta_link,
    lineage_requests,
    overview_requests,
    shape_requests,
)
from bench.servers import Server, cpu_seconds, free_port
from bench.wrk import Request, Sample, WrkMissing, run, wrk_path

REPO = Path(__file__).resolve().parents[1]
# The largest history the default scenarios include 12a on (it reads every run; name it with
# --scenarios to load it on any size).
SCAN_LIMIT = 100_000


@dataclass(frozen=True)
class Load:
    """One scenario's request and the server that answers it."""

    request: Request
    server: Server


def _flowruns_server(dataset: Dataset, work: Path, workers: int) -> Server:
    build = dataset.build
    port = free_port()
    command = build.command("serve", "--port", str(port), *dataset.options)
    if workers > 1:
        command += ["--workers", str(workers)]
    log = work / f"flowruns-{dataset.size}{build.suffix}.log"
    # The rate limit stays on (its cost is measured) but high enough never to refuse the load.
    env = {"FLOWRUNS_RATE_LIMIT": "1000000", "FLOWRUNS_RATE_BURST": "1000000", **build.env}
    name = "flowruns" if build.sha is None else f"flowruns@{build.label}"
    return Server(f"{name} {dataset.size:,}", command, port, "/healthz", log, env)


def _fair_server(dataset: Dataset, work: Path, workers: int) -> Server:
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "--factory", "bench.fair:create_app"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    command += ["--no-server-header", "--no-access-log", "--log-level", "warning"]
    env = {"PYTHONPATH": str(REPO), **dataset.env}
    log = work / f"fair-{dataset.size}.log"
    return Server(f"fair ceiling {dataset.size:,}", command, port, "/healthz", log, env)


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


def arguments() -> argparse.ArgumentParser:
    """The command line of ``python -m bench`` (and of ``make bench BENCH_ARGS=…``)."""
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
    parser.add_argument(
        "--baseline",
        metavar="REF",
        help="also measure this commit, tag or branch of flowruns, built beside this checkout, "
        "on its own copy of each history, in the same rounds",
    )
    parser.add_argument(
        "--notifications",
        action="store_true",
        help="measure change notifications instead (bench/notifications.py): write-to-receipt, "
        "items per second and the write cost of 0, 1, 10 and 100 subscriptions, --rounds rounds",
    )
    parser.add_argument(
        "--notification-runs", type=int, default=400, help="creates per notifications measurement"
    )
    parser.add_argument(
        "--scaling",
        action="store_true",
        help="measure the gain from a second worker instead: flowruns and the fair ceiling, each "
        "with one and with two workers, on the first of --sizes, in the same rounds",
    )
    parser.add_argument(
        "--health",
        action="store_true",
        help="measure process health instead (bench/health.py): an evaluation pass over 1,000 "
        "and 10,000 processes and at 10^5 and 10^6 runs, and creates with and without "
        "expectations, --rounds rounds of --seconds",
    )
    parser.add_argument(
        "--processes-page",
        action="store_true",
        help="measure the dashboard's Processes page instead (bench/processes_page.py): its "
        "requests at 10,000 processes and 10^6 runs against a filtered first page of runs, "
        "--rounds rounds",
    )
    return parser


def main() -> None:
    args = arguments().parse_args()
    if args.processes_page:
        processes_page.run(args.rounds)
        return
    if args.notifications:
        notifications.run(args.rounds, args.notification_runs)
        return
    if args.health:
        health.run(args.rounds, args.seconds)
        return
    try:
        wrk_path()
    except WrkMissing as error:
        sys.exit(str(error))
    if args.scenarios and "get-ingesting" in args.scenarios and "lineage" not in args.scenarios:
        args.scenarios.append("lineage")  # 11b loads the server with 11a's events
    if args.scaling:
        CACHE.mkdir(parents=True, exist_ok=True)
        _scaling(args)
        return
    if args.peer_size and args.peer_size not in args.sizes:
        sys.exit("--peer-size must be one of --sizes (the peer holds the same history)")

    started = time.monotonic()
    CACHE.mkdir(parents=True, exist_ok=True)
    baseline = None
    if args.baseline is not None:
        try:
            baseline = build_baseline(REPO, args.baseline, CACHE)
        except BaselineError as error:
            sys.exit(str(error))
        print(f"baseline {args.baseline}: {baseline.label}, from {baseline.src}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-", dir=CACHE) as tmp:
        work = Path(tmp)
        servers: list[Server] = []
        try:
            results = _measure(args, work, servers, baseline)
        finally:
            for server in servers:
                server.stop()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = CACHE / f"results-{stamp}"
    parts = [table(results), "", *targets(results, args.sizes)]
    if baseline is not None:
        parts += ["", versus(results, describe_current(REPO))]
    text = "\n".join(parts)
    out.with_suffix(".md").write_text(text + "\n")
    raw = {
        "rounds": _by_name(results.rounds),
        "rss_mb": {f"{k[0]}/{k[1]}": v for k, v in results.rss_mb.items()},
        "args": vars(args),
    }
    if baseline is not None:
        raw["baseline"] = {
            "sha": baseline.sha,
            "rounds": _by_name(results.baseline_rounds),
            "not_compared": {f"{k[0]}/{k[1]}": v for k, v in results.not_compared.items()},
        }
    out.with_suffix(".json").write_text(json.dumps(raw, indent=1))
    print(text)
    print(f"\n{time.monotonic() - started:.0f}s; results in {out}.md and .json")


def _by_name(rounds: list[dict[Key, Sample]]) -> list[dict[str, dict[str, float]]]:
    return [{f"{k[0]}/{k[1]}": asdict(s) for k, s in r.items()} for r in rounds]


def _measure(
    args: argparse.Namespace, work: Path, servers: list[Server], baseline: Build | None
) -> Results:
    loads: dict[Key, Load] = {}
    theirs: dict[Key, Load] = {}
    not_compared: dict[Key, str] = {}
    seeders = (CURRENT, CURRENT) if baseline is None else _seeders(baseline)
    for size in args.sizes:
        dataset = _history(args, size, work, seeders[0], CURRENT)
        server, found, ours, headers = _flowruns(args, dataset, work, servers)
        for name, request in ours.items():
            loads[size, name] = Load(request, server)
        if baseline is not None:
            dataset_theirs = _history(args, size, work, seeders[1], baseline)
            server_theirs, found_theirs, requests, _ = _flowruns(
                args, dataset_theirs, work, servers
            )
            for name, request in requests.items():
                reason = _incomparable(
                    name, (found, found_theirs), (ours[name], request), baseline.label
                )
                if reason is None:
                    theirs[size, name] = Load(request, server_theirs)
                else:
                    not_compared[size, name] = reason
                    print(f"  {LABELS[name]}: not compared ({reason})", flush=True)
        if args.scenarios is None or set(args.scenarios) & set(CEILING_SCENARIOS):
            ceiling = _ceiling_server(dataset, found, work, args.workers)
            servers.append(ceiling)
            ceiling.start()
            for name, request in ceiling_requests(ceiling.base, found.run_id).items():
                if args.scenarios is None or name in args.scenarios:
                    loads[size, name] = Load(request, ceiling)
        if args.engine == "sqlite" and (
            args.scenarios is None or set(args.scenarios) & set(write_ceiling.SCENARIOS)
        ):
            writes = write_ceiling.server(dataset, work, args.workers)
            servers.append(writes)
            writes.start()
            token = auth.headers(server, dataset)
            for name, request in write_ceiling.requests(writes.base, found, token).items():
                if args.scenarios is None or name in args.scenarios:
                    loads[size, name] = Load(request, writes)
        if args.scenarios is None or set(args.scenarios) & set(FAIR_SCENARIOS):
            fair = _fair_server(dataset, work, args.workers)
            servers.append(fair)
            fair.start()
            for name, request in fair_requests(fair.base, found.run_id, headers).items():
                if args.scenarios is None or name in args.scenarios:
                    loads[size, name] = Load(request, fair)
        if size == args.peer_size:
            home = peer.prefect_history(sqlite_cached(size)[0], size, work)
            prefect = peer.server(home, work / "prefect.log", args.workers)
            servers.append(prefect)
            prefect.start()
            body = peer.filter_body(RUN_TYPE, STATUS)
            url = f"{prefect.base}/api/flow_runs/filter"
            request = Request("POST", url, (("Content-Type", "application/json"),), body)
            loads[size, "peer"] = Load(request, prefect)

    script = str(work / "wrk.lua")
    print("warming up", flush=True)
    for load in [*loads.values(), *theirs.values()]:
        run(load.request, script, seconds=1, connections=args.connections)
    rounds: list[dict[Key, Sample]] = []
    baseline_rounds: list[dict[Key, Sample]] = []
    for number in range(args.rounds):
        samples: dict[Key, Sample] = {}
        samples_theirs: dict[Key, Sample] = {}
        for key, load in loads.items():
            turns = [("", load, samples)]
            if baseline is not None and key in theirs:
                turns.append((f"  @{baseline.label}", theirs[key], samples_theirs))
                # Each build goes first in every other round: neither always meets the machine
                # right after the other's load.
                if number % 2:
                    turns.reverse()
            for who, measured, into in turns:
                if key[1] == "get-ingesting":
                    events = loads[key[0], "lineage"].request
                    sample = _sample_while_ingesting(measured, events, script, args)
                else:
                    sample = _sample(_fresh(measured, key[1]), script, args)
                into[key] = sample
                print(
                    f"  round {number + 1} {key[0]:>9,} {LABELS[key[1]]:<38}"
                    f" {sample.requests_per_s:8,.0f} req/s  p50 {sample.p50_ms:7.2f} ms"
                    f"  cpu {sample.server_cpu_ms:6.3f} ms/req"
                    + (f"  {sample.failures} FAILED" if sample.failures else "")
                    + who,
                    flush=True,
                )
        rounds.append(samples)
        baseline_rounds.append(samples_theirs)
    rss = {key: load.server.peak_rss_mb() for key, load in loads.items()}
    label = None if baseline is None else baseline.label
    return Results(rounds, rss, args.peer_size or None, label, baseline_rounds, not_compared)


def _scaling(args: argparse.Namespace) -> None:
    """What a second worker gains flowruns, as a share of what it gains the fair ceiling.

    Four servers on one copy of the history (reads only): flowruns and the fair ceiling, each with
    one and with two workers. Every round loads GET by id and the filtered first page on all four,
    in an order shuffled per round. The gain of a second worker is the increase in requests per
    second over one worker, taken within a round; the report gives medians over rounds.
    """
    size = args.sizes[0]
    with tempfile.TemporaryDirectory(prefix="bench-", dir=CACHE) as tmp:
        work = Path(tmp)
        dataset = _history(args, size, work, CURRENT, CURRENT)
        servers: list[Server] = []
        loads: dict[tuple[str, int, str], Load] = {}
        try:
            for workers in (1, 2):
                own = work / f"{workers}-workers"
                own.mkdir()
                server = _flowruns_server(dataset, own, workers)
                fair = _fair_server(dataset, own, workers)
                servers += [server, fair]
                server.start()
                fair.start()
                headers = auth.headers(server, dataset)
                with httpx.Client(timeout=120, headers=dict(headers)) as client:
                    found = discover(client, server.base)
                ours = flowruns_requests(found, server.base, headers)
                bare = fair_requests(fair.base, found.run_id, headers)
                for scenario, fair_scenario in (("get", "fair-get"), ("list", "fair-list")):
                    loads["flowruns", workers, scenario] = Load(ours[scenario], server)
                    loads["fair", workers, scenario] = Load(bare[fair_scenario], fair)
            script = str(work / "wrk.lua")
            for load in loads.values():
                run(load.request, script, seconds=1, connections=args.connections)
            rounds: list[dict[tuple[str, int, str], Sample]] = []
            for number in range(args.rounds):
                order = list(loads)
                random.shuffle(order)
                samples = {key: _sample(loads[key], script, args) for key in order}
                for key in sorted(samples):
                    sample = samples[key]
                    print(
                        f"  round {number + 1} {key[0]:<9} {key[1]} worker(s) {key[2]:<5}"
                        f" {sample.requests_per_s:8,.0f} req/s  cpu {sample.server_cpu_ms:6.3f}"
                        " ms/req",
                        flush=True,
                    )
                rounds.append(samples)
            rss = {key: load.server.peak_rss_mb() for key, load in loads.items()}
        finally:
            for server in servers:
                server.stop()
    print(scaling_table(rounds, rss))


def _seeders(baseline: Build) -> tuple[Build, Build]:
    """The builds that seed the histories this checkout and the baseline copy."""
    current_schema, baseline_schema = CURRENT.schema_revisions(), baseline.schema_revisions()
    shared = seeder(CURRENT, current_schema, baseline, baseline_schema)
    newest = [schema[0] if schema else "none" for schema in (current_schema, baseline_schema)]
    schemas = f"schema revision {newest[0]} here, {newest[1]} in {baseline.label}"
    if shared is None:
        print(f"{schemas}: neither is older, so each seeds its own history", flush=True)
        return CURRENT, baseline
    print(f"{schemas}: both copy the history {shared.label} seeds", flush=True)
    return shared, shared


def _history(
    args: argparse.Namespace, size: int, work: Path, seeded_by: Build, build: Build
) -> Dataset:
    if args.engine == "postgresql":
        dataset = postgresql_history(size, work, args.postgres_url, seeded_by, build)
    else:
        dataset = sqlite_history(size, work, seeded_by, build)
    made = "cached" if dataset.seed_seconds is None else f"seeded in {dataset.seed_seconds:.0f}s"
    if build != seeded_by:
        made = f"history of {seeded_by.label}, {made}, copy upgraded by {build.label}"
    print(f"{size:,} runs on {args.engine} for {build.label}: {made}", flush=True)
    return dataset


def _flowruns(
    args: argparse.Namespace, dataset: Dataset, work: Path, servers: list[Server]
) -> tuple[Server, Targets, dict[str, Request], tuple[tuple[str, str], ...]]:
    """A started flowruns server on ``dataset``, its scenario targets, selected requests and
    the headers that authorize them."""
    server = _flowruns_server(dataset, work, args.workers)
    servers.append(server)
    server.start()
    headers = auth.headers(server, dataset)
    print(f"  auth: {'bearer token from flowruns token' if headers else 'none'}", flush=True)
    with httpx.Client(timeout=120, headers=dict(headers)) as client:
        found = discover(client, server.base)
        deltas = delta_requests(client, server.base, headers, found.run_ids)
    query = "status and type" if found.filtered else "type only (no $filter on this server)"
    print(f"  list query: {found.list_url} [{query}]", flush=True)
    requests = flowruns_requests(found, server.base, headers)
    requests |= overview_requests(server.base, headers)
    requests |= compression_requests(server.base, headers)
    requests |= deltas
    requests |= lineage_requests(server.base, headers, found.run_id)
    requests |= shape_requests(server.base, headers)
    if args.scenarios is None and dataset.size > SCAN_LIMIT:
        # 12a scans the whole history: seconds a request past this size, past wrk's timeout.
        print(f"  {LABELS['stats-order']}: left out above {SCAN_LIMIT:,} runs", flush=True)
        del requests["stats-order"]
    selected = {n: r for n, r in requests.items() if args.scenarios is None or n in args.scenarios}
    return server, found, selected, headers


def _incomparable(
    scenario: str,
    targets: tuple[Targets, Targets],
    requests: tuple[Request, Request],
    baseline: str,
) -> str | None:
    """Why this checkout's and the baseline's answers to ``scenario`` cannot be compared (each
    request is sent once to find out), or None."""
    if scenario in LINEAGE_SCENARIOS:
        return "OpenLineage scenarios load this checkout's server only"
    if scenario in ("list", "deep") and targets[0].filtered != targets[1].filtered:
        return "only one of the two has $filter: the list queries differ"
    for who, request in zip(("HEAD", baseline), requests, strict=True):
        answer = httpx.request(
            request.method,
            request.url,
            headers=list(request.headers),
            content=request.body,
            timeout=120,
        )
        if not answer.is_success:
            return f"{who} answers {answer.status_code}"
    return None


def _fresh(load: Load, scenario: str) -> Load:
    """The load to sample now: the empty delta poll follows a deltaLink taken just before, so
    that what the write scenarios changed since the last sample is not in it."""
    if scenario != "delta-empty":
        return load
    with httpx.Client(timeout=120, headers=dict(load.request.headers)) as client:
        link = latest_delta_link(client, load.server.base)
    assert link is not None
    return replace(load, request=replace(load.request, url=link))


def _sample(load: Load, script: str, args: argparse.Namespace) -> Sample:
    pids = load.server.pids()
    before = cpu_seconds(pids)
    sample = run(load.request, script, seconds=args.seconds, connections=args.connections)
    cpu_ms = (cpu_seconds(pids) - before) * 1000 / max(sample.requests, 1)
    return replace(sample, server_cpu_ms=cpu_ms)


def _sample_while_ingesting(
    load: Load, events: Request, script: str, args: argparse.Namespace
) -> Sample:
    """Scenario 11b: the GET of scenario 1 while other connections post OpenLineage events
    for the whole run (a backlog being ingested), from a second wrk beside the measured one."""
    backlog = threading.Thread(
        target=run,
        args=(events, script + ".events.lua"),
        kwargs={"seconds": args.seconds + 2, "connections": args.connections},
    )
    backlog.start()
    try:
        time.sleep(1)  # the events' load is under way before the GETs start
        return _sample(load, script, args)
    finally:
        backlog.join()


if __name__ == "__main__":
    main()
