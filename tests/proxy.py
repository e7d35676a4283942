"""A TCP proxy a test puts between flowruns and a server it needs (PostgreSQL, Redis), so the test
can take that server away and bring it back without touching the shared one.

While cut, the proxy closes every connection it carries and closes new ones as soon as they are
accepted: to a client it looks like a server that went away. :meth:`TcpProxy.cut_before` cuts
the moment a client sends given bytes, before they reach the server — the statement that would
commit a transaction, say.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType

from sqlalchemy.engine import make_url

_CHUNK = 65536


class TcpProxy:
    """Forwards ``127.0.0.1:port`` to ``target`` (host, port) until cut. ``refused`` counts the
    connections clients tried to open while it was cut."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.refused = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._cut = False
        self._marker: tuple[bytes, bytes] | None = None
        self._closed = False
        threading.Thread(target=self._accept, name="proxy-accept", daemon=True).start()

    def through(self, url: str) -> str:
        """``url`` (a database URL naming the target) with its host and port this proxy's."""
        return (
            make_url(url)
            .set(host="127.0.0.1", port=self.port)
            .render_as_string(hide_password=False)
        )

    def cut(self) -> None:
        """Close every connection now and every new one until :meth:`restore`."""
        with self._lock:
            self._cut = True
            self._marker = None
            doomed, self._open = self._open, set()
        for sock in doomed:
            _close(sock)

    def restore(self) -> None:
        """Forward new connections again."""
        with self._lock:
            self._cut = False

    def cut_before(self, marker: bytes, *, once_sent: bytes) -> None:
        """:meth:`cut` when a client that has sent ``once_sent`` on its connection next sends
        ``marker``, before it is forwarded."""
        with self._lock:
            self._marker = (marker, once_sent)

    @property
    def is_cut(self) -> bool:
        with self._lock:
            return self._cut

    def close(self) -> None:
        self._closed = True
        self.cut()
        _close(self._listener)

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                cut = self._cut
                if cut:
                    self.refused += 1
            if cut:
                _close(client)
                continue
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            server.settimeout(None)
            with self._lock:
                if self._cut:  # cut while connecting
                    _close(client)
                    _close(server)
                    continue
                self._open |= {client, server}
            for source, sink, watched in ((client, server, True), (server, client, False)):
                threading.Thread(
                    target=self._pump, args=(source, sink, watched), name="proxy-pump", daemon=True
                ).start()

    def _pump(self, source: socket.socket, sink: socket.socket, watched: bool) -> None:
        """Copy ``source`` to ``sink`` until either closes; bytes from a client (``watched``)
        are checked for the marker first."""
        sent = b""  # the client's bytes so far, kept only while a marker waits for them
        try:
            while True:
                data = source.recv(_CHUNK)
                if not data:
                    break
                if watched:
                    with self._lock:
                        marker = self._marker
                    if marker is not None:
                        if marker[1] in sent and marker[0] in data:
                            self.cut()
                            return
                        sent += data
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open.discard(source)
                self._open.discard(sink)
            _close(source)
            _close(sink)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
