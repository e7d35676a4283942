"""Cross-origin resource sharing: which browser pages on other origins may call the API.

The operator lists the allowed origins (``FLOWRUNS_CORS_ORIGINS``, ``serve --cors-origin``);
there are none by default, so a browser keeps every other origin's page from reading an answer.
A preflight (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``) from an allowed
origin is answered here, outside the auth wall: browsers never send a token with one (Fetch
standard, "CORS-preflight request"). A preflight from any other origin is 403 ``accessDenied``.
Every other response to an allowed origin names it in ``Access-Control-Allow-Origin`` and exposes
the headers a Graph client reads.

The API authenticates with a bearer token, never a cookie, so no credentials mode is allowed: a
page must hold a token and send it, and a page on an origin not listed cannot use one it holds.
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flowruns.api import responses
from flowruns.errors import AccessDenied

# What a page may send: the headers Graph clients use with this API (and Content-Encoding, for
# a compressed request body; see api/body.py). Simple headers (Accept, Accept-Language…) need no
# listing.
ALLOWED_HEADERS = (
    "Authorization",
    "Content-Type",
    "Content-Encoding",
    "If-Match",
    "If-None-Match",
    "Prefer",
    "client-request-id",
    "ConsistencyLevel",
    "Idempotency-Key",
    "OData-Version",
    "OData-MaxVersion",
)
# What a page may read besides the CORS-safelisted response headers.
EXPOSED_HEADERS = (
    "ETag",
    "Location",
    "request-id",
    "client-request-id",
    "OData-Version",
    "Retry-After",
    "Preference-Applied",
)
ALLOWED_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
# How long a browser may reuse a preflight's answer; Chromium caps it at two hours.
PREFLIGHT_MAX_AGE_SECONDS = 7200


class CorsMiddleware:
    """Answers preflights from the allowed origins and marks their responses readable."""

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.any_origin = "*" in origins
        self.origins = frozenset(origins)

    def allows(self, origin: str) -> bool:
        return self.any_origin or origin in self.origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.origins:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if scope["method"] == "OPTIONS" and origin and "access-control-request-method" in headers:
            await self.preflight(scope, origin)(scope, receive, send)
            return

        async def send_marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                marked = MutableHeaders(scope=message)
                # The answer depends on Origin whenever CORS is on: caches must key on it.
                marked.add_vary_header("Origin")
                if origin and self.allows(origin):
                    marked["Access-Control-Allow-Origin"] = origin
                    marked["Access-Control-Expose-Headers"] = ", ".join(EXPOSED_HEADERS)
            await send(message)

        await self.app(scope, receive, send_marked)

    def preflight(self, scope: Scope, origin: str) -> ASGIApp:
        request = Request(scope)
        if not self.allows(origin):
            error = AccessDenied(
                f"Origin '{origin}' is not allowed to call this API from a browser; the "
                "server's operator lists the allowed origins (FLOWRUNS_CORS_ORIGINS)."
            )
            denied = responses.error_response(request, error)
            denied.headers.add_vary_header("Origin")
            return denied
        return responses.empty_response(
            request,
            204,
            {
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Methods": ", ".join(ALLOWED_METHODS),
                "Access-Control-Allow-Headers": ", ".join(ALLOWED_HEADERS),
                "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_SECONDS),
                "Vary": "Origin",
            },
        )
