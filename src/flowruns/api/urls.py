"""The URLs flowruns writes into responses: service root, entity ids, next links."""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, urlencode

from starlette.requests import Request

from flowruns.edm.industrydata import HUB_PATH, PROCESSES, RUNS
from flowruns.store.entities import Record

SERVICE_ROOT_PATH = "/beta"


def service_root(request: Request) -> str:
    """The absolute service root as the client addressed it, e.g. ``http://host:8000/beta``."""
    return str(request.base_url).rstrip("/") + SERVICE_ROOT_PATH


def entity_url(request: Request, record: Record) -> str:
    """The canonical URL of an entity (every run type under ``runs``)."""
    binding = RUNS if record.type.is_a(RUNS.type) else PROCESSES
    return f"{service_root(request)}/{HUB_PATH}/{binding.name}/{record.id}"


def next_link(request: Request, token: str) -> str:
    """The request's own URL, with ``$skip``/``$skiptoken`` replaced by ``token``."""
    kept = [
        (name, value)
        for name, value in parse_qsl(request.url.query, keep_blank_values=True)
        if name.lower().removeprefix("$") not in ("skip", "skiptoken")
    ]
    kept.append(("$skiptoken", token))
    base = str(request.url.replace(query=""))
    return f"{base}?{urlencode(kept, quote_via=quote, safe='$')}"
