"""A real flowruns server process per engine, and SDK clients of it.

The server runs for the whole module (starting one per test would dominate the suite's time), so
each test works inside a process of its own and filters by it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from flowruns.client import Client, Process, RetryPolicy
from tests.engines import ENGINES, created_database
from tests.servers import AUTH, Server, running

TOKEN = AUTH["Authorization"].removeprefix("Bearer ")


def server_env(engine: str, stack: ExitStack, request: pytest.FixtureRequest) -> dict[str, str]:
    """Environment for a server on ``engine``: PostgreSQL gets a database of its own."""
    if engine == "sqlite":
        return {}
    request.getfixturevalue("postgres_database")  # skips (or fails under CI) as the suite does
    return {"FLOWRUNS_DATABASE_URL": stack.enter_context(created_database("flowruns_sdk"))}


@pytest.fixture(scope="module", params=ENGINES)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("sdk")
    with ExitStack() as stack:
        env = server_env(request.param, stack, request)
        data = str(directory / "data")
        yield stack.enter_context(running(directory / "server.log", "--data-dir", data, env=env))


@pytest.fixture
def client(server: Server) -> Iterator[Client]:
    with Client(f"{server.base}/beta", TOKEN, retry=RetryPolicy(budget=10)) as sdk:
        yield sdk


@pytest.fixture
def process(client: Client) -> Process:
    """A fresh outgoing flow, so each test sees only its own runs."""
    return client.processes.create(f"flow {uuid.uuid4()}", "insightsOutgoingFlow")


def data_dir(server: Server) -> Path:
    return server.log.parent / "data"
