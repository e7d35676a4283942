"""The ASGI application: the OData service root at ``/beta`` and the host-level routes
(``/healthz``, ``/readyz``, ``/metrics``, the docs, the dashboard, OpenLineage's
``/api/v1/lineage`` and the keys of notifications' validation tokens, ``/notifications/keys``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from flowruns import dashboard
from flowruns.api import metrics, operations, reference, responses
from flowruns.api.auth import AuthMiddleware, Guard
from flowruns.api.compression import CompressionMiddleware
from flowruns.api.cors import CorsMiddleware
from flowruns.api.delivery import Delivery, DeliveryProcess
from flowruns.api.endpoint import ODataEndpoint
from flowruns.api.middleware import RequestIdMiddleware
from flowruns.api.notifying import Notifier
from flowruns.api.routes import ROUTES
from flowruns.api.telemetry import TelemetryMiddleware
from flowruns.api.urls import SERVICE_ROOT_PATH, service_root
from flowruns.auth.validation_tokens import KEYS_PATH as NOTIFICATION_KEYS_PATH
from flowruns.errors import GraphError, MethodNotAllowed, NotFound
from flowruns.odata.path import LINEAGE_PATH
from flowruns.service import counting, freshness, health, retention, stale
from flowruns.settings import Settings, parse_public_url
from flowruns.store import migrations
from flowruns.store.database import Database, open_engine

SQLITE_THREADS = 2
_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def open_database(settings: Settings) -> Database:
    """The database of ``settings`` with the current schema; SQLite in the data directory by
    default. Raises :class:`~flowruns.store.migrations.SchemaNotCurrent` for a database that
    needs ``flowruns db upgrade`` first (the data directory's own is upgraded here)."""
    db = Database(open_engine(settings.database_url, settings.data_dir))
    try:
        migrations.prepare(db.engine, upgrade_outdated=settings.database_url is None)
    except BaseException:
        db.dispose()
        raise
    return db


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 (outside the service root) in the Graph error shape."""
    assert isinstance(exc, HTTPException)
    error: GraphError
    if exc.status_code == 405:
        error = MethodNotAllowed(
            f"{request.method} is not allowed here.", headers=dict(exc.headers or {})
        )
    elif exc.status_code == 404:
        # Outside the service root: most likely a URL that lacks its /beta.
        error = NotFound(
            f"No resource at '{request.url.path}'. The OData service root ends in "
            f"{SERVICE_ROOT_PATH}: {service_root(request)}"
        )
    else:
        error = GraphError(str(exc.detail))
        error.status = exc.status_code
    return responses.error_response(request, error)


async def _exception(request: Request, exc: Exception) -> Response:
    return responses.exception_response(request, exc)


def create_app(
    settings: Settings, db: Database | None = None, *, delivery_process: bool = False
) -> Starlette:
    """The flowruns server for ``settings`` (``db`` overrides the configured database); change
    notifications are delivered by a process of its own beside it with ``delivery_process``
    (as ``flowruns serve`` does), else in its own event loop (:mod:`flowruns.api.delivery`)."""
    # First: a bad key setting must fail before a database opens.
    guard = Guard(settings)
    settings.secret()
    database = db or open_database(settings)
    delivery = DeliveryProcess(settings) if delivery_process else Delivery(settings, database)
    notifier = Notifier(settings, delivery.changed)
    endpoint = ODataEndpoint(settings, database, ROUTES, notifier)

    async def healthz(request: Request) -> Response:
        return responses.json_response(request, {"status": "ok"})

    async def notification_keys(request: Request) -> Response:
        """The JWKS document that verifies the validationTokens of rich notifications."""
        return responses.json_response(request, notifier.tokens.jwks())

    if db is None:
        metrics.watch_pool(database.engine)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        if database.is_sqlite:
            # SQLite serves one writer at a time, and more than two threads reading at once only
            # fight over the GIL and SQLite's mutexes: with two, a filtered 100-run page went
            # from 249 to 335 requests/s under 8 connections (docs/performance.md).
            anyio.to_thread.current_default_thread_limiter().total_tokens = SQLITE_THREADS
        async with anyio.create_task_group() as background:
            if settings.run_timeout_seconds > 0:
                background.start_soon(stale.check_forever, database, settings.run_timeout_seconds)
            if not database.is_sqlite:
                background.start_soon(counting.fold_forever, database)
            background.start_soon(
                retention.prune_forever, database, settings.change_retention_seconds
            )
            if settings.evaluate_health:
                evaluations = (health.evaluate_due, freshness.evaluate_due)
                background.start_soon(health.evaluate_forever, database, evaluations)
            await background.start(delivery.run)
            yield
            background.cancel_scope.cancel()
        await notifier.close()
        await guard.close()
        if db is None:
            database.dispose()
            metrics.forget_pool(database.engine)
        metrics.process_ended()

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route(NOTIFICATION_KEYS_PATH, notification_keys, methods=["GET"]),
        *operations.routes(database, lambda: delivery.running),
        *reference.routes(),
        *dashboard.routes(),
        # Where OpenLineage clients post by default: served by the endpoint as below /beta.
        Route(LINEAGE_PATH, endpoint.handle, methods=["POST"]),
        Route(SERVICE_ROOT_PATH, endpoint.handle, methods=_METHODS),
        Route(SERVICE_ROOT_PATH + "/{path:path}", endpoint.handle, methods=_METHODS),
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[
            Middleware(TelemetryMiddleware),
            Middleware(CompressionMiddleware),
            Middleware(RequestIdMiddleware),
            # Outside the auth wall: a browser's preflight carries no token.
            Middleware(CorsMiddleware, origins=settings.cors_origins),
            Middleware(AuthMiddleware, guard=guard, anonymous=endpoint.serves_anonymously),
        ],
        # Starlette answers an exception it has a handler for where it was raised; only the
        # handler of Exception itself answers and then re-raises to the server, which closes
        # the connection. So the errors a request can meet are named here, and keep it open.
        exception_handlers={
            HTTPException: _http_error,
            GraphError: _exception,
            SQLAlchemyError: _exception,
            Exception: _exception,
        },
    )
    # Read by flowruns.api.urls for every absolute URL a response carries.
    app.state.public_url = parse_public_url(settings.public_url) if settings.public_url else None
    return app
