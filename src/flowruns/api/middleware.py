"""ASGI middleware that stamps every response with its request ids and ``OData-Version``, and
makes sure no response header carries a control character."""

from __future__ import annotations

import logging
import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_CLIENT_REQUEST_ID = 128
# RFC 5234 CTL. A field value may hold a tab in HTTP, but none of ours needs one, and a CR or LF
# would end the header (the server refuses to send it and the client loses the response).
_CONTROLS = bytes(range(0x20)) + b"\x7f"

log = logging.getLogger("flowruns.api")


def _client_request_id(headers: Headers) -> str:
    """The client's ``client-request-id`` (its first 128 characters) when it is printable ASCII,
    else a fresh GUID: the value is echoed in a header and written to the log as it stands."""
    sent = (headers.get("client-request-id") or "").strip()[:MAX_CLIENT_REQUEST_ID]
    if sent and sent.isascii() and sent.isprintable():
        return sent
    return str(uuid.uuid4())


def _escaped(value: bytes) -> bytes:
    """``value`` with each control byte written as ``%XX``, as a URL would have it."""
    return b"".join(b"%%%02X" % byte if byte in _CONTROLS else bytes((byte,)) for byte in value)


def _escape_controls(headers: MutableHeaders) -> None:
    raw = headers.raw  # the message's own list: changed in place
    for index, (name, value) in enumerate(raw):
        if len(value.translate(None, _CONTROLS)) != len(value):
            # Every value is built from checked input, so reaching here is a flaw to fix.
            log.error("response header %s held a control character; sent escaped", name.decode())
            raw[index] = (name, _escaped(value))


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
        ids = (str(uuid.uuid4()), _client_request_id(Headers(scope=scope)))
        scope.setdefault("state", {})["ids"] = ids

        async def send_with_ids(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["request-id"] = ids[0]
                headers["client-request-id"] = ids[1]
                headers["OData-Version"] = "4.0"
                _escape_controls(headers)
            await send(message)

        await self.app(scope, receive, send_with_ids)
