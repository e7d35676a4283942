"""``flowruns serve --demo-activity``: a real server over a seeded demo history starts and
finishes runs through its own API while it runs, from one process however many workers serve."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from flowruns.cli import app
from flowruns.demo_activity import IN_FLIGHT
from flowruns.settings import Settings
from tests.conftest import HUB
from tests.servers import AUTH, free_port, running

# Generous: a demo run lasts seconds to a few minutes. Nothing is asserted about how long it took.
PATIENCE_SECONDS = 600
STARTED = "Demo activity: runs of"


def _eventually(what: str, check: Callable[[], Any]) -> Any:
    """Poll ``check`` until it returns something true; fail naming ``what`` if it never does."""
    deadline = time.monotonic() + PATIENCE_SECONDS
    while not (found := check()):
        assert time.monotonic() < deadline, f"never saw {what}"
        time.sleep(1)
    return found


def _runs(http: httpx.Client) -> dict[str, dict[str, Any]]:
    fields = "id,displayName,status,statistics"
    response = http.get(f"{HUB}/runs", params={"$top": "999", "$select": fields})
    assert response.status_code == 200, response.text
    return {run["id"]: run for run in response.json()["value"]}


def test_the_demo_activity_starts_and_finishes_runs_from_one_process(tmp_path: Path) -> None:
    data = tmp_path / "data"
    seeded = CliRunner().invoke(app, ["demo", "seed", "--runs", "200", "--data-dir", str(data)])
    assert seeded.exit_code == 0, seeded.output
    arguments = ("--data-dir", str(data), "--demo-activity", "--workers", "2")
    with (
        running(tmp_path / "server.log", *arguments) as server,
        httpx.Client(base_url=server.base, headers=AUTH) as http,
    ):
        history = _runs(http)
        [carried] = [run for run in history.values() if run["status"] == "running"]

        def new_runs() -> dict[str, dict[str, Any]]:
            return {i: run for i, run in _runs(http).items() if i not in history}

        _eventually("a run started", new_runs)
        finished = _eventually(
            "a run started and finished",
            lambda: [run for run in new_runs().values() if run["status"] != "running"],
        )
        # Its statistics agree with how it ended.
        statistics = finished[0]["statistics"]
        assert (
            statistics["recordsSucceeded"] + statistics["recordsFailed"]
            == (statistics["recordsProcessed"])
        )
        assert (statistics["recordsFailed"] > 0) == (
            finished[0]["status"] in ("failed", "completedWithErrors")
        )
        # It recorded what it read and, unless it delivered nothing, what it wrote, as an
        # emitter does; a successful write is its dataset's last.
        run = finished[0]
        response = http.get(f"{HUB}/runs/{run['id']}", params={"$expand": "inputs,outputs"})
        accesses = response.json()
        assert [a["rowCount"] for a in accesses["inputs"]] == [statistics["recordsProcessed"]]
        written = [a["rowCount"] for a in accesses["outputs"]]
        assert written == (
            [statistics["recordsSucceeded"]] if statistics["recordsSucceeded"] else []
        )
        _eventually(
            "a dataset last written by a run of the activity",
            lambda: any(
                d["lastWrittenRunId"] in new_runs()
                for d in http.get(f"{HUB}/datasets").json()["value"]
            ),
        )
        # The seeded run that was running is carried on, not left to the stale-run rule.
        _eventually(
            "the seeded running run written to",
            lambda: _runs(http)[carried["id"]]["statistics"] != carried["statistics"],
        )
        running_now = [run for run in new_runs().values() if run["status"] == "running"]
        assert len(running_now) <= IN_FLIGHT[1]
    # Two workers, one activity.
    assert server.log.read_text().count(STARTED) == 1


def test_the_demo_activity_needs_a_key_it_can_sign_with(tmp_path: Path) -> None:
    jwks = tmp_path / "jwks.json"
    jwks.write_text('{"keys": []}')
    serve = [sys.executable, "-m", "flowruns", "serve", "--port", str(free_port())]
    serve += ["--data-dir", str(tmp_path / "data"), "--demo-activity", "--jwks-file", str(jwks)]
    result = subprocess.run(serve, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert "--demo-activity" in result.stderr
    assert "--jwks-file" in result.stderr


@pytest.mark.parametrize("variable", ["1", "0"])
def test_the_demo_activity_is_a_setting_too(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    monkeypatch.setenv("FLOWRUNS_DEMO_ACTIVITY", variable)
    assert Settings.from_env().demo_activity is (variable == "1")
