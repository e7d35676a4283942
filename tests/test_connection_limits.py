"""The limits a real ``flowruns serve`` puts on a connection before any request reaches the app,
spoken to over raw sockets as a hostile client would: a huge header, headers trickled one line at
a time, a body declared and never sent, and, within all that, an ordinary keep-alive connection.

The server runs two workers (so the limits hold in the processes ``--workers`` spawns) with both
timeouts at one second. The bounds below only keep a broken server from hanging the test.
"""

from __future__ import annotations

import http.client
import json
import select
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flowruns.cli import app
from flowruns.settings import InvalidSetting, Settings
from tests.conftest import HUB, NS
from tests.servers import AUTH, Server, running

BOUND_SECONDS = 15
WORKERS = 2
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("limits")
    # One limit from its flag, one from its variable: both reach the workers.
    args = (
        "--workers",
        str(WORKERS),
        "--header-timeout",
        "1",
        "--data-dir",
        str(directory / "data"),
    )
    env = {"FLOWRUNS_BODY_TIMEOUT": "1"}
    with running(directory / "server.log", *args, env=env) as started:
        # Both workers up, so none grows through its start while memory is measured.
        deadline = time.monotonic() + BOUND_SECONDS
        while started.log.read_text().count("Application startup complete.") < WORKERS:
            assert time.monotonic() < deadline, started.log.read_text()
            time.sleep(0.1)
        yield started


def _connect(server: Server) -> socket.socket:
    host, port = server.base.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=BOUND_SECONDS)


def _until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (fails if it never does)."""
    received = b""
    deadline = time.monotonic() + BOUND_SECONDS
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return received
        except TimeoutError:
            break
        if not chunk:
            return received
        received += chunk
    pytest.fail(f"the connection is still open after {BOUND_SECONDS} s: {received[:200]!r}")


def _send(sock: socket.socket, data: bytes) -> bool:
    """Send ``data``; False once the server has closed the connection."""
    try:
        sock.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        return False
    return True


@dataclass(frozen=True)
class Memory:
    resident: int
    peak: int


def _memory(pid: int) -> Memory:
    """Resident and peak resident bytes of process ``pid`` and every process below it."""
    resident = peak = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        status = Path(f"/proc/{current}/status").read_text()
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        resident += int(fields["VmRSS"].split()[0]) * 1024
        peak += int(fields["VmHWM"].split()[0]) * 1024
        for task in Path(f"/proc/{current}/task").iterdir():
            pending += [int(child) for child in (task / "children").read_text().split()]
    return Memory(resident, peak)


def test_a_huge_header_is_refused_without_the_memory_it_would_take(server: Server) -> None:
    before = _memory(server.process.pid)
    for _ in range(6):
        with _connect(server) as sock:
            _send(sock, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * MIB + b"\r\n\r\n")
            answer = _until_closed(sock)
        assert answer == b"" or answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    after = _memory(server.process.pid)
    assert after.peak - before.peak < 5 * MIB
    assert after.resident - before.resident < 5 * MIB


def test_headers_trickled_a_line_at_a_time_are_cut_off(server: Server) -> None:
    with _connect(server) as sock:
        open_ = _send(sock, b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        deadline = time.monotonic() + BOUND_SECONDS
        line = 0
        while open_ and not select.select([sock], [], [], 0.2)[0]:
            assert time.monotonic() < deadline, "the server still waits for the headers"
            line += 1
            open_ = _send(sock, b"X-Slow-%d: a\r\n" % line)
        assert _until_closed(sock) == b""


@pytest.mark.parametrize("sent", [b"", b'{"displayName": "half'])
def test_a_body_declared_and_never_sent_is_cut_off(server: Server, sent: bytes) -> None:
    marker = f"never-sent-{len(sent)}"
    head = (
        f"POST {HUB}/runs HTTP/1.1\r\nHost: x\r\nAuthorization: {AUTH['Authorization']}\r\n"
        f"Content-Type: application/json\r\nContent-Length: 1000\r\n"
        f"client-request-id: {marker}\r\n\r\n"
    )
    with _connect(server) as sock:
        _send(sock, head.encode() + sent)
        assert _until_closed(sock) == b""
    # The handler waiting for that body ended too: its request is logged, without a traceback.
    deadline = time.monotonic() + BOUND_SECONDS
    while marker not in server.log.read_text():
        assert time.monotonic() < deadline, "the request was never logged"
        time.sleep(0.1)
    assert "Traceback" not in server.log.read_text()


def _exchange(sock: socket.socket, request: bytes) -> tuple[int, bytes]:
    sock.sendall(request)
    response = http.client.HTTPResponse(sock)
    response.begin()
    return response.status, response.read()


def test_an_ordinary_keep_alive_connection_still_works(server: Server) -> None:
    body = json.dumps({"@odata.type": f"{NS}.outgoingFlowRun", "displayName": "kept"}).encode()
    post = (
        f"POST {HUB}/runs HTTP/1.1\r\nHost: x\r\nAuthorization: {AUTH['Authorization']}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    with _connect(server) as sock:
        assert _exchange(sock, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")[0] == 200
        sock.sendall(post + body[:10])
        time.sleep(0.3)  # the body in two pieces
        status, created = _exchange(sock, body[10:])
        assert status == 201, created
        # Idle between requests for longer than the header timeout: the connection stays.
        time.sleep(1.5)
        assert _exchange(sock, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")[0] == 200


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--header-timeout", "0"), ("--body-timeout", "-1"), ("--max-header-bytes", "64k")],
)
def test_a_limit_that_cannot_work_is_refused_at_start(
    tmp_path: Path, flag: str, value: str
) -> None:
    result = CliRunner().invoke(app, ["serve", flag, value, "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert flag in result.output


@pytest.mark.parametrize(
    "variable", ["FLOWRUNS_HEADER_TIMEOUT", "FLOWRUNS_BODY_TIMEOUT", "FLOWRUNS_MAX_HEADER_BYTES"]
)
def test_a_limit_variable_that_cannot_work_is_refused(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "nan")
    with pytest.raises(InvalidSetting, match=variable):
        Settings.from_env()
