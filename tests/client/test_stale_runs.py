"""The recorder and the server's stale-run rule together: a live flow's heartbeats keep its run
running past the run timeout, and a killed writer's run is failed with runTimedOut."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from flowruns.client import Client, RecorderOptions, RunStatus
from tests.client.conftest import TOKEN, server_env
from tests.engines import ENGINES
from tests.servers import Server, running

# A flow that records a run, says its id, and works "forever" (until it is killed).
WRITER = """
import sys, time
from flowruns.client import Client, RecorderOptions
options = RecorderOptions(flush_interval=0.1, heartbeat_interval=0.2)
with Client(sys.argv[1], sys.argv[2]) as client:
    with client.record_run(None, display_name="killed writer", options=options) as run:
        print(run.id, flush=True)
        time.sleep(600)
"""


@pytest.fixture(scope="module", params=ENGINES)
def strict_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A server that fails runs untouched for two seconds."""
    directory = tmp_path_factory.mktemp("stale")
    with ExitStack() as stack:
        env = server_env(request.param, stack, request) | {"FLOWRUNS_RUN_TIMEOUT": "2"}
        data = str(directory / "data")
        yield stack.enter_context(running(directory / "log", "--data-dir", data, env=env))


def test_heartbeats_keep_a_live_run_while_a_killed_writers_run_times_out(
    strict_server: Server,
) -> None:
    url = f"{strict_server.base}/beta"
    live = RecorderOptions(flush_interval=0.1, heartbeat_interval=0.2)
    with Client(url, TOKEN) as client:
        with client.record_run(None, display_name="live", options=live) as run:
            command = [sys.executable, "-c", WRITER, url, TOKEN]
            with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as writer:
                assert writer.stdout is not None
                killed_id = writer.stdout.readline().strip()
                writer.send_signal(signal.SIGKILL)
            assert killed_id not in ("", "None")
            deadline = time.monotonic() + 60
            while (killed := client.runs.get(killed_id)).status is RunStatus.RUNNING:
                assert time.monotonic() < deadline, "the killed writer's run never timed out"
                time.sleep(0.1)
            # More than the run timeout has passed since the live run's start.
            assert client.runs.get(run.id or "").status is RunStatus.RUNNING
        assert killed.status is RunStatus.FAILED
        assert killed.blocking_error is not None
        assert killed.blocking_error.code == "runTimedOut"
        assert client.runs.get(run.id or "").status is RunStatus.COMPLETED
