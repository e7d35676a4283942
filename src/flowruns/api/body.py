"""Reading request bodies within the size limit, as JSON only."""

from __future__ import annotations

from starlette.requests import ClientDisconnect, Request

from flowruns.errors import InvalidRequest, PayloadTooLarge, UnsupportedMediaType
from flowruns.odata.literals import ascii_integer


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body; 415 unless JSON, 413 past ``limit`` bytes (checked while streaming), 400 if
    the connection closes before it is complete."""
    content_type = request.headers.get("content-type")
    if content_type is not None:
        media = content_type.split(";")[0].strip().lower()
        if media != "application/json" and not media.endswith("+json"):
            raise UnsupportedMediaType(
                f"Content-Type '{media}' is not supported; send application/json."
            )
    declared = request.headers.get("content-length")
    too_large = PayloadTooLarge(f"The request body is larger than {limit} bytes.")
    declared_size = None if declared is None else ascii_integer(declared)
    if declared_size is not None and declared_size > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
    except ClientDisconnect:
        # The client went, or the server closed the connection at the body timeout: the answer
        # reaches nobody, but the request ends (and is logged) as the client error it was.
        raise InvalidRequest(
            "The connection closed before the request body was complete."
        ) from None
    return b"".join(chunks)
