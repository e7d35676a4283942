"""ASGI middleware that stamps every response with its request ids and ``OData-Version``."""

from __future__ import annotations

import uuid

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_CLIENT_REQUEST_ID = 128


class RequestIdMiddleware:
    """Gives each request a fresh ``request-id`` and echoes (or makes) ``client-request-id``.

    The ids are kept in ``scope["state"]`` so error bodies can quote them, and added to the
    headers of every response, whichever part of the app produced it.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = Headers(scope=scope).get("client-request-id") or str(uuid.uuid4())
        ids = (str(uuid.uuid4()), client[:MAX_CLIENT_REQUEST_ID])
        scope.setdefault("state", {})["ids"] = ids

        async def send_with_ids(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["request-id"] = ids[0]
                headers["client-request-id"] = ids[1]
                headers["OData-Version"] = "4.0"
            await send(message)

        await self.app(scope, receive, send_with_ids)
