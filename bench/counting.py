"""What keeping the day counts costs a write: inserts and finishes with and without the triggers.

Eight writer threads, each with its own connection, insert runs of one tenant and one day in
their own transactions (the worst case for the counts: every insert adds to the same row), then
finish each run (running → completed, one counted row down and another up). The same work runs
with the counting triggers installed and with them dropped, in alternating rounds on one scratch
database, so the machine's noise falls on both alike.

    .venv/bin/python -m bench.counting --engine postgresql
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, make_url, text

from flowruns.edm.datetimes import now_ticks
from flowruns.store import migrations, rollup
from flowruns.store.database import make_engine, sqlite_url

TENANT = "00000000-0000-0000-0000-0000000000be"
_SCRATCH = "flowruns_bench_counting"
_INSERT = text(
    "INSERT INTO runs (tenant_id, id, type, etag, touched, display_name, start_date_time, "
    "status, statistics) VALUES (:tenant, :id, 'outgoingFlowRun', 'e', :now, 'bench', :now, 0, "
    "'{}')"
)
_FINISH = text(
    "UPDATE runs SET status = 2, end_date_time = :now WHERE tenant_id = :tenant AND id = :id"
)


def _writers(engine: Engine, threads: int, per_thread: int) -> float:
    """Seconds for ``threads`` writers to insert and then finish ``per_thread`` runs each."""

    def work() -> None:
        ids = [str(uuid.uuid4()) for _ in range(per_thread)]
        with engine.connect() as connection:
            for statement in (_INSERT, _FINISH):
                for run_id in ids:
                    with connection.begin():
                        connection.execute(
                            statement, {"tenant": TENANT, "id": run_id, "now": now_ticks()}
                        )

    workers = [threading.Thread(target=work) for _ in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return time.perf_counter() - started


def _with_triggers(engine: Engine, installed: bool) -> None:
    with engine.begin() as connection:
        present = _present(connection)
        if installed and not present:
            rollup.install(connection)
        if present and not installed:
            rollup.uninstall(connection)


def _present(connection: Connection) -> bool:
    if connection.dialect.name == "postgresql":
        query = "SELECT count(*) FROM pg_trigger WHERE tgname = 'run_days_insert'"
    else:
        query = "SELECT count(*) FROM sqlite_master WHERE name = 'run_days_insert'"
    return bool(connection.execute(text(query)).scalar_one())


def measure(
    engine: Engine, rounds: int, threads: int, per_thread: int, say: Callable[[str], None]
) -> list[float]:
    migrations.upgrade(engine)
    ratios: list[float] = []
    for number in range(rounds):
        seconds: dict[bool, float] = {}
        for installed in (True, False) if number % 2 == 0 else (False, True):
            _with_triggers(engine, installed)
            seconds[installed] = _writers(engine, threads, per_thread)
        writes = 2 * threads * per_thread
        say(
            f"round {number + 1}: with counts {writes / seconds[True]:,.0f} writes/s, "
            f"without {writes / seconds[False]:,.0f} writes/s"
        )
        ratios.append(seconds[False] / seconds[True])
    _with_triggers(engine, True)
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--runs", type=int, default=250, help="per thread and round")
    parser.add_argument(
        "--postgres-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="server for --engine postgresql (the account creates databases)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.engine == "postgresql":
            server = make_url(args.postgres_url).set(drivername="postgresql+psycopg")
            admin = create_engine(server, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{_SCRATCH}" WITH (FORCE)'))
                connection.execute(text(f'CREATE DATABASE "{_SCRATCH}"'))
            url = server.set(database=_SCRATCH).render_as_string(hide_password=False)
        else:
            url = sqlite_url(Path(tmp))
        engine = make_engine(url)
        try:
            ratios = measure(engine, args.rounds, args.threads, args.runs, print)
        finally:
            engine.dispose()
            if args.engine == "postgresql":
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE "{_SCRATCH}" WITH (FORCE)'))
                admin.dispose()
    print(
        f"writes/s with the counts / without: median {statistics.median(ratios):.3f} "
        f"(rounds: {', '.join(f'{r:.3f}' for r in ratios)})"
    )


if __name__ == "__main__":
    main()
