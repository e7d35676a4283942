"""A real flowruns server on loopback for the command-line tests, and a way to run ``flowruns``
against it as a user would: configured by FLOWRUNS_URL and FLOWRUNS_TOKEN."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from flowruns.cli import app
from tests import servers

NS = "microsoft.graph.industryData"
HUB = "external/industryData"


@dataclass
class Service:
    """The server the tests' commands talk to, with an HTTP client to arrange and check data."""

    url: str
    token: str
    http: httpx.Client

    @property
    def env(self) -> dict[str, str]:
        return {"FLOWRUNS_URL": self.url, "FLOWRUNS_TOKEN": self.token, "COLUMNS": "200"}

    def invoke(self, *args: str) -> Result:
        """``flowruns ARGS`` in this process."""
        return CliRunner().invoke(app, list(args), env=self.env)

    def run(self, args: Sequence[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        """``flowruns ARGS`` as its own process, as a shell would start it."""
        env = {**os.environ, **self.env, **kwargs.pop("env", {})}
        return subprocess.run(
            [sys.executable, "-m", "flowruns", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            **kwargs,
        )

    def process(self, name: str) -> str:
        """A new process's id."""
        body = {"@odata.type": f"#{NS}.insightsOutgoingFlow", "displayName": name}
        response = self.http.post(f"{HUB}/processes", json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def run_of(self, process_id: str, **values: Any) -> dict[str, Any]:
        """A new run of the process."""
        response = self.http.post(f"{HUB}/processes/{process_id}/runs", json=values)
        assert response.status_code == 201, response.text
        run: dict[str, Any] = response.json()
        return run

    def runs_of(self, process_id: str) -> list[dict[str, Any]]:
        response = self.http.get(f"{HUB}/processes/{process_id}/runs")
        assert response.status_code == 200, response.text
        runs: list[dict[str, Any]] = response.json()["value"]
        return runs


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    root = tmp_path_factory.mktemp("cli")
    with servers.running(root / "server.log", "--data-dir", str(root / "data")) as server:
        token = servers.AUTH["Authorization"].removeprefix("Bearer ")
        url = f"{server.base}/beta"
        with httpx.Client(base_url=f"{url}/", headers=servers.AUTH) as http:
            yield Service(url, token, http)


def free_url() -> str:
    """The service root of a port nobody listens on."""
    return f"http://127.0.0.1:{servers.free_port()}/beta"
