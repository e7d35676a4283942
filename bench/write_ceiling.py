"""The fair write ceiling: what the same writes cost with nothing around them but the HTTP
stack, the token check and one raw SQLite writer that commits in groups.

Same uvicorn, same HTTP protocol class and the same bearer-token verification (with the same
cache) as ``flowruns serve``. ``POST {HUB}/processes/{id}/runs`` inserts one run of that process
and ``PATCH {HUB}/runs/{id}`` sets one run's statistics (with a new ETag), each answering the
row as JSON (orjson). Each statement goes, without a worker-thread hop, to one thread that owns
a raw ``sqlite3`` connection (the server's pragmas: WAL, ``synchronous=FULL``) and runs every
statement queued meanwhile in one ``BEGIN IMMEDIATE … COMMIT``: group commit at its barest.
The database's own triggers (the change log, the day counts) fire as they do for flowruns. No
OData, no validation, no If-Match, no metrics, no access log.

    FLOWRUNS_DATA_DIR=... uvicorn --factory bench.write_ceiling:create_app
"""

from __future__ import annotations

import asyncio
import queue
import secrets
import sqlite3
import sys
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.datasets import Dataset
from bench.scenarios import HUB, Targets, flowruns_requests
from bench.servers import Server, free_port
from bench.wrk import Request as Load
from flowruns.api.protocol import LimitedHttpToolsProtocol
from flowruns.auth.tokens import Principal, TokenVerifier
from flowruns.edm.datetimes import now_ticks
from flowruns.edm.industrydata import run_status
from flowruns.errors import GraphError
from flowruns.settings import Settings
from flowruns.store.database import sqlite_url
from flowruns.store.dialect import SQLITE

SCENARIOS = ("write-create", "write-patch")
GROUP_WRITES = 64
_INSERT = (
    "INSERT INTO runs (tenant_id, id, type, etag, touched, process_id, display_name,"
    " start_date_time, status, statistics) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    " RETURNING id, etag, process_id, display_name, start_date_time, status, statistics"
)
_UPDATE = (
    "UPDATE runs SET statistics = ?, etag = ?, touched = ? WHERE tenant_id = ? AND id = ?"
    " RETURNING id, etag, process_id, display_name, start_date_time, status, statistics"
)
_COLUMNS = ("id", "etag", "process_id", "displayName", "startDateTime", "status", "statistics")


@dataclass
class _Job:
    sql: str
    parameters: tuple[Any, ...]
    loop: asyncio.AbstractEventLoop
    done: asyncio.Future[list[tuple[Any, ...]]]


def _settle(job: _Job, rows: list[tuple[Any, ...]] | None, error: BaseException | None) -> None:
    if error is not None:
        job.done.set_exception(error)
    else:
        assert rows is not None
        job.done.set_result(rows)


class GroupCommitter:
    """One thread, one raw connection: every statement queued while a group ran goes into the
    next group's transaction."""

    def __init__(self, path: Path) -> None:
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        threading.Thread(target=self._run, args=(path,), daemon=True).start()

    async def execute(self, sql: str, parameters: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        loop = asyncio.get_running_loop()
        job = _Job(sql, parameters, loop, loop.create_future())
        self._jobs.put(job)
        return await job.done

    def _run(self, path: Path) -> None:
        connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON"):
            connection.execute(f"PRAGMA {pragma}")
        connection.execute("PRAGMA busy_timeout=30000")
        SQLITE.register_functions(connection)
        while True:
            jobs = [self._jobs.get()]
            while len(jobs) < GROUP_WRITES:
                try:
                    jobs.append(self._jobs.get_nowait())
                except queue.Empty:
                    break
            outcomes: list[tuple[list[tuple[Any, ...]] | None, BaseException | None]] = []
            connection.execute("BEGIN IMMEDIATE")
            for job in jobs:
                try:
                    outcomes.append((connection.execute(job.sql, job.parameters).fetchall(), None))
                except sqlite3.Error as failed:  # a failed statement undoes itself alone
                    outcomes.append((None, failed))
            connection.execute("COMMIT")
            for job, (rows, failure) in zip(jobs, outcomes, strict=True):
                job.loop.call_soon_threadsafe(_settle, job, rows, failure)


def create_app() -> Starlette:
    """The write ceiling on the SQLite database of the environment's settings."""
    settings = Settings.from_env()
    verifier = TokenVerifier(settings)
    writer = GroupCommitter(Path(sqlite_url(settings.data_dir).removeprefix("sqlite:///")))
    running = run_status.value_of("running")

    async def principal(request: Request) -> Principal | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        found = verifier.cached(token)
        if found is None:
            try:
                found = await run_in_threadpool(verifier.verify, token)
            except GraphError:
                return None
            verifier.remember(token, found)
        return found

    def answer(rows: list[tuple[Any, ...]], status: int) -> Response:
        if not rows:
            return Response(status_code=404)
        body = orjson.dumps(dict(zip(_COLUMNS, rows[0], strict=True)))
        return Response(body, status_code=status, media_type="application/json")

    async def create(request: Request) -> Response:
        found = await principal(request)
        if found is None:
            return Response(status_code=401)
        body = orjson.loads(await request.body())
        now = now_ticks()
        parameters = (
            found.tenant,
            str(uuid.uuid4()),
            "outgoingFlowRun",
            secrets.token_hex(8),
            now,
            request.path_params["id"],
            body.get("displayName"),
            now,
            running,
            "{}",
        )
        return answer(await writer.execute(_INSERT, parameters), 201)

    async def patch(request: Request) -> Response:
        found = await principal(request)
        if found is None:
            return Response(status_code=401)
        body = orjson.loads(await request.body())
        statistics = orjson.dumps(body.get("statistics", {})).decode()
        parameters = (
            statistics,
            secrets.token_hex(8),
            now_ticks(),
            found.tenant,
            request.path_params["id"],
        )
        return answer(await writer.execute(_UPDATE, parameters), 200)

    async def healthz(_: Request) -> Response:
        return Response(b"ok")

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route(f"{HUB}/processes/{{id}}/runs", create, methods=["POST"]),
            Route(f"{HUB}/runs/{{id}}", patch, methods=["PATCH"]),
        ]
    )


def server(dataset: Dataset, work: Path, workers: int) -> Server:
    """The write ceiling on ``dataset`` (SQLite), run by uvicorn as ``flowruns serve`` runs."""
    port = free_port()
    protocol = f"{LimitedHttpToolsProtocol.__module__}:{LimitedHttpToolsProtocol.__qualname__}"
    command = [sys.executable, "-m", "uvicorn", "--factory", f"{__name__}:create_app"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    command += ["--http", protocol, "--no-server-header", "--no-access-log"]
    command += ["--log-level", "warning"]
    env = {"PYTHONPATH": str(Path(__file__).resolve().parents[1]), **dataset.env}
    log = work / f"write-ceiling-{dataset.size}.log"
    return Server(f"write ceiling {dataset.size:,}", command, port, "/healthz", log, env)


def requests(base: str, targets: Targets, auth: tuple[tuple[str, str], ...]) -> dict[str, Load]:
    """The flowruns create and PATCH scenarios' requests, byte for byte, sent to ``base``."""
    ours = flowruns_requests(targets, base, auth)
    return {"write-create": ours["create"], "write-patch": ours["patch"]}
