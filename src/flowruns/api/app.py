"""The ASGI application: the OData service root at ``/beta`` and the host-level routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from flowruns.api.endpoint import SERVICE_ROOT_PATH, ODataEndpoint
from flowruns.settings import Settings
from flowruns.store.database import Database, make_engine, sqlite_url

_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def open_database(settings: Settings) -> Database:
    """The database of ``settings``; a SQLite file in the data directory by default."""
    if settings.database_url:
        return Database(make_engine(settings.database_url))
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(make_engine(sqlite_url(settings.data_dir)))
    db.create_schema()
    return db


def create_app(settings: Settings, db: Database | None = None) -> Starlette:
    """The flowruns server for ``settings`` (``db`` overrides the configured database)."""
    database = db or open_database(settings)
    endpoint = ODataEndpoint(settings, database)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        if db is None:
            database.dispose()

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route(SERVICE_ROOT_PATH, endpoint.handle, methods=_METHODS),
        Route(SERVICE_ROOT_PATH + "/{path:path}", endpoint.handle, methods=_METHODS),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
