"""The ``Authorization`` header a flowruns server wants, minted as a user would."""

from __future__ import annotations

import re

import httpx

from bench.datasets import Dataset
from bench.scenarios import HUB
from bench.servers import Server

_JWT = re.compile(r"\beyJ[\w-]*\.[\w-]+\.[\w-]+")


def headers(server: Server, dataset: Dataset) -> tuple[tuple[str, str], ...]:
    """A bearer token when the server asks for one, else nothing.

    The token comes from ``flowruns token`` of the build that serves the dataset, which signs it
    with the key in the dataset's data directory.
    """
    status = httpx.get(f"{server.base}{HUB}/runs?$top=1", timeout=30).status_code
    if status != 401:
        return ()
    minted = dataset.build.output("token", "--ttl", "4h", "--data-dir", dataset.data_dir)
    found = _JWT.search(minted.stdout) or _JWT.search(minted.stderr)
    if found is None:
        raise RuntimeError(f"`flowruns token` printed no token:\n{minted.stdout}{minted.stderr}")
    return (("Authorization", f"Bearer {found.group()}"),)
