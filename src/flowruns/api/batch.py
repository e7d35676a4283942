"""JSON batching (``POST /beta/$batch``), as Microsoft Graph does it.

A batch is read whole first (:func:`read_batch`): a malformed one (not JSON, more than
:data:`~flowruns.edm.capabilities.MAX_BATCH_REQUESTS` requests, an ``id`` twice, a ``dependsOn``
that names no request or goes round in a circle, a body without ``Content-Type``) is one 400 and
nothing runs. Then every request runs (:func:`run_batch`) as soon as the requests it depends on
have answered, the others at once; a request whose dependency failed (answered anything but 2xx)
is not run and answers ``424 failedDependency``.

Each request runs through the whole application, in this process, as an HTTP request of its own
(:func:`_dispatch`): the batch's ``Authorization`` header with the request's own method, URL,
headers and body. The auth wall, the tenant-and-client rate limit, the route table's permission
check, tenancy, the request log and metrics, and the error envelope are therefore the very code a
request sent alone meets: a batch can do nothing its requests could not do one by one. What the
request does not take from its item: the connection's own headers (``Host``,
``Content-Length``, ``Authorization``, ``Accept-Encoding``, ``Origin`` and the hop-by-hop
ones), which come from the batch or are left out; its ``client-request-id`` is the batch's
unless it sends its own. A request that is itself a ``$batch`` is a 400.

The batch itself is a request too: it passes the auth wall (401 for the whole batch) and counts
once against the rate limit, and each of its requests counts once more, so a batch of 20 costs 21
(a client cannot multiply its rate by batching). Its body is read within the body limit of any
request, so each request's body is within it too.

Answers: each response carries ``id``, ``status``, ``headers`` (as the request alone would have
had them) and ``body`` when there is one: JSON as JSON, anything else (the count of ``/$count``,
the CSDL of ``$metadata``) as base64, as Graph writes it and its clients read it. Responses come
in the order of the requests.
"""

from __future__ import annotations

import base64
import binascii
import logging
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import anyio
import orjson
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Scope

from flowruns.api.body import read_body
from flowruns.api.responses import error_envelope, request_ids
from flowruns.api.urls import SERVICE_ROOT_PATH, service_root
from flowruns.edm.capabilities import BATCH_METHODS, MAX_BATCH_REQUESTS
from flowruns.errors import FailedDependency, GraphError, InvalidRequest
from flowruns.odata.payload import CONTENT_TYPE

log = logging.getLogger("flowruns.api")

# Set in the scope of a batch's request, so that a batch inside a batch is refused.
_IN_BATCH = "flowruns.batch"
# Headers of a request that belong to the batch's connection, not to the request it carries.
_CONNECTION_HEADERS = frozenset(
    {
        "authorization",
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "upgrade",
        "expect",
        "accept-encoding",
        "origin",
    }
)
# What a request takes from the batch's own headers.
_FROM_BATCH = ("host", "authorization")
# Response headers that describe the message of one connection, not the answer (a request of a
# batch negotiates no encoding, so the Vary of the compression layer says nothing of it).
_MESSAGE_HEADERS = frozenset({"content-length", "transfer-encoding", "connection", "vary"})
_CONTROLS = frozenset(chr(c) for c in [*range(0x20), 0x7F])
# Characters a URL may hold as they are; anything else is percent-encoded, as a client would.
_SAFE_IN_PATH = "/:@!$&'()*+,;=%-._~"
_SAFE_IN_QUERY = _SAFE_IN_PATH + "?"


@dataclass(frozen=True)
class BatchRequest:
    """One request of a batch, as read from it."""

    id: str
    method: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | None = None
    depends_on: tuple[str, ...] = ()


@dataclass
class BatchResponse:
    """One request's answer: status, headers (names as sent, lower case) and body bytes."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    @property
    def succeeded(self) -> bool:
        return 200 <= self.status < 300

    def json(self, request_id: str) -> dict[str, Any]:
        """The response as the batch's answer lists it."""
        headers: dict[str, str] = {}
        for name, value in self.headers:
            if name not in _MESSAGE_HEADERS:
                headers[name] = f"{headers[name]}, {value}" if name in headers else value
        answer: dict[str, Any] = {"id": request_id, "status": self.status, "headers": headers}
        if self.body:
            answer["body"] = _body_value(headers.get("content-type", ""), self.body)
        return answer


