"""ASGI middleware that measures and logs every request: one log record and one metrics sample
each, whatever answered it (the service, a host route, the auth wall, an error handler).

Both are labelled with the request's route: the template of the route it matched, never its raw
path, so the set of labels is fixed by the routes. Below the service root the endpoint names it
with the template of its route in the route table (:func:`name_route`); a host-level route is its
Starlette path; a request no route took (an unknown path, a path that resolves to nothing or
that no route serves, one refused at the auth wall) is :data:`UNMATCHED`.
"""

from __future__ import annotations

import logging
import time

from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flowruns.api import metrics
from flowruns.auth.tokens import Principal
from flowruns.logs import FIELDS

log = logging.getLogger("flowruns.requests")

UNMATCHED = "unmatched"
# Where in ``scope["state"]`` the endpoint leaves the route it resolved the request to.
_ROUTE = "route_template"


def name_route(scope: Scope, route: str) -> None:
    """Record ``route`` (a route template, or :data:`UNMATCHED`) as the request's route."""
    scope.setdefault("state", {})[_ROUTE] = route


def _route(scope: Scope) -> str:
    named: str | None = scope.get("state", {}).get(_ROUTE)
    if named is not None:
        return named
    matched = scope.get("route")  # the host-level route Starlette's router chose
    return matched.path if isinstance(matched, Route) else UNMATCHED


class TelemetryMiddleware:
    """Times each request to the end of its response, then records it.

    It runs outside every other middleware, so it reads what they left in ``scope["state"]``
    after the response: the request ids, and the principal the auth layer admitted, whose
    tenant is logged. A request no principal was admitted for (refused with 401 or 429, or
    to a host-level route) is logged without a tenant: it proved none.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # unless a response starts: an exception escaped every handler

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            elapsed = time.perf_counter() - started
            route = _route(scope)
            metrics.observe_request(scope["method"], route, status, elapsed)
            state = scope.get("state", {})
            request_id, client_request_id = state.get("ids", (None, None))
            principal = state.get("principal")
            fields = {
                "request_id": request_id,
                "client_request_id": client_request_id,
                **({"tenant": principal.tenant} if isinstance(principal, Principal) else {}),
                "method": scope["method"],
                "route": route,
                "path": scope["path"],
                "status": status,
                "latency_ms": round(elapsed * 1000, 3),
            }
            if log.isEnabledFor(logging.INFO):
                # Made and handled as log.info() would, without looking up the caller's source
                # line (a walk of the stack that cost a tenth of the record), which no format
                # writes.
                args = (scope["method"], scope["path"], status)
                record = log.makeRecord(
                    log.name,
                    logging.INFO,
                    __file__,
                    0,
                    "%s %s %s",
                    args,
                    None,
                    None,
                    {FIELDS: fields},
                )
                log.handle(record)
