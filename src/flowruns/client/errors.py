"""What the SDK raises: Graph errors by HTTP status, and a service that could not be reached.

Every :class:`GraphAPIError` carries the Graph error's ``code``, ``message`` and ``target``, the
``request-id`` to quote to the server's operators, and the HTTP status. Catch a subclass for one
status (``NotFoundError``) or :class:`GraphAPIError` for all of them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx


class FlowrunsClientError(Exception):
    """Base of every error the SDK raises."""


class ServiceUnreachableError(FlowrunsClientError):
    """No HTTP answer (connection refused, timed out, reset), after the retries allowed."""


class ForeignLinkError(FlowrunsClientError):
    """A link the service answered with (an ``@odata.nextLink``) names another origin (scheme,
    host or port) than the client's service root. It is not followed: the client sends its token
    to its own service only. A server behind a proxy writes such links until it is told its
    public URL (``FLOWRUNS_PUBLIC_URL``)."""


class GraphAPIError(FlowrunsClientError):
    """An error response of the service, in Microsoft Graph's shape."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        target: str | None = None,
        details: list[dict[str, Any]] | None = None,
        request_id: str | None = None,
        client_request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}" + (f" (target: {target})" if target else ""))
        self.status = status
        self.code = code
        self.message = message
        self.target = target
        self.details = details or []
        self.request_id = request_id
        self.client_request_id = client_request_id
        self.retry_after = retry_after


class BadRequestError(GraphAPIError):
    """400: the request breaks a rule (``invalidRequest``, ``BadRequest``)."""


class AuthenticationError(GraphAPIError):
    """401: the token is missing, expired or not trusted."""


class PermissionDeniedError(GraphAPIError):
    """403: the token lacks the permission this request needs."""


class NotFoundError(GraphAPIError):
    """404: no such entity (in this tenant)."""


class ConflictError(GraphAPIError):
    """409: e.g. changing a finished run's status, or an Idempotency-Key reused differently."""


class PreconditionFailedError(GraphAPIError):
    """412: the entity changed since the ETag given in ``if_match`` was read."""


class FailedDependencyError(GraphAPIError):
    """424: a request of a batch was not run because a request it depends on failed."""


class TooManyRequestsError(GraphAPIError):
    """429: rate limited; ``retry_after`` says how long the server asked to wait."""


class ServerError(GraphAPIError):
    """5xx: the service failed to answer the request."""


_BY_STATUS: dict[int, type[GraphAPIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    412: PreconditionFailedError,
    424: FailedDependencyError,
    429: TooManyRequestsError,
}


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The ``Retry-After`` header in seconds (delay form or HTTP date), when present."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def error_from_response(response: httpx.Response) -> GraphAPIError:
    """The typed error of a non-success response (any body, Graph-shaped or not)."""
    try:
        body = response.json()
        error = body["error"] if isinstance(body, dict) else {}
    except (ValueError, KeyError):
        error = {}
    if not isinstance(error, dict):
        error = {}
    status = response.status_code
    cls = _BY_STATUS.get(status, ServerError if status >= 500 else GraphAPIError)
    inner = error.get("innerError")
    if not isinstance(inner, dict):
        inner = {}
    return cls(
        status,
        str(error.get("code") or response.reason_phrase or "error"),
        str(error.get("message") or response.text[:500] or response.reason_phrase),
        target=error.get("target"),
        details=error.get("details"),
        request_id=response.headers.get("request-id") or inner.get("request-id"),
        client_request_id=response.headers.get("client-request-id"),
        retry_after=retry_after_seconds(response),
    )
