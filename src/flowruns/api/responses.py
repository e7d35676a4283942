"""Responses in the shape Graph clients expect, and the one place errors become HTTP."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy.exc import StatementError
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from flowruns.api.preferences import Preferences
from flowruns.api.urls import entity_url, service_root
from flowruns.errors import DatabaseUnavailable, GraphError
from flowruns.odata.payload import (
    CONTENT_TYPE,
    context_url,
    entity_json,
    etag_header,
    etag_matches,
)
from flowruns.odata.query import ExpandItem, Selection
from flowruns.records import Record
from flowruns.store.database import unavailable, unavailable_reason

log = logging.getLogger("flowruns.api")


def request_ids(request: Request) -> tuple[str, str]:
    """(request-id, client-request-id), as set by :class:`RequestIdMiddleware`."""
    ids: tuple[str, str] = request.state.ids
    return ids


def json_response(
    request: Request, body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(body),
        status_code=status,
        media_type=CONTENT_TYPE,
        headers=headers,
    )


def raw_response(
    request: Request,
    content: bytes | str,
    media_type: str | None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    return Response(content, status_code=status, media_type=media_type, headers=headers)


def empty_response(
    request: Request, status: int = 204, headers: dict[str, str] | None = None
) -> Response:
    return Response(status_code=status, headers=headers)


def error_envelope(error: GraphError, request_id: str, client_request_id: str) -> dict[str, Any]:
    """The Graph error envelope for ``error`` (``{"error": {…}}``), for a request with these ids."""
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.target is not None:
        body["target"] = error.target
    if error.details:
        body["details"] = error.details
    body["innerError"] = {
        "code": error.code,
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "request-id": request_id,
        "client-request-id": client_request_id,
    }
    return {"error": body}


def error_response(request: Request, error: GraphError) -> Response:
    """The Graph error envelope for ``error``."""
    envelope = error_envelope(error, *request_ids(request))
    return json_response(request, envelope, error.status, error.headers)


def exception_response(request: Request, exc: Exception) -> Response:
    """The answer to whatever serving ``request`` raised: a :class:`GraphError` as itself; a
    database that cannot serve as 503 ``serviceNotAvailable`` with ``Retry-After``; anything
    else as a 500."""
    if isinstance(exc, GraphError):
        return error_response(request, exc)
    if unavailable(exc):
        request_id, _ = request_ids(request)
        # One line: the driver's words are what an operator needs, not a traceback per request.
        log.warning(
            "database unavailable: %s", unavailable_reason(exc), extra={"request_id": request_id}
        )
        return error_response(request, DatabaseUnavailable())
    return unexpected_error_response(request, exc)


def unexpected_error_response(request: Request, exc: BaseException) -> Response:
    """500 ``generalException`` without any internals; the traceback goes to the log only."""
    request_id, _ = request_ids(request)
    logged = exc
    if isinstance(exc, StatementError):
        logged = FailedStatement(_statement_failure(exc)).with_traceback(exc.__traceback__)
    log.error("unhandled error", exc_info=logged, extra={"request_id": request_id})
    return error_response(
        request, GraphError("An internal error occurred. Quote the request-id when reporting it.")
    )


class FailedStatement(Exception):
    """Stands in the log for a statement the database refused: SQLAlchemy's own message
    quotes the statement and its parameters, and those hold what the client sent."""


def _statement_failure(exc: StatementError) -> str:
    """What failed, without the statement or its parameters: the driver's error class, the
    SQLSTATE where PostgreSQL gives one, and SQLite's message (SQLite names the condition and
    at most the SQL near it, never a bound value; PostgreSQL's detail may quote values)."""
    orig = exc.orig
    if orig is None:
        return type(exc).__name__
    name = f"{type(orig).__module__}.{type(orig).__qualname__}"
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate:
        return f"{name} (SQLSTATE {sqlstate})"
    if isinstance(orig, sqlite3.Error):
        return f"{name}: {orig}"
    return name


def entity_response(
    request: Request,
    record: Record,
    fragment: str,
    *,
    status: int = 200,
    select: Selection | None = None,
    expand: Sequence[ExpandItem] = (),
    headers: dict[str, str] | None = None,
    annotations: dict[str, Any] | None = None,
) -> Response:
    """One entity with its context URL and ``ETag`` header, and the instance ``annotations``
    the client asked for (by their names in the JSON)."""
    body = {"@odata.context": context_url(service_root(request), fragment, select, expand)}
    body.update(entity_json(record, select, expand))
    body.update(annotations or {})
    return json_response(request, body, status, {"ETag": etag_header(record), **(headers or {})})


def read_response(
    request: Request,
    record: Record,
    fragment: str,
    *,
    select: Selection | None = None,
    expand: Sequence[ExpandItem] = (),
    annotations: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """An entity read: ``304`` with its ``ETag`` when ``If-None-Match`` names it (or is ``*``),
    else the entity (with ``annotations``)."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None and etag_matches(if_none_match, record.etag):
        return empty_response(request, 304, {"ETag": etag_header(record)})
    return entity_response(
        request,
        record,
        fragment,
        select=select,
        expand=expand,
        headers=headers,
        annotations=annotations,
    )


def written_response(request: Request, record: Record, fragment: str, *, created: bool) -> Response:
    """201/200 with the entity, or 204 when the client prefers ``return=minimal``."""
    prefer = Preferences.parse(request.headers.get("prefer"))
    headers: dict[str, str] = {}
    if created:
        headers["Location"] = entity_url(request, record)
    if prefer.return_minimal:
        headers["Preference-Applied"] = "return=minimal"
        headers["ETag"] = etag_header(record)
        headers["OData-EntityId"] = entity_url(request, record)
        return empty_response(request, 204, headers)
    status = 201 if created else 200
    return entity_response(request, record, fragment, status=status, headers=headers)


def streamed_value_response(
    request: Request, members: dict[str, Any], pieces: Iterator[str]
) -> Response:
    """``{…members, "value": "<the pieces joined>"}``, sent as the pieces come.

    Each piece is escaped as JSON string content on its own (an escape never spans two
    pieces), so the string is never whole in memory. The pieces are taken in a worker thread,
    where they may read the database.
    """
    opening = orjson.dumps(members)[:-1] + (b',"value":"' if members else b'"value":"')

    def body() -> Iterator[bytes]:
        yield opening
        for piece in pieces:
            yield orjson.dumps(piece)[1:-1]
        yield b'"}'

    return StreamingResponse(body(), media_type=CONTENT_TYPE)
