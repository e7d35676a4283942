"""The URLs flowruns writes into responses: service root, entity ids, next links.

Each starts with the public base URL when one is configured (``FLOWRUNS_PUBLIC_URL``); without
it, with the scheme and ``Host`` the request was sent with, which a client can choose freely.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, urlencode

from starlette.requests import Request

from flowruns.edm.industrydata import (
    ACCESSES,
    CONTAINED,
    DATASETS,
    FRESHNESS,
    HUB_PATH,
    PROCESSES,
    RUNS,
)
from flowruns.odata.path import binding_for
from flowruns.records import Record

SERVICE_ROOT_PATH = "/beta"


def _public_base(request: Request) -> str:
    """The absolute URL of the server's root, without the trailing slash."""
    configured: str | None = request.app.state.public_url
    if configured is not None:
        return configured
    return str(request.base_url).rstrip("/")


def service_root(request: Request) -> str:
    """The absolute service root, e.g. ``https://runs.example.com/beta``."""
    return _public_base(request) + SERVICE_ROOT_PATH


def entity_url(request: Request, record: Record) -> str:
    """The canonical URL of an entity (every run type under ``runs``; a process's expectation
    and health below the process, whose key they share, a dataset's freshness expectation
    below the dataset; a dataset access below its run)."""
    binding = binding_for(record.type)
    if binding is ACCESSES:
        run, side = record.values["runId"], f"{record.values['direction']}s"
        return f"{service_root(request)}/{HUB_PATH}/{RUNS.name}/{run}/{side}/{record.id}"
    if binding is FRESHNESS:
        return f"{service_root(request)}/{HUB_PATH}/{DATASETS.name}/{record.id}/{binding.name}"
    if binding in CONTAINED:
        return f"{service_root(request)}/{HUB_PATH}/{PROCESSES.name}/{record.id}/{binding.name}"
    return f"{service_root(request)}/{HUB_PATH}/{binding.name}/{record.id}"


def delta_link(request: Request, option: str, token: str) -> str:
    """The request's own path with only ``option`` (``$skiptoken`` for a nextLink of a delta
    round, ``$deltatoken`` for its deltaLink): the token carries the rest."""
    path = request.url.path[len(request.base_url.path) - 1 :]
    return f"{_public_base(request)}{path}?{option}={quote(token, safe='')}"


def next_link(request: Request, token: str) -> str:
    """The request's own URL, with ``$skip``/``$skiptoken`` replaced by ``token``."""
    kept = [
        (name, value)
        for name, value in parse_qsl(request.url.query, keep_blank_values=True)
        if name.lower().removeprefix("$") not in ("skip", "skiptoken")
    ]
    kept.append(("$skiptoken", token))
    # The path below the server's root (base_url's path is the root path and a slash).
    path = request.url.path[len(request.base_url.path) - 1 :]
    return f"{_public_base(request)}{path}?{urlencode(kept, quote_via=quote, safe='$')}"
