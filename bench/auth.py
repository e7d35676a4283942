"""The ``Authorization`` header a flowruns server wants, minted as a user would."""

from __future__ import annotations

import re
import subprocess
import sys

import httpx

from bench.datasets import Dataset
from bench.scenarios import HUB
from bench.servers import Server

_JWT = re.compile(r"\beyJ[\w-]*\.[\w-]+\.[\w-]+")


def headers(server: Server, dataset: Dataset) -> tuple[tuple[str, str], ...]:
    """A bearer token from ``flowruns token`` when the server asks for one, else nothing."""
    status = httpx.get(f"{server.base}{HUB}/runs?$top=1", timeout=30).status_code
    if status != 401:
        return ()
    minted = subprocess.run(
        [
            sys.executable,
            "-m",
            "flowruns",
            "token",
            "--ttl",
            "4h",
            "--data-dir",
            str(dataset.data_dir),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    found = _JWT.search(minted.stdout) or _JWT.search(minted.stderr)
    if found is None:
        raise RuntimeError(f"`flowruns token` printed no token:\n{minted.stdout}{minted.stderr}")
    return (("Authorization", f"Bearer {found.group()}"),)
