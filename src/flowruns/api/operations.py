"""Host-level routes for operators and load balancers, outside the service root and its auth:
``/readyz`` (may this process take traffic?) and ``/metrics`` (Prometheus)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from flowruns.api import metrics, responses
from flowruns.store import migrations
from flowruns.store.database import Database
from flowruns.store.migrations import SchemaState


def _schema(db: Database) -> SchemaState:
    with db.engine.connect() as connection:
        return migrations.state(connection)


def routes(db: Database, delivering: Callable[[], bool]) -> list[Route]:
    """``/readyz`` and ``/metrics`` for the server on ``db``, whose delivery of change
    notifications runs while ``delivering()``."""

    async def readyz(request: Request) -> Response:
        """200 while the database answers and has the schema this server needs and change
        notifications are being delivered; else 503, so a load balancer sends requests
        elsewhere and an operator sees it (``/healthz`` only says the process lives)."""
        if not delivering():
            reason = "The change notification delivery process is not running (restarting)."
            return responses.json_response(
                request, {"status": "unavailable", "reason": reason}, 503
            )
        try:
            found = await run_in_threadpool(_schema, db)
        except SQLAlchemyError:
            body = {"status": "unavailable", "reason": "The database cannot be reached."}
            return responses.json_response(request, body, 503)
        if not found.current:
            reason = f"The database schema is {found.describe()}."
            return responses.json_response(
                request, {"status": "unavailable", "reason": reason}, 503
            )
        return responses.json_response(request, {"status": "ready", "schema": found.revision})

    async def metrics_text(_: Request) -> Response:
        body = await run_in_threadpool(metrics.exposition, db)
        return Response(body, media_type=metrics.CONTENT_TYPE)

    return [
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_text, methods=["GET"]),
    ]
