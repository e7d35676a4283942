"""How ``flowruns serve`` reads HTTP/1.1 from a connection: uvicorn's httptools protocol, with
limits on what a client can make a connection hold before any request reaches the app.

Written here because nothing else provides them for uvicorn with httptools: uvicorn caps an
incomplete request only in its h11 protocol, and neither it nor httptools has a timeout for a
request's headers or body, so a client could send one endless header, or open connections and
never finish a request, holding memory and connections as long as it liked. A reverse proxy in
front usually has the same limits; these hold without one.

- **Header size.** A request's line and headers together may hold at most
  ``Settings.max_header_bytes``, counted as bytes arrive, before the parser buffers them. Past
  that the answer is ``431 requestHeaderFieldsTooLarge`` and the connection closes.
- **Header timeout.** A request's headers must be complete within
  ``Settings.header_timeout_seconds`` of the connection opening, or of the request's first byte
  on a kept-alive connection (the wait for that byte is uvicorn's keep-alive timeout, 5 s); else
  the connection closes.
- **Body timeout.** A request's body must be complete within ``Settings.body_timeout_seconds`` of
  the end of its headers; else the connection closes, and a handler waiting for the body learns
  that the client is gone. Time during which the server itself holds the body back (reading
  paused while the app catches up, a pipelined request waiting its turn, ``Expect:
  100-continue`` not yet answered) does not count against the client.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from asyncio import TimerHandle

import orjson
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from flowruns.api.responses import error_envelope
from flowruns.errors import RequestHeaderFieldsTooLarge
from flowruns.logs import FIELDS
from flowruns.odata.payload import CONTENT_TYPE
from flowruns.settings import Settings

log = logging.getLogger("flowruns.protocol")


@functools.cache
def _settings() -> Settings:
    """This server process's settings, from the environment ``serve`` prepared for it."""
    return Settings.from_env()


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header size cap and header and body timeouts.

    ``serve`` hands it to uvicorn by its import path, so the worker processes of
    ``--workers N`` load it too; each reads its limits from the environment.
    """

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, object],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = _settings()
        # Bytes of the current request's line and headers seen so far; None once they are complete.
        self.head_bytes: int | None = 0
        self.head_deadline: TimerHandle | None = None
        self.body_deadline: TimerHandle | None = None

    # -- the connection ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_deadline()
        self._stop_body_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.head_bytes is None:  # a body: its size is the app's to judge
            super().data_received(data)
            return
        room = self.limits.max_header_bytes - self.head_bytes
        if len(data) <= room:
            self.head_bytes += len(data)
            super().data_received(data)
            return
        # Give the parser only what the head may still take: if the head ends within that, the
        # rest is its body or the next request, read as any other data.
        self.head_bytes += room
        super().data_received(data[:room])
        if self.transport.is_closing():
            return
        if self.head_bytes is not None:
            self._refuse_head()
            return
        self.data_received(data[room:])

    # -- parser callbacks ---------------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._await_head()

    def on_headers_complete(self) -> None:
        self.head_bytes = None
        self._stop_head_deadline()
        super().on_headers_complete()
        self.body_deadline = self.loop.call_later(
            self.limits.body_timeout_seconds, self._body_timed_out
        )

    def on_message_complete(self) -> None:
        self._stop_body_deadline()
        self.head_bytes = 0
        super().on_message_complete()

    # -- the limits ---------------------------------------------------------------------------

    def _await_head(self) -> None:
        """Start the header timeout, unless it already runs for this request."""
        if self.head_deadline is None:
            self.head_deadline = self.loop.call_later(
                self.limits.header_timeout_seconds, self._head_timed_out
            )

    def _head_timed_out(self) -> None:
        self.head_deadline = None
        if self.head_bytes:  # a request had begun; a connection that sent nothing goes quietly
            log.info(
                "Closed a connection: its request headers took longer than %s s",
                self.limits.header_timeout_seconds,
                extra={FIELDS: self._client()},
            )
        self.transport.close()

    def _body_timed_out(self) -> None:
        self.body_deadline = None
        if self.flow.read_paused or self.cycle.waiting_for_100_continue:
            # The server, not the client, holds the body back: the client gets a full period again.
            self.body_deadline = self.loop.call_later(
                self.limits.body_timeout_seconds, self._body_timed_out
            )
            return
        request = {"method": self.scope["method"], "path": self.scope["path"]}
        log.info(
            "Closed a connection: its request body took longer than %s s",
            self.limits.body_timeout_seconds,
            extra={FIELDS: {**self._client(), **request}},
        )
        self.transport.close()

    def _refuse_head(self) -> None:
        """Answer 431 and close, reading nothing more."""
        request_id = str(uuid.uuid4())
        error = RequestHeaderFieldsTooLarge(
            f"The request line and headers are longer than {self.limits.max_header_bytes} bytes."
        )
        body = orjson.dumps(error_envelope(error, request_id, str(uuid.uuid4())))
        head = [
            b"HTTP/1.1 431 Request Header Fields Too Large",
            *(name + b": " + value for name, value in self.server_state.default_headers),
            b"content-type: " + CONTENT_TYPE.encode(),
            b"content-length: " + str(len(body)).encode(),
            b"request-id: " + request_id.encode(),
            b"connection: close",
        ]
        self.transport.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        self.transport.close()
        log.info(
            "Refused a request whose line and headers are longer than %s bytes",
            self.limits.max_header_bytes,
            extra={FIELDS: {**self._client(), "request_id": request_id, "status": 431}},
        )

    def _client(self) -> dict[str, str]:
        return {"client": f"{self.client[0]}:{self.client[1]}"} if self.client else {}

    def _stop_head_deadline(self) -> None:
        if self.head_deadline is not None:
            self.head_deadline.cancel()
            self.head_deadline = None

    def _stop_body_deadline(self) -> None:
        if self.body_deadline is not None:
            self.body_deadline.cancel()
            self.body_deadline = None
