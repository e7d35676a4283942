"""The fair read ceiling: what the two hot reads cost a bare app doing only the necessary work.

A bare Starlette app under the same uvicorn (httptools, uvloop) as ``flowruns serve``. Each
request verifies the bearer token with flowruns' own verifier and its cache of verified tokens,
runs the SQL flowruns runs for that read through the raw driver, and serialises the rows with
orjson: no OData parsing, no query compiling, no metrics, no access log, no middleware.

- ``GET /fair/run/{id}``: one run by key (scenario 1's read).
- ``GET /fair/page``: the first page of the failed outgoingFlowRuns, newest first, 100 of them
  and one more to know whether a next page follows (scenario 2's read): the same ``WHERE``,
  ``ORDER BY`` and ``LIMIT`` on the same index.

On SQLite the driver is ``sqlite3`` on one connection per process, called on the event loop:
a read by key or an index range of a hundred rows takes tens to hundreds of microseconds, less
than handing it to a thread. On PostgreSQL it is psycopg's asynchronous connection, a few per
process, so the loop never waits for the network either.

    FLOWRUNS_DATA_DIR=... [FLOWRUNS_DATABASE_URL=postgresql://...] \
        uvicorn --factory bench.fair:create_app
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import orjson
import psycopg
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from flowruns.auth.tokens import Principal, TokenVerifier
from flowruns.edm.industrydata import run_status
from flowruns.settings import Settings
from flowruns.store.database import engine_url, sqlite_url
from flowruns.store.schema import runs

PAGE_SIZE = 100
RUN_TYPE = "outgoingFlowRun"
# A few connections per process on PostgreSQL: wrk keeps eight requests in flight.
POSTGRESQL_CONNECTIONS = 4

_COLUMNS = [str(c.name) for c in runs.columns]  # plain str: orjson takes no subclass
_JSON_COLUMNS = {"statistics", "blocking_error"}
_SELECT = ", ".join(f"CAST({c} AS TEXT)" if c in _JSON_COLUMNS else c for c in _COLUMNS)
_BY_KEY = f"SELECT {_SELECT} FROM runs WHERE tenant_id = {{p}} AND id = {{p}}"
_PAGE = (
    f"SELECT {_SELECT} FROM runs WHERE tenant_id = {{p}} AND type IN ({{p}}) AND status = {{p}} "
    f"ORDER BY start_date_time DESC, id DESC LIMIT {PAGE_SIZE + 1}"
)


def _row(values: Sequence[Any]) -> dict[str, Any]:
    """A row as a JSON object: stored JSON passed through as it is, everything else as read."""
    row = dict(zip(_COLUMNS, values, strict=True))
    for name in _JSON_COLUMNS:
        if row[name] is not None:
            row[name] = orjson.Fragment(row[name])
    return row


class _Sqlite:
    def __init__(self, path: str) -> None:
        self.connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.connection.execute("PRAGMA cache_size=-65536")  # as flowruns configures it

    async def rows(self, sql: str, parameters: Sequence[Any]) -> list[Any]:
        return self.connection.execute(sql.format(p="?"), parameters).fetchall()

    async def close(self) -> None:
        self.connection.close()


class _Postgresql:
    def __init__(self, url: str) -> None:
        self.url = url
        self.idle: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()

    async def open(self) -> None:
        for _ in range(POSTGRESQL_CONNECTIONS):
            connection = await psycopg.AsyncConnection.connect(self.url, autocommit=True)
            self.idle.put_nowait(connection)

    async def rows(self, sql: str, parameters: Sequence[Any]) -> list[Any]:
        connection = await self.idle.get()
        try:
            cursor = await connection.execute(sql.format(p="%s"), parameters)
            return await cursor.fetchall()
        finally:
            self.idle.put_nowait(connection)

    async def close(self) -> None:
        while not self.idle.empty():
            await self.idle.get_nowait().close()


def create_app() -> Starlette:
    """The fair ceiling configured from the environment (see the module docstring)."""
    settings = Settings.from_env()
    verifier = TokenVerifier(settings)
    failed = run_status.value_of("failed")
    database: _Sqlite | _Postgresql
    if settings.database_url:
        url = engine_url(settings.database_url).set(drivername="postgresql")
        database = _Postgresql(url.render_as_string(hide_password=False))
    else:
        database = _Sqlite(sqlite_url(settings.data_dir).removeprefix("sqlite:///"))

    async def principal(request: Request) -> Principal | None:
        """The token's principal, verified once and then taken from the verifier's cache."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        found = verifier.cached(token)
        if found is None:
            found = await run_in_threadpool(verifier.verify, token)
            verifier.remember(token, found)
        return found

    def guarded(
        answer: Callable[[Request, Principal], Awaitable[Response]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            who = await principal(request)
            if who is None:
                return Response(status_code=401)
            return await answer(request, who)

        return endpoint

    async def get_run(request: Request, who: Principal) -> Response:
        rows = await database.rows(_BY_KEY, (who.tenant, request.path_params["id"]))
        if not rows:
            return Response(status_code=404)
        return Response(orjson.dumps(_row(rows[0])), media_type="application/json")

    async def get_page(_: Request, who: Principal) -> Response:
        rows = await database.rows(_PAGE, (who.tenant, RUN_TYPE, failed))
        body: dict[str, Any] = {"value": [_row(r) for r in rows[:PAGE_SIZE]]}
        if len(rows) > PAGE_SIZE:
            body["next"] = True
        return Response(orjson.dumps(body), media_type="application/json")

    async def healthz(_: Request) -> Response:
        return Response(b"ok")

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        if isinstance(database, _Postgresql):
            await database.open()
        yield
        await database.close()

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/fair/run/{id}", guarded(get_run)),
            Route("/fair/page", guarded(get_page)),
        ],
        lifespan=lifespan,
    )
