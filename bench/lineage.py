"""The lineage questions of docs/lineage.md: what each costs at 10^5 and 10^6 runs reading and
writing 10,000 datasets, against one filtered first page of runs.

Each history (runs over the last 60 days, one in twenty failed; each reads one dataset and writes
another, with a row count) is written straight into a data directory, the datasets' freshness
computed as the triggers would, then served by ``flowruns serve`` on SQLite (or, with
``--engine postgresql``, in a scratch PostgreSQL database, analyzed after the load). The three
histories are served at once; one request at a time, in interleaved rounds across the histories
and the questions, it times each question's URL and the reference (the first page of failed runs,
100). Targets: each question at 10^6 runs costs at most 2x the reference, and at
most 1.2x its own cost at 10^5 runs; ratios of medians.

Growth is measured twice. Against 10^5 runs over the same 10,000 datasets, a dataset has a tenth
of the accesses, so an answer drawn from one dataset's accesses (its writers, its days) is a
tenth the size: the ratio mixes the answer's growth with the history's. Against 10^5 runs over
1,000 datasets, each dataset has as many accesses as at 10^6 runs (100), each question the same
answer, and the ratio is what the history's size alone costs.

    .venv/bin/python -m bench.lineage --rounds 7
    .venv/bin/python -m bench.lineage --rounds 7 --engine postgresql
    .venv/bin/python -m bench.lineage --writes --rounds 10   # what keeping one answer costs
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from sqlalchemy import Connection, create_engine, insert, make_url, select, text

from bench.datasets import CACHE
from bench.health import SECRET, _chunks, _token
from bench.servers import Server, free_port
from flowruns.api.app import open_database
from flowruns.edm.datetimes import TICKS_PER_SECOND, format_ticks, now_ticks
from flowruns.edm.industrydata import dataset_access_direction, run_status
from flowruns.settings import DEFAULT_TENANT, Settings
from flowruns.store import datasets as lineage_rows
from flowruns.store import downstream
from flowruns.store.schema import dataset_accesses, datasets, runs

HUB = "/beta/external/industryData"
DATASETS = 10_000
# (runs, datasets): 10^5 runs over the datasets of 10^6, and over as many runs per dataset.
SMALL, DENSE, LARGE = (100_000, DATASETS), (100_000, DATASETS // 10), (1_000_000, DATASETS)
HISTORIES = (SMALL, DENSE, LARGE)
DAY = 86_400 * TICKS_PER_SECOND
REFERENCE_TARGET, GROWTH_TARGET = 2.0, 1.2
COMPLETED, FAILED = run_status.value_of("completed"), run_status.value_of("failed")
INPUT, OUTPUT = (dataset_access_direction.value_of(d) for d in ("input", "output"))
SCRATCH = "flowruns_bench_lineage"  # the PostgreSQL database of --engine postgresql


def _url(path: str, **options: str) -> str:
    query = "&".join(f"{name}={quote(value, safe='')}" for name, value in options.items())
    return f"{HUB}/{path}?{query}"


def _seed(
    directory: Path, count: int, dataset_count: int, now: int, database_url: str | None = None
) -> dict[str, str]:
    """A data directory (or the database at ``database_url``) with ``count`` runs and
    ``dataset_count`` datasets; a failed run's id and start, and a dataset's id, for the
    questions."""
    db = open_database(Settings(data_dir=directory, database_url=database_url))
    names = [f"warehouse.table{n:05d}" for n in range(dataset_count)]
    ids = [str(uuid.uuid4()) for _ in names]
    latest: dict[int, tuple[int, str]] = {}
    run_ids = [str(uuid.uuid4()) for _ in range(count)]
    step = 60 * DAY // count

    def start(i: int) -> int:
        return now - 60 * DAY + i * step

    def status(i: int) -> int:
        return FAILED if i % 20 == 7 else COMPLETED

    def run_rows() -> Iterator[dict[str, Any]]:
        for i, run_id in enumerate(run_ids):
            yield {
                "tenant_id": DEFAULT_TENANT,
                "id": run_id,
                "type": "outgoingFlowRun",
                "etag": secrets.token_hex(8),
                "touched": start(i),
                "display_name": "load",
                "start_date_time": start(i),
                "end_date_time": start(i) + 300 * TICKS_PER_SECOND,
                "status": status(i),
                "statistics": {},
            }

    def access_rows() -> Iterator[dict[str, Any]]:
        for i, run_id in enumerate(run_ids):
            for direction, d in ((INPUT, (i * 7919) % dataset_count), (OUTPUT, i % dataset_count)):
                if direction == OUTPUT and status(i) == COMPLETED:
                    latest[d] = max(
                        latest.get(d, (0, "")), (start(i) + 300 * TICKS_PER_SECOND, run_id)
                    )
                yield {
                    "tenant_id": DEFAULT_TENANT,
                    "id": str(uuid.uuid4()),
                    "type": "datasetAccess",
                    "etag": secrets.token_hex(8),
                    "direction": direction,
                    "dataset_id": ids[d],
                    "namespace": "postgres://db:5432",
                    "name": names[d],
                    "run_id": run_id,
                    "run_status": status(i),
                    "run_start_date_time": start(i),
                    "run_end_date_time": start(i) + 300 * TICKS_PER_SECOND,
                    "row_count": 1000 + i % 100,
                    "facets": {},
                }

    with db.engine.begin() as connection:
        # Freshness is computed here, once, rather than by a trigger per access.
        lineage_rows.uninstall(connection)
        downstream.uninstall(connection)
        for chunk in _chunks(run_rows()):
            connection.execute(insert(runs), chunk)
        connection.execute(
            insert(datasets),
            [
                {
                    "tenant_id": DEFAULT_TENANT,
                    "id": dataset_id,
                    "type": "dataset",
                    "etag": secrets.token_hex(8),
                    "namespace": "postgres://db:5432",
                    "name": name,
                    "facets": {},
                    "created_date_time": now - 60 * DAY,
                    "last_modified_date_time": now - 60 * DAY,
                }
                for name, dataset_id in zip(names, ids, strict=True)
            ],
        )
        for chunk in _chunks(access_rows()):
            connection.execute(insert(dataset_accesses), chunk)
        for d, (end, run_id) in latest.items():
            connection.execute(
                datasets.update()
                .where(datasets.c.tenant_id == DEFAULT_TENANT, datasets.c.id == ids[d])
                .values(last_written_date_time=end, last_written_run_id=run_id)
            )
        lineage_rows.install(connection)
        downstream.refresh(connection)
        downstream.install(connection)
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    db.dispose()
    failed = next(i for i in range(count // 2, count) if status(i) == FAILED)
    return {
        "dataset": ids[17],
        "name": names[17],
        "failed": run_ids[failed],
        "failed_start": format_ticks(start(failed)),
    }


def _questions(known: dict[str, str]) -> dict[str, str]:
    week = "runStartDateTime ge now() sub duration'P7D'"
    downstream = (
        "inputs/any(i: i/dataset/writes/any(w: w/runStatus eq 'failed' "
        "and w/runStartDateTime le i/runStartDateTime))"
    )
    rows_per_day = (
        "compute(date(runStartDateTime) as day)/groupby((day),aggregate(rowCount with sum as rows))"
    )
    reads = f"$filter=runStartDateTime ge {known['failed_start']};$select=runId,runStatus"
    return {
        "reference: failed runs, first page": _url(
            "runs", **{"$filter": "status eq 'failed'", "$top": "100"}
        ),
        "who wrote it last week, rows each": _url(
            "datasets",
            **{
                "$filter": f"name eq '{known['name']}'",
                "$expand": f"writes($filter={week};$select=runId,rowCount)",
            },
        ),
        "downstream of one failed run": _url(
            f"runs/{known['failed']}/outputs",
            **{"$expand": f"dataset($select=name;$expand=reads({reads}))"},
        ),
        "runs that read what a failed run wrote": _url(
            "runs", **{"$filter": downstream, "$top": "100", "$select": "id"}
        ),
        "stale datasets (not written for a day)": _url(
            "datasets",
            **{
                "$filter": "lastWrittenDateTime lt now() sub duration'P1D' "
                "or lastWrittenDateTime eq null",
                "$orderby": "lastWrittenDateTime",
                "$select": "name,lastWrittenDateTime",
            },
        ),
        "runs?$filter=outputs/any(name eq …)": _url(
            "runs", **{"$filter": f"outputs/any(d: d/name eq '{known['name']}')"}
        ),
        "rows per day ($apply)": _url(
            f"datasets/{known['dataset']}/writes", **{"$apply": rows_per_day}
        ),
    }


def _time(http: httpx.Client, url: str) -> float:
    started = time.perf_counter()
    response = http.get(url)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed


@contextmanager
def _scratch(postgres: str, name: str) -> Iterator[str]:
    """A new database ``name`` on the PostgreSQL server at ``postgres`` (its URL), dropped on
    exit."""
    server = make_url(postgres).set(drivername="postgresql+psycopg")
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def _served(
    work: Path, history: tuple[int, int], postgres: str | None
) -> Iterator[tuple[httpx.Client, dict[str, str]]]:
    """``history`` seeded in ``work`` (or, with ``postgres``, a scratch database there) and
    served by ``flowruns serve``: a client of the server and the questions' URLs."""
    count, dataset_count = history
    work.mkdir(parents=True)
    with ExitStack() as stack:
        database_url = None
        if postgres is not None:
            database_url = stack.enter_context(
                _scratch(postgres, f"{SCRATCH}_{count}_{dataset_count}")
            )
        started = time.perf_counter()
        known = _seed(work / "data", count, dataset_count, now_ticks(), database_url)
        print(
            f"seeded {count:,} runs and {dataset_count:,} datasets "
            f"in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
        port = free_port()
        env = {"FLOWRUNS_JWT_SECRET": SECRET, "FLOWRUNS_HEALTH_EVALUATION": "off"}
        command = [sys.executable, "-m", "flowruns", "serve", "--port", str(port)]
        command += ["--data-dir", str(work / "data")]
        if database_url is not None:
            command += ["--database-url", database_url]
        server = Server("flowruns", command, port, "/healthz", work / "server.log", env)
        server.start()
        stack.callback(server.stop)
        headers = {"Authorization": f"Bearer {_token()}"}
        http = stack.enter_context(httpx.Client(base_url=server.base, headers=headers, timeout=600))
        yield http, _questions(known)


def _measure(rounds: int, postgres: str | None) -> list[dict[str, float]]:
    """Each question's median in each of :data:`HISTORIES`, all served at once and timed in
    interleaved rounds (the histories in a new order each round), so that the ratios between
    histories are of one moment of the machine. The data directories go under ``bench/.data``
    (gigabytes at 10^6 runs) and are removed afterwards, as are the scratch databases."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lineage-", dir=CACHE) as tmp, ExitStack() as stack:
        served = [
            stack.enter_context(
                _served(Path(tmp) / f"{count}-{datasets}", (count, datasets), postgres)
            )
            for count, datasets in HISTORIES
        ]
        for http, urls in served:  # warm up
            for url in urls.values():
                _time(http, url)
        found: list[dict[str, list[float]]] = [{} for _ in served]
        for round_ in range(rounds):
            order = list(range(len(served)))
            order = order[round_ % len(order) :] + order[: round_ % len(order)]
            for index in order:
                http, urls = served[index]
                for name, url in urls.items():
                    found[index].setdefault(name, []).append(_time(http, url))
    return [
        {name: statistics.median(times) * 1000 for name, times in history.items()}
        for history in found
    ]


def run(rounds: int, postgres: str | None) -> None:
    small, dense, large = _measure(rounds, postgres)
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        "| Question | 10^5 runs, 10^4 datasets (ms) | 10^5 runs, 10^3 datasets (ms) | "
        "10^6 runs (ms) | / reference at 10^6 | 10^6 / 10^5, same datasets | "
        "10^6 / 10^5, same runs per dataset |"
    )
    print("|---|---|---|---|---|---|---|")
    reference = large["reference: failed runs, first page"]
    for name in large:
        print(
            f"| {name} | {small[name]:.1f} | {dense[name]:.1f} | {large[name]:.1f} | "
            f"{large[name] / reference:.2f} | {large[name] / small[name]:.2f} | "
            f"{large[name] / dense[name]:.2f} |"
        )
    print(f"targets: ≤ {REFERENCE_TARGET} x the reference, ≤ {GROWTH_TARGET} x own cost at 10^5")


WRITES = 500  # runs recorded per timed batch of the write cost


def _write_batch(connection: Connection, dataset_ids: list[str], round_: int) -> None:
    """What recording ``WRITES`` runs asks of the database: each run inserted, one input and one
    output recorded, then the run failed (so that the readers of its output are looked at)."""
    now = now_ticks()
    for n in range(WRITES):
        run_id = str(uuid.uuid4())
        connection.execute(
            insert(runs).values(
                tenant_id=DEFAULT_TENANT,
                id=run_id,
                type="outgoingFlowRun",
                etag=secrets.token_hex(8),
                touched=now,
                display_name="load",
                start_date_time=now + n,
                status=run_status.value_of("running"),
                statistics={},
            )
        )
        for direction, d in ((INPUT, n * 7919 + round_), (OUTPUT, n + round_)):
            connection.execute(
                insert(dataset_accesses).values(
                    tenant_id=DEFAULT_TENANT,
                    id=str(uuid.uuid4()),
                    type="datasetAccess",
                    etag=secrets.token_hex(8),
                    direction=direction,
                    dataset_id=dataset_ids[d % len(dataset_ids)],
                    namespace="postgres://db:5432",
                    name=f"warehouse.table{d % len(dataset_ids):05d}",
                    run_id=run_id,
                    run_status=run_status.value_of("running"),
                    run_start_date_time=now + n,
                    facets={},
                )
            )
        connection.execute(
            runs.update()
            .where(runs.c.tenant_id == DEFAULT_TENANT, runs.c.id == run_id)
            .values(status=FAILED, end_date_time=now + n + 1)
        )


def write_cost(rounds: int) -> None:
    """What keeping the runs downstream of a failure (store/downstream.py) costs the writes that
    change it, at 10^5 runs over 10^4 datasets: batches of runs recorded with and without its
    triggers, interleaved, each batch rolled back."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lineage-writes-", dir=CACHE) as tmp:
        _seed(Path(tmp) / "data", *SMALL, now_ticks())
        db = open_database(Settings(data_dir=Path(tmp) / "data"))
        with db.engine.connect() as connection:
            dataset_ids = list(connection.execute(select(datasets.c.id)).scalars())
        found: dict[bool, list[float]] = {True: [], False: []}
        for round_ in range(rounds):
            for kept in (round_ % 2 == 0, round_ % 2 == 1):
                with db.engine.connect() as connection:
                    transaction = connection.begin()
                    installed = connection.execute(
                        text("SELECT count(*) FROM sqlite_master WHERE name LIKE 'downstream_%'")
                    ).scalar_one()
                    assert installed == len(downstream.TRIGGERS), "a round left triggers behind"
                    if not kept:
                        downstream.uninstall(connection)
                    started = time.perf_counter()
                    _write_batch(connection, dataset_ids, round_)
                    found[kept].append(time.perf_counter() - started)
                    transaction.rollback()
        db.dispose()
    kept_ms, bare_ms = (statistics.median(found[k]) * 1000 / WRITES for k in (True, False))
    print(
        f"per run recorded (insert, an input, an output, failed): {kept_ms:.3f} ms with the "
        f"downstream triggers, {bare_ms:.3f} ms without: {kept_ms / bare_ms:.2f}x "
        f"(medians of {rounds} interleaved rounds; load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--writes",
        action="store_true",
        help="measure what keeping the runs downstream of a failure costs writes instead",
    )
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--postgres-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="server for --engine postgresql (the account creates databases)",
    )
    args = parser.parse_args()
    postgres = args.postgres_url if args.engine == "postgresql" else None
    if args.writes:
        if postgres is not None:
            parser.error("--writes measures SQLite only")
        write_cost(args.rounds)
    else:
        run(args.rounds, postgres)


if __name__ == "__main__":
    main()