def _body_value(content_type: str, body: bytes) -> Any:
    """JSON as JSON, anything else as base64: Graph's clients decode every string body as
    base64 (Microsoft's Python client fails on a plain-text one), so text is base64 too."""
    media = content_type.split(";", maxsplit=1)[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass  # not what it says it is: passed on as bytes
    return base64.b64encode(body).decode("ascii")


def _invalid(message: str, target: str | None = None) -> InvalidRequest:
    return InvalidRequest(message, target=target)


def _string(value: Any, what: str, target: str) -> str:
    if not isinstance(value, str) or not value:
        raise _invalid(f"{what} must be a non-empty string.", target)
    return value


def _headers(value: Any, target: str) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise _invalid("'headers' must be an object of header names and string values.", target)
    headers = []
    for name, text in value.items():
        if not isinstance(text, str):
            raise _invalid(f"The value of header '{name}' must be a string.", target)
        if not name or any(c in _CONTROLS or c in " :" for c in name) or not name.isascii():
            raise _invalid(f"'{name}' is not a header name.", target)
        if any(c in _CONTROLS for c in text):
            raise _invalid(f"The value of header '{name}' holds a control character.", target)
        headers.append((name.lower(), text))
    return tuple(headers)


def _body(value: Any, headers: Mapping[str, str], target: str) -> bytes | None:
    """The bytes of a request's ``body``: JSON for a JSON media type, base64 (or base64url) for
    anything else, as Graph reads it."""
    if value is None:
        return None
    content_type = headers.get("content-type")
    if content_type is None:
        raise _invalid("A request with a body needs a Content-Type header.", target)
    media = content_type.split(";")[0].strip().lower()
    if media == "application/json" or media.endswith("+json"):
        return orjson.dumps(value)
    if not isinstance(value, str):
        raise _invalid(f"The body of a '{media}' request must be a base64 string.", target)
    standard = value.replace("-", "+").replace("_", "/")  # base64url too, padded or not
    try:
        return base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise _invalid(f"The body of a '{media}' request must be base64.", target) from None


def _depends_on(item: dict[str, Any], target: str) -> tuple[str, ...]:
    # Microsoft's Python Graph client writes the list as 'depends_on'.
    spellings = [key for key in ("dependsOn", "depends_on") if key in item]
    if len(spellings) > 1:
        raise _invalid("Give 'dependsOn' once.", target)
    value = item.get(spellings[0]) if spellings else None
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _invalid("'dependsOn' must be a list of request ids.", target)
    return tuple(value)


def _request(item: Any, index: int) -> BatchRequest:
    target = f"requests[{index}]"
    if not isinstance(item, dict):
        raise _invalid("Each request of a batch must be an object.", target)
    request_id = _string(item.get("id"), "'id'", f"{target}.id")
    method = _string(item.get("method"), "'method'", f"{target}.method").upper()
    if method not in BATCH_METHODS:
        allowed = ", ".join(BATCH_METHODS)
        raise _invalid(f"'method' must be one of {allowed}.", f"{target}.method")
    url = _string(item.get("url"), "'url'", f"{target}.url")
    headers = _headers(item.get("headers"), f"{target}.headers")
    body = _body(item.get("body"), dict(headers), f"{target}.body")
    return BatchRequest(request_id, method, url, headers, body, _depends_on(item, target))


def read_batch(raw: bytes) -> list[BatchRequest]:
    """The requests of a batch body, or 400 for the whole batch."""
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise _invalid("The batch is not valid JSON.") from None
    if not isinstance(document, dict) or not isinstance(document.get("requests"), list):
        raise _invalid("A batch is an object with a 'requests' list.", "requests")
    items = document["requests"]
    if not 1 <= len(items) <= MAX_BATCH_REQUESTS:
        raise _invalid(
            f"A batch holds 1 to {MAX_BATCH_REQUESTS} requests; this one has {len(items)}.",
            "requests",
        )
    requests = [_request(item, index) for index, item in enumerate(items)]
    # Ids are compared without case, as Graph compares them.
    by_id: dict[str, BatchRequest] = {}
    for request in requests:
        if request.id.lower() in by_id:
            raise _invalid(f"The id '{request.id}' is used by more than one request.", "id")
        by_id[request.id.lower()] = request
    for request in requests:
        for needed in request.depends_on:
            if needed.lower() not in by_id:
                raise _invalid(
                    f"Request '{request.id}' depends on '{needed}', which is not in the batch.",
                    "dependsOn",
                )
    _refuse_cycles(requests)
    return requests


def _refuse_cycles(requests: list[BatchRequest]) -> None:
    """400 when following ``dependsOn`` from some request leads back to it: the requests that
    never become ready, once every request whose dependencies are ready has run, are a circle
    (or wait for one)."""
    waiting = {r.id.lower(): {d.lower() for d in r.depends_on} for r in requests}
    ready = [key for key, needs in waiting.items() if not needs]
    while ready:
        done = ready.pop()
        for key, needs in waiting.items():
            if done in needs:
                needs.discard(done)
                if not needs:
                    ready.append(key)
    stuck = [r.id for r in requests if waiting[r.id.lower()]]
    if stuck:
        raise _invalid(f"The dependencies of requests {', '.join(stuck)} go round in a circle.")


def _origin(scheme: str, netloc: str) -> tuple[str, str, int | None]:
    parts = urlsplit(f"{scheme}://{netloc}")
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def _below_root(url: str, root: str) -> tuple[str, str]:
    """(path below the service root, query) of a request's URL: relative to the service root
    (``/external/industryData/runs``), or absolute within it. 400 for that request otherwise."""
    try:
        parts = urlsplit(url)
        if parts.scheme or parts.netloc:
            ours = urlsplit(root)
            if _origin(parts.scheme, parts.netloc) != _origin(ours.scheme, ours.netloc):
                raise _invalid(
                    f"'{url}' names another host; a batch holds requests to {root} only.", "url"
                )
            path = parts.path
            if path != ours.path and not path.startswith(ours.path + "/"):
                raise _invalid(f"'{url}' is not below the service root {root}.", "url")
            return path[len(ours.path) :], parts.query
    except ValueError:  # a port that is not a number, an unclosed '['
        raise _invalid(f"'{url}' is not a valid URL.", "url") from None
    path = parts.path if parts.path.startswith("/") else f"/{parts.path}"
    return path, parts.query


class _Exchange:
    """The ASGI messages between the batch and the application for one request."""

    def __init__(self, body: bytes) -> None:
        self._body: bytes | None = body
        self._answered = anyio.Event()
        self.response: BatchResponse | None = None
        self._chunks: list[bytes] = []

    async def receive(self) -> Message:
        if self._body is not None:
            body, self._body = self._body, None
            return {"type": "http.request", "body": body, "more_body": False}
        await self._answered.wait()  # as a client that stays until the response is sent
        return {"type": "http.disconnect"}

    @property
    def complete(self) -> bool:
        """Whether the whole response was sent."""
        return self._answered.is_set()

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in message["headers"]]
            self.response = BatchResponse(message["status"], headers)
        elif message["type"] == "http.response.body":
            self._chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                assert self.response is not None
                self.response.body = b"".join(self._chunks)
                self._answered.set()


