"""Response compression, negotiated with ``Accept-Encoding``.

A response is sent gzip-coded when the request accepts gzip (RFC 9110 §12.5.3: ``q=0`` refuses
it; ``*`` stands for every coding not named), its media type is text (JSON, XML, CSV, scripts…)
and its body is at least :data:`MIN_COMPRESSED_BYTES` long: below that the saving is smaller
than a network packet and not worth the CPU. A streamed response is compressed as it streams.
Every response the decision could apply to carries ``Vary: Accept-Encoding``, so a cache keeps the
two representations apart.

A gzip-coded representation is not byte-for-byte the identity one, so a strong validator must
not name both (RFC 9110 §8.8.1): a strong ``ETag`` is sent weak on a compressed response. The
ETags of entities are weak already, and ``If-Match`` and ``If-None-Match`` compare them weakly.

Only gzip is offered: every HTTP client decodes it, and it comes with Python (zlib). The cost is
measured in ``make bench`` (scenario ``compressed-page``; docs/performance.md).
"""

from __future__ import annotations

import zlib

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MIN_COMPRESSED_BYTES = 1024
# A 999-run page of 510,215 bytes becomes 94,106 at level 1, 79,056 at zlib's default 6 and
# 75,927 at 9, for about 0.6 and 0.2 times the CPU of 6 and 9: the fastest level keeps most of
# the saving (docs/performance.md, "Compression").
GZIP_LEVEL = 1
_GZIP_WBITS = 16 + zlib.MAX_WBITS  # a gzip header and trailer around the deflate stream
_TEXT_SUFFIXES = ("json", "xml", "javascript", "csv")


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an ``Accept-Encoding`` value accepts gzip (named, or through ``*``, with a
    quality above 0)."""
    wildcard: float | None = None
    for item in accept_encoding.split(","):
        coding, *parameters = (part.strip() for part in item.split(";"))
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        coding = coding.lower()
        if coding in ("gzip", "x-gzip"):
            return quality > 0
        if coding == "*":
            wildcard = quality
    return wildcard is not None and wildcard > 0


def _compressible(media_type: str) -> bool:
    media = media_type.split(";", maxsplit=1)[0].strip().lower()
    return media.startswith("text/") or media.endswith(_TEXT_SUFFIXES) or media.endswith("+xml")


class CompressionMiddleware:
    """Sends large text responses gzip-coded to clients that accept it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "HEAD":
            await self.app(scope, receive, send)
            return
        wanted = accepts_gzip(Headers(scope=scope).get("accept-encoding", ""))
        await self.app(scope, receive, _Responder(send, wanted).send)


class _Responder:
    """The ``send`` of one response: holds its start until the first body part tells whether
    to compress, then passes the parts on, compressed or not."""

    def __init__(self, send: Send, wanted: bool) -> None:
        self.downstream = send
        self.wanted = wanted
        self.start: Message | None = None
        self.compressor: zlib._Compress | None = None
        self.decided = False

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.start = message
            return
        if message["type"] != "http.response.body":
            await self.downstream(message)
            return
        if not self.decided:
            await self.decide(message)
            return
        if self.compressor is None:
            await self.downstream(message)
            return
        body = self.compressor.compress(message.get("body", b""))
        more = message.get("more_body", False)
        if not more:
            body += self.compressor.flush()
        if body or not more:
            await self.downstream({"type": "http.response.body", "body": body, "more_body": more})

    async def decide(self, first: Message) -> None:
        assert self.start is not None
        self.decided = True
        headers = MutableHeaders(scope=self.start)
        body: bytes = first.get("body", b"")
        more: bool = first.get("more_body", False)
        status: int = self.start["status"]
        candidate = (
            status >= 200
            and status not in (204, 304)
            and "content-encoding" not in headers
            and _compressible(headers.get("content-type", ""))
        )
        if candidate:
            headers.add_vary_header("Accept-Encoding")
        if not (candidate and self.wanted and (more or len(body) >= MIN_COMPRESSED_BYTES)):
            await self.downstream(self.start)
            await self.downstream(first)
            return
        self.compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, _GZIP_WBITS)
        headers["Content-Encoding"] = "gzip"
        etag = headers.get("etag")
        if etag is not None and not etag.startswith("W/"):
            headers["ETag"] = f"W/{etag}"
        compressed = self.compressor.compress(body)
        if more:
            del headers["Content-Length"]
        else:
            compressed += self.compressor.flush()
            headers["Content-Length"] = str(len(compressed))
        await self.downstream(self.start)
        await self.downstream({"type": "http.response.body", "body": compressed, "more_body": more})
