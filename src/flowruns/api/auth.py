"""The auth wall in front of the service root, and the permission check behind it.

:class:`AuthMiddleware` guards every request below ``/beta`` before anything else looks at it:
it verifies the bearer token (401 ``InvalidAuthenticationToken`` with ``WWW-Authenticate``),
applies the tenant-and-client rate limit (429 ``tooManyRequests`` with ``Retry-After``) and puts
the :class:`Principal` into ``request.state``; so does the OpenLineage endpoint at the host
root (``/api/v1/lineage``). Other host-level routes (``/healthz``, ``/openapi.json``,
``/docs``, the dashboard) pass untouched, and so do requests without a token for the operations
the route table declares anonymous (``$metadata``, the service document). Once the endpoint has
resolved the path, :func:`authorize` checks the permissions its route declares for the method
(403 ``accessDenied``) before any option is parsed; once the query options are bound, it checks
them again with every navigation they follow, before anything is read.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from flowruns.api import permissions, responses
from flowruns.api.ratelimit import RateLimiter, rate_limiter, retry_after
from flowruns.api.urls import SERVICE_ROOT_PATH
from flowruns.auth.scopes import ALL_PERMISSIONS, Need
from flowruns.auth.tokens import Principal, TokenVerifier, missing_token
from flowruns.errors import GraphError, TooManyRequests
from flowruns.odata.path import LINEAGE_PATH
from flowruns.odata.semantic import Traversal
from flowruns.settings import DEFAULT_TENANT, Settings

# What every request acts as under ``serve --no-auth``.
LOCAL_PRINCIPAL = Principal(DEFAULT_TENANT, "local", ALL_PERMISSIONS, math.inf)


class Guard:
    """Token verification and the rate limit of one server."""

    def __init__(self, settings: Settings) -> None:
        self.verifier = TokenVerifier(settings) if settings.auth else None
        self.limiter: RateLimiter | None = rate_limiter(settings)

    async def principal(self, authorization: str | None) -> Principal:
        """Who an ``Authorization`` header speaks for, or 401."""
        if self.verifier is None:
            return LOCAL_PRINCIPAL
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise missing_token()
        principal = self.verifier.cached(token)
        if principal is None:
            principal = await run_in_threadpool(self.verifier.verify, token)
            self.verifier.remember(token, principal)
        return principal

    async def admit(self, principal: Principal) -> None:
        """429 when the principal's tenant-and-client bucket is empty."""
        if self.limiter is None:
            return
        wait = await self.limiter.wait_seconds(f"{principal.tenant}/{principal.client}")
        if wait > 0:
            raise TooManyRequests(
                "Too many requests; retry after the time in Retry-After.",
                headers={"Retry-After": retry_after(wait)},
            )

    async def close(self) -> None:
        if self.limiter is not None:
            await self.limiter.close()


def _guarded(path: str) -> bool:
    """Whether ``path`` is below the service root (the same test the routes make), or the
    OpenLineage endpoint the host root serves too."""
    return path in (SERVICE_ROOT_PATH, LINEAGE_PATH) or path.startswith(SERVICE_ROOT_PATH + "/")


class AuthMiddleware:
    """Admits a request below the service root only with a valid token and within its limit.

    ``anonymous`` tells the requests that need no token (``$metadata``, the service document):
    one of those sent without an ``Authorization`` header passes, with no principal. A token
    that is sent is verified on every path.
    """

    def __init__(self, app: ASGIApp, guard: Guard, anonymous: Callable[[Scope], bool]) -> None:
        self.app = app
        self.guard = guard
        self.anonymous = anonymous

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _guarded(scope["path"]):
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if "authorization" not in request.headers and self.anonymous(scope):
            await self.app(scope, receive, send)
            return
        try:
            principal = await self.guard.principal(request.headers.get("authorization"))
            await self.guard.admit(principal)
        except GraphError as error:
            await responses.error_response(request, error)(scope, receive, send)
            return
        scope["state"]["principal"] = principal
        await self.app(scope, receive, send)


def principal_of(request: Request) -> Principal:
    """The principal :class:`AuthMiddleware` admitted (401 if the request bypassed it)."""
    principal = request.scope.get("state", {}).get("principal")
    if not isinstance(principal, Principal):
        raise missing_token()
    return principal


def authorize(
    request: Request, declared: Iterable[Need], traversals: Iterable[Traversal] = ()
) -> None:
    """403 unless the request's token grants what its route declares for the method, and what
    following ``traversals`` (the navigations of its bound query options) needs."""
    needed = permissions.needs(declared, traversals)
    permissions.check(principal_of(request).permissions, needed)
