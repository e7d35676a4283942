"""ASGI middleware that stamps every response with its request ids and ``OData-Version``, and
makes sure no response header carries a control character."""

from __future__ import annotations

import logging
import random

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_CLIENT_REQUEST_ID = 128
# RFC 5234 CTL. A field value may hold a tab in HTTP, but none of ours needs one, and a CR or LF
# would end the header (the server refuses to send it and the client loses the response).
_CONTROLS = bytes(range(0x20)) + b"\x7f"

log = logging.getLogger("flowruns.api")
# The bits of a version 4 (random) GUID that are not random: its version and variant.
_V4_CLEARED = ~((0xF000 << 64) | (0xC000 << 48))
_V4_SET = (0x4000 << 64) | (0x8000 << 48)
# The headers every response carries, as they are sent.
_STAMPED = (b"request-id", b"client-request-id", b"odata-version")


def new_request_id() -> str:
    """A fresh random (version 4) GUID, as ``str(uuid.uuid4())`` writes one.

    Drawn from the process's pseudo-random generator rather than the system's: a request id
    must be unique, not secret, and on the benchmark machine ``uuid.uuid4()`` (a system call
    and a ``UUID`` object) took 12 µs, two of them a fifth of the middleware's time per request.
    :mod:`random` seeds itself anew in a forked process, so workers never share a sequence.
    """
    h = f"{random.getrandbits(128) & _V4_CLEARED | _V4_SET:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _client_request_id(headers: Headers) -> str:
    """The client's ``client-request-id`` (its first 128 characters) when it is printable ASCII,
    else a fresh GUID: the value is echoed in a header and written to the log as it stands."""
    sent = (headers.get("client-request-id") or "").strip()[:MAX_CLIENT_REQUEST_ID]
    if sent and sent.isascii() and sent.isprintable():
        return sent
    return new_request_id()


def _escaped(value: bytes) -> bytes:
    """``value`` with each control byte written as ``%XX``, as a URL would have it."""
    return b"".join(b"%%%02X" % byte if byte in _CONTROLS else bytes((byte,)) for byte in value)


def _stamp(message: Message, ids: tuple[str, str]) -> None:
    """Add the request ids and ``OData-Version`` to a response's start, in one pass over its
    headers that also escapes any control character they carry."""
    raw: list[tuple[bytes, bytes]] = list(message.get("headers", ()))
    message["headers"] = raw
    stamped = False
    for index, (name, value) in enumerate(raw):
        if len(value.translate(None, _CONTROLS)) != len(value):
            # Every value is built from checked input, so reaching here is a flaw to fix.
            log.error("response header %s held a control character; sent escaped", name.decode())
            raw[index] = (name, _escaped(value))
        stamped = stamped or name.lower() in _STAMPED
    if stamped:  # set by the app: replaced where it stands, as MutableHeaders does
        headers = MutableHeaders(raw=raw)
        headers["request-id"] = ids[0]
        headers["client-request-id"] = ids[1]
        headers["OData-Version"] = "4.0"
        return
    raw.append((b"request-id", ids[0].encode("latin-1")))
    raw.append((b"client-request-id", ids[1].encode("latin-1")))
    raw.append((b"odata-version", b"4.0"))


class RequestIdMiddleware:
    """Gives each request a fresh ``request-id`` and echoes (or makes) ``client-request-id``.

    The ids are kept in ``scope["state"]`` so error bodies can quote them, and added to the
    headers of every response, whichever part of the app produced it. Being the one place every
    response passes, it also escapes any control character a header value would carry.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ids = (new_request_id(), _client_request_id(Headers(scope=scope)))
        scope.setdefault("state", {})["ids"] = ids

        async def send_with_ids(message: Message) -> None:
            if message["type"] == "http.response.start":
                _stamp(message, ids)
            await send(message)

        await self.app(scope, receive, send_with_ids)