def _scope(
    parent: Scope, request: BatchRequest, client_request_id: str, path: str, query: str
) -> Scope:
    """The HTTP scope of ``request``, sent over the batch's connection with its token."""
    parent_headers = {n.decode("latin-1"): v for n, v in parent["headers"]}
    headers = [(n.encode("latin-1"), parent_headers[n]) for n in _FROM_BATCH if n in parent_headers]
    headers.append((b"client-request-id", client_request_id.encode("utf-8")))
    headers += [
        (name.encode("latin-1"), value.encode("utf-8"))
        for name, value in request.headers
        if name not in _CONNECTION_HEADERS and name != "client-request-id"
    ]
    if request.body is not None:
        headers.append((b"content-length", str(len(request.body)).encode("latin-1")))
    raw_path = quote(SERVICE_ROOT_PATH + path, safe=_SAFE_IN_PATH)
    return {
        "type": "http",
        "asgi": parent.get("asgi", {"version": "3.0"}),
        "http_version": parent.get("http_version", "1.1"),
        "method": request.method,
        "scheme": parent["scheme"],
        "server": parent.get("server"),
        "client": parent.get("client"),
        "root_path": parent.get("root_path", ""),
        "path": unquote(raw_path),
        "raw_path": raw_path.encode("ascii"),
        "query_string": quote(query, safe=_SAFE_IN_QUERY).encode("ascii"),
        "headers": headers,
        "state": {},
        "extensions": {},
        _IN_BATCH: True,
    }


