"""Reading request bodies within the size limit, as JSON only, plain or gzip-coded."""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator

from starlette.requests import ClientDisconnect, Request

from flowruns.errors import InvalidRequest, PayloadTooLarge, UnsupportedMediaType
from flowruns.odata.literals import ascii_integer

# Content-Encoding values a request body may carry; "identity" is the same as none.
ACCEPTED_ENCODINGS = ("gzip", "x-gzip", "identity")
_GZIP_WBITS = 16 + zlib.MAX_WBITS


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, decoded when it is gzip-coded; 415 unless JSON (or for another coding),
    413 past ``limit`` bytes (checked while streaming; of a coded body, on the decoded bytes as
    they come, so a small body that inflates past the limit is refused without being inflated
    whole), 400 for a coding error or if the connection closes before the body is complete."""
    content_type = request.headers.get("content-type")
    if content_type is not None:
        media = content_type.split(";")[0].strip().lower()
        if media != "application/json" and not media.endswith("+json"):
            raise UnsupportedMediaType(
                f"Content-Type '{media}' is not supported; send application/json."
            )
    encoding = (request.headers.get("content-encoding") or "identity").strip().lower()
    if encoding not in ACCEPTED_ENCODINGS:
        raise UnsupportedMediaType(
            f"Content-Encoding '{encoding}' is not supported; send the body as it is, or gzip."
        )
    declared = request.headers.get("content-length")
    too_large = PayloadTooLarge(f"The request body is larger than {limit} bytes.")
    declared_size = None if declared is None else ascii_integer(declared)
    if declared_size is not None and declared_size > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    try:
        parts: AsyncIterator[bytes] = request.stream()
        if encoding in ("gzip", "x-gzip"):
            parts = _gunzipped(parts, limit)
        async for chunk in parts:
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


async def _gunzipped(parts: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    """The decoded bytes of a gzip stream (one member or several, RFC 1952 §2.2), never more
    than ``limit + 1`` of them out of one input part at a time."""
    decoder = zlib.decompressobj(_GZIP_WBITS)
    seen = False
    try:
        async for part in parts:
            pending = part
            while pending:
                seen = True
                if decoder.eof:  # another member follows the one that ended
                    decoder = zlib.decompressobj(_GZIP_WBITS)
                # At most limit + 1 bytes out: enough for the caller to see the limit crossed.
                yield decoder.decompress(pending, limit + 1)
                pending = decoder.unused_data if decoder.eof else decoder.unconsumed_tail
        if seen and not decoder.eof:
            raise InvalidRequest("The gzip-coded request body ends before its gzip stream.")
    except zlib.error as error:
        raise InvalidRequest(f"The request body is not valid gzip: {error}.") from None
