"""The ``Authorization`` header a flowruns server wants, if it wants one."""

from __future__ import annotations

import httpx

from bench.datasets import Dataset
from bench.scenarios import HUB
from bench.servers import Server


def headers(server: Server, dataset: Dataset) -> tuple[tuple[str, str], ...]:
    """No headers when the server answers without a token."""
    status = httpx.get(f"{server.base}{HUB}/runs?$top=1", timeout=30).status_code
    if status != 401:
        return ()
    raise RuntimeError(f"{server.name} wants a token, and this harness cannot mint one yet")
