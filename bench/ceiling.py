"""The bare Starlette ceilings, run by uvicorn exactly like ``flowruns serve``.

``GET /page`` answers the bytes of a flowruns list page from memory (the read ceiling) and
``POST /insert`` inserts one run through flowruns' own engine, pool and write transaction
(the write ceiling). Nothing else runs per request: no middleware, no parsing, no logging.

    BENCH_PAGE=page.json FLOWRUNS_DATA_DIR=... uvicorn --factory bench.ceiling:create_app
"""

from __future__ import annotations

import os
import secrets
import uuid
from pathlib import Path

from sqlalchemy import insert
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
PROCESS_ENV = "BENCH_PROCESS_ID"


def create_app() -> Starlette:
    """The ceiling app configured from the environment (see the module docstring)."""
    page = Path(os.environ[PAGE_ENV]).read_bytes()
    page_type = os.environ.get(PAGE_TYPE_ENV, "application/json")
    process_id = os.environ.get(PROCESS_ENV) or None
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
            "process_id": process_id,
            "display_name": "ceiling",
            "start_date_time": now,
            "status": running,
            "statistics": {},
        }
        with database.writing() as connection:
            connection.execute(insert(runs).values(**row))

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
            Route("/insert", post_insert, methods=["POST"]),
        ]
    )
