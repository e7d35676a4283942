"""Response compression, negotiated with ``Accept-Encoding``.

A response is sent coded when the request accepts a coding the server offers (RFC 9110 §12.5.3:
the highest quality wins, ``q=0`` refuses, ``*`` stands for every coding not named; on a tie the
server's preference, brotli before gzip), its media type is text (JSON, XML, CSV, scripts…) and
its body is at least :data:`MIN_COMPRESSED_BYTES` long: below that the saving is smaller than a
network packet and not worth the CPU. A streamed response is compressed as it streams. Every
response the decision could apply to carries ``Vary: Accept-Encoding``, so a cache keeps the
representations apart.

A coded representation is not byte-for-byte the identity one, so a strong validator must not name
both (RFC 9110 §8.8.1): a strong ``ETag`` is sent weak on a compressed response. The ETags of
entities are weak already, and ``If-Match`` and ``If-None-Match`` compare them weakly.

Both codings run at their fastest setting, which keeps most of the saving (docs/performance.md,
"Compression"; the cost is measured in ``make bench``, scenarios 9a, 9b and 9c).
"""

from __future__ import annotations

import zlib
from typing import Protocol

import brotli
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MIN_COMPRESSED_BYTES = 1024
# A 999-run page of 510,215 bytes, in CPU time of one process: gzip level 1 makes it 94,106 bytes
# in 2.8 ms, zlib's default level 6 79,056 in 6.2 ms; brotli quality 1 makes it 79,000 in 1.3 ms
# (docs/performance.md, "Compression").
GZIP_LEVEL = 1
BROTLI_QUALITY = 1
# The codings offered, most preferred first.
CODINGS = ("br", "gzip")
_GZIP_WBITS = 16 + zlib.MAX_WBITS  # a gzip header and trailer around the deflate stream
_TEXT_SUFFIXES = ("json", "xml", "javascript", "csv")


class _Encoder(Protocol):
    def compress(self, data: bytes) -> bytes: ...

    def finish(self) -> bytes: ...


class _Gzip:
    def __init__(self) -> None:
        self._coder = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, _GZIP_WBITS)

    def compress(self, data: bytes) -> bytes:
        return self._coder.compress(data)

    def finish(self) -> bytes:
        return self._coder.flush()


class _Brotli:
    def __init__(self) -> None:
        self._coder = brotli.Compressor(mode=brotli.MODE_TEXT, quality=BROTLI_QUALITY)

    def compress(self, data: bytes) -> bytes:
        return self._coder.process(data)

    def finish(self) -> bytes:
        return self._coder.finish()


_ENCODERS: dict[str, type[_Encoder]] = {"br": _Brotli, "gzip": _Gzip}


def negotiate(accept_encoding: str) -> str | None:
    """The coding (of :data:`CODINGS`) to send an answer in for an ``Accept-Encoding`` value, or
    None for the answer as it is."""
    qualities: dict[str, float] = {}
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
        qualities[{"x-gzip": "gzip"}.get(coding, coding)] = quality
    wildcard = qualities.get("*", 0.0)
    offered = [(qualities.get(coding, wildcard), coding) for coding in CODINGS]
    best = max(offered, key=lambda offer: offer[0])  # the first of the best: the preferred
    return best[1] if best[0] > 0 else None


def _compressible(media_type: str) -> bool:
    media = media_type.split(";", maxsplit=1)[0].strip().lower()
    return media.startswith("text/") or media.endswith(_TEXT_SUFFIXES) or media.endswith("+xml")


def _candidate(start: Message) -> bool:
    """Whether a response could be sent coded, whatever its length and the request accept:
    then it varies with ``Accept-Encoding``."""
    status: int = start["status"]
    if status < 200 or status in (204, 304):
        return False
    headers = Headers(raw=start.get("headers", []))
    return "content-encoding" not in headers and _compressible(headers.get("content-type", ""))


class CompressionMiddleware:
    """Sends large text responses brotli- or gzip-coded to clients that accept it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "HEAD":
            await self.app(scope, receive, send)
            return
        accept_encoding = Headers(scope=scope).get("accept-encoding")
        coding = negotiate(accept_encoding) if accept_encoding else None
        await self.app(scope, receive, _Responder(send, coding).send)


class _Responder:
    """The ``send`` of one response: holds its start until the first body part tells whether
    to compress, then passes the parts on, compressed or not."""

    def __init__(self, send: Send, coding: str | None) -> None:
        self.downstream = send
        self.coding = coding
        self.start: Message | None = None
        self.encoder: _Encoder | None = None
        self.decided = False

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            if self.coding is None:
                # Sent as it is: nothing waits for the body to decide.
                self.decided = True
                if _candidate(message):
                    MutableHeaders(scope=message).add_vary_header("Accept-Encoding")
                await self.downstream(message)
                return
            self.start = message
            return
        if message["type"] != "http.response.body":
            await self.downstream(message)
            return
        if not self.decided:
            await self.decide(message)
            return
        if self.encoder is None:
            await self.downstream(message)
            return
        body = self.encoder.compress(message.get("body", b""))
        more = message.get("more_body", False)
        if not more:
            body += self.encoder.finish()
        if body or not more:
            await self.downstream({"type": "http.response.body", "body": body, "more_body": more})

    async def decide(self, first: Message) -> None:
        assert self.start is not None
        self.decided = True
        headers = MutableHeaders(scope=self.start)
        body: bytes = first.get("body", b"")
        more: bool = first.get("more_body", False)
        candidate = _candidate(self.start)
        if candidate:
            headers.add_vary_header("Accept-Encoding")
        large = more or len(body) >= MIN_COMPRESSED_BYTES
        if not (candidate and self.coding is not None and large):
            await self.downstream(self.start)
            await self.downstream(first)
            return
        self.encoder = _ENCODERS[self.coding]()
        headers["Content-Encoding"] = self.coding
        etag = headers.get("etag")
        if etag is not None and not etag.startswith("W/"):
            headers["ETag"] = f"W/{etag}"
        compressed = self.encoder.compress(body)
        if more:
            del headers["Content-Length"]
        else:
            compressed += self.encoder.finish()
            headers["Content-Length"] = str(len(compressed))
        await self.downstream(self.start)
        await self.downstream({"type": "http.response.body", "body": compressed, "more_body": more})