async def _dispatch(app: ASGIApp, scope: Scope, body: bytes) -> BatchResponse:
    """What the application answers to one request."""
    exchange = _Exchange(body)
    try:
        await app(scope, exchange.receive, exchange.send)
    except Exception:
        # Once a response is whole, the application's handlers answered (and logged) what was
        # raised, and a server would only close the connection. A response cut short (a stream
        # that failed part-way) is a broken connection alone, and a 500 here.
        if not exchange.complete:
            log.exception("a request of a batch ended without its whole answer")
    if exchange.response is None or not exchange.complete:
        ids = scope["state"].get("ids") or (str(uuid.uuid4()), str(uuid.uuid4()))
        return _answered_here(GraphError("An internal error occurred."), ids[1], ids[0])
    return exchange.response


def _answered_here(
    error: GraphError, client_request_id: str, request_id: str | None = None
) -> BatchResponse:
    """The answer the batch gives itself for a request it does not send (its URL is not one of
    this service's, or a request it depends on failed), with a request-id of its own, or for one
    that got no whole answer."""
    request_id = request_id or str(uuid.uuid4())
    body = orjson.dumps(error_envelope(error, request_id, client_request_id))
    headers = [
        ("content-type", CONTENT_TYPE),
        ("request-id", request_id),
        ("client-request-id", client_request_id),
        ("odata-version", "4.0"),
        *((name.lower(), value) for name, value in error.headers.items()),
    ]
    return BatchResponse(error.status, headers, body)


async def requests_of(request: Request, limit: int) -> list[BatchRequest]:
    """The requests of the batch ``request`` sends (its body within ``limit`` bytes, the limit of
    any request); 400 when ``request`` is itself a request of a batch."""
    if request.scope.get(_IN_BATCH):
        raise _invalid("A request of a batch cannot be a batch itself.")
    return read_batch(await read_body(request, limit))


async def run_batch(request: Request, requests: Iterable[BatchRequest]) -> list[dict[str, Any]]:
    """Every request's answer, in the order of ``requests``; each runs when those it depends on
    have answered, the others at once."""
    app: ASGIApp = request.scope["app"]
    root = service_root(request)
    _, batch_client_request_id = request_ids(request)
    ordered = list(requests)
    answered = {r.id.lower(): anyio.Event() for r in ordered}
    responses: dict[str, BatchResponse] = {}

    async def run(item: BatchRequest) -> None:
        key = item.id.lower()
        client_request_id = dict(item.headers).get("client-request-id", batch_client_request_id)
        try:
            for needed in item.depends_on:
                await answered[needed.lower()].wait()
            failed = [d for d in item.depends_on if not responses[d.lower()].succeeded]
            if failed:
                raise FailedDependency(f"Request '{failed[0]}', which this one depends on, failed.")
            path, query = _below_root(item.url, root)
            scope = _scope(request.scope, item, client_request_id, path, query)
            responses[key] = await _dispatch(app, scope, item.body or b"")
        except GraphError as error:
            responses[key] = _answered_here(error, client_request_id)
        finally:
            answered[key].set()

    async with anyio.create_task_group() as group:
        for item in ordered:
            group.start_soon(run, item)
    return [responses[r.id.lower()].json(r.id) for r in ordered]
