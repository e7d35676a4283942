"""The bare Starlette ceilings, run by uvicorn exactly like ``flowruns serve``.

``GET /page`` answers the bytes of a flowruns list page from memory (the read ceiling) and
``POST /insert`` inserts one run through flowruns' own engine, pool and write transaction
(the write ceiling). ``GET /run/{id}`` reads one run by key through the same engine and read
transaction and answers its columns as JSON: how much of a GET by id the database path alone
costs. Nothing else runs per request: no middleware, no validation, no logging.

    BENCH_PAGE=page.json FLOWRUNS_DATA_DIR=... uvicorn --factory bench.ceiling:create_app
"""

from __future__ import annotations

import itertools
import os
import secrets
import uuid
from pathlib import Path

import orjson
from sqlalchemy import insert, select
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from flowruns.api.app import open_database
from flowruns.edm.datetimes import now_ticks
from flowruns.edm.industrydata import run_status
from flowruns.settings import DEFAULT_TENANT, Settings
from flowruns.store.schema import runs

PAGE_ENV = "BENCH_PAGE"
PAGE_TYPE_ENV = "BENCH_PAGE_TYPE"
PROCESSES_ENV = "BENCH_PROCESS_IDS"  # comma-separated; inserts take them in turn


def create_app() -> Starlette:
    """The ceiling app configured from the environment (see the module docstring)."""
    page = Path(os.environ[PAGE_ENV]).read_bytes()
    page_type = os.environ.get(PAGE_TYPE_ENV, "application/json")
    process_ids = itertools.cycle(os.environ[PROCESSES_ENV].split(","))
    database = open_database(Settings.from_env())
    running = run_status.value_of("running")

    def insert_run() -> None:
        now = now_ticks()
        row = {
            "tenant_id": DEFAULT_TENANT,
            "id": str(uuid.uuid4()),
            "type": "outgoingFlowRun",
            "etag": secrets.token_hex(8),
            "touched": now,
            "process_id": next(process_ids),
            "display_name": "ceiling",
            "start_date_time": now,
            "status": running,
            "statistics": {},
        }
        with database.writing() as connection:
            connection.execute(insert(runs).values(**row))

    def select_run(run_id: str) -> dict[str, object] | None:
        statement = select(runs).where(runs.c.tenant_id == DEFAULT_TENANT, runs.c.id == run_id)
        with database.reading() as connection:
            row = connection.execute(statement).first()
        return None if row is None else dict(row._mapping)

    async def get_run(request: Request) -> Response:
        row = await run_in_threadpool(select_run, request.path_params["id"])
        if row is None:
            return Response(status_code=404)
        # Column names arrive as a str subclass, which orjson accepts only with this option.
        body = orjson.dumps(row, option=orjson.OPT_NON_STR_KEYS)
        return Response(body, media_type="application/json")

    async def healthz(_: Request) -> Response:
        return Response(b"ok")

    async def get_page(_: Request) -> Response:
        return Response(page, media_type=page_type)

    async def post_insert(_: Request) -> Response:
        await run_in_threadpool(insert_run)
        return Response(status_code=201)

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/page", get_page),
            Route("/run/{id}", get_run),
            Route("/insert", post_insert, methods=["POST"]),
        ]
    )
