"""Real flowruns server processes for the tests that need them: started with the command a user
types, waited for until they answer, and stopped (and waited for) at the end."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt

from flowruns.settings import DEFAULT_TENANT, LOCAL_AUDIENCE, LOCAL_ISSUER
from flowruns.store import migrations
from flowruns.store.database import make_engine
from tests.engines import created_database

START_SECONDS = 60
SECRET = "shared-test-secret-of-32-bytes-or-more"
# Every test server trusts this HS256 secret, so one token works on all of them.
TOKEN_SECRET = "shared-test-token-secret-of-32-bytes-or-more"


READ_WRITE_SCOPES = "IndustryData-Run.ReadWrite.All IndustryData-OutboundFlow.ReadWrite.All"


def token(lifetime_seconds: int = 3 * 3600, scopes: str = READ_WRITE_SCOPES) -> str:
    """A token of the default tenant that every test server accepts, read-write unless
    ``scopes`` (space-separated) says otherwise."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": LOCAL_ISSUER,
        "aud": LOCAL_AUDIENCE,
        "tid": DEFAULT_TENANT,
        "appid": "tests",
    }
    claims |= {"iat": now, "nbf": now, "exp": now + lifetime_seconds}
    claims["scp"] = scopes
    return jwt.encode(claims, TOKEN_SECRET, algorithm="HS256")


# A read-write token of the default tenant, for any server started here.
AUTH = {"Authorization": f"Bearer {token()}"}


def api_get(url: str, **kwargs: Any) -> httpx.Response:
    """GET with :data:`AUTH`."""
    return httpx.get(url, headers=AUTH, **kwargs)


def api_post(url: str, **kwargs: Any) -> httpx.Response:
    """POST with :data:`AUTH`."""
    return httpx.post(url, headers=AUTH, **kwargs)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    """A running ``flowruns serve``: its base URL, process and log file."""

    base: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        """Send ``sig`` and wait for the process to end; its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=START_SECONDS)


def start(
    log: Path,
    *args: str,
    env: dict[str, str] | None = None,
    port: int | None = None,
    cwd: Path | None = None,
) -> Server:
    """Start ``flowruns serve ARGS`` on ``port`` (default: a free one) in ``cwd`` (default: this
    process's), without waiting for it."""
    port = port or free_port()
    environment = {**os.environ, "FLOWRUNS_SECRET_KEY": SECRET}
    environment["FLOWRUNS_JWT_SECRET"] = TOKEN_SECRET
    environment.update(env or {})
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "flowruns", "serve", "--port", str(port), *args],
            env=environment,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Server(f"http://127.0.0.1:{port}", process, log)


def wait_ready(server: Server) -> None:
    """Wait until ``server`` answers ``/healthz``; fail with its log if it dies or hangs."""
    deadline = time.monotonic() + START_SECONDS
    while True:
        try:
            if httpx.get(f"{server.base}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert server.process.poll() is None, server.log.read_text()
        assert time.monotonic() < deadline, f"server did not start: {server.log.read_text()}"
        time.sleep(0.1)


@contextmanager
def running(log: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[Server]:
    """A server that answers, stopped when the block ends."""
    server = start(log, *args, env=env)
    try:
        wait_ready(server)
        yield server
    finally:
        server.stop()


@contextmanager
def two_servers(
    engine: str, work: Path, first_args: tuple[str, ...] = ()
) -> Iterator[tuple[str, str]]:
    """The base URLs of two servers on one database: one SQLite file in a shared data
    directory, or a new PostgreSQL database (migrated first, dropped at the end), for ``engine``.
    The first starts with ``first_args`` and answers before the second starts (it makes a new
    SQLite database)."""
    with ExitStack() as stack:
        if engine == "sqlite":
            env = {"FLOWRUNS_DATA_DIR": str(work / "data")}
        else:
            url = stack.enter_context(created_database("flowruns_servers"))
            database = make_engine(url)
            migrations.upgrade(database)
            database.dispose()
            env = {"FLOWRUNS_DATABASE_URL": url}
        started = []
        for name, args in (("a", first_args), ("b", ())):
            server = start(work / f"{name}.log", *args, env=env)
            stack.callback(server.stop)
            started.append(server)
            wait_ready(server)
        yield started[0].base, started[1].base
