"""The one error hierarchy of flowruns.

Every layer raises these; :mod:`flowruns.api.responses` turns them into the Graph error envelope.
Each class fixes the HTTP status and the Graph error code.
"""

from __future__ import annotations


class GraphError(Exception):
    """An error a client can act on, in Microsoft Graph's shape."""

    status = 500
    code = "generalException"

    def __init__(
        self,
        message: str,
        *,
        target: str | None = None,
        code: str | None = None,
        details: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.target = target
        if code is not None:
            self.code = code
        self.details = details or []
        self.headers = headers or {}


class InvalidRequest(GraphError):
    """400: the request is malformed or breaks a rule of the model."""

    status = 400
    code = "invalidRequest"


class BadRequest(InvalidRequest):
    """400 for a URL that names no resource (Graph's ``BadRequest`` variant)."""

    code = "BadRequest"


class Unauthenticated(GraphError):
    status = 401
    code = "InvalidAuthenticationToken"


class AccessDenied(GraphError):
    status = 403
    code = "accessDenied"


class NotFound(GraphError):
    status = 404
    code = "itemNotFound"


class MethodNotAllowed(GraphError):
    status = 405
    code = "notAllowed"


class Conflict(GraphError):
    status = 409
    code = "conflict"


class SyncStateNotFound(GraphError):
    """A delta token older than the change log keeps: the client must synchronise afresh."""

    status = 410
    code = "syncStateNotFound"


class PreconditionFailed(GraphError):
    status = 412
    code = "resourceModified"


class PayloadTooLarge(GraphError):
    status = 413
    code = "requestEntityTooLarge"


class UriTooLong(GraphError):
    status = 414
    code = "requestUriTooLong"


class RequestHeaderFieldsTooLarge(GraphError):
    """431: the request line and headers together are longer than the server reads."""

    status = 431
    code = "requestHeaderFieldsTooLarge"


class UnsupportedMediaType(GraphError):
    status = 415
    code = "unsupportedMediaType"


class FailedDependency(GraphError):
    """424: a request of a JSON batch was not run because a request it depends on failed."""

    status = 424
    code = "failedDependency"


class TooManyRequests(GraphError):
    status = 429
    code = "tooManyRequests"


class ServiceUnavailable(GraphError):
    """503: the service could not take the request now; sending it again may succeed."""

    status = 503
    code = "serviceNotAvailable"


class DatabaseUnavailable(ServiceUnavailable):
    """503 while the database cannot serve (unreachable, shutting down, locked beyond its busy
    timeout); the request may be sent again after ``Retry-After``."""

    RETRY_AFTER_SECONDS = 5

    def __init__(self) -> None:
        super().__init__(
            "The service cannot use its database right now; send the request again later.",
            headers={"Retry-After": str(self.RETRY_AFTER_SECONDS)},
        )


class NotSupported(GraphError):
    status = 501
    code = "notSupported"
