"""Which permission each resource and method needs (SPEC §6), decided from the resolved path.

Runs, run groups, a run's ``process`` link and a process's ``runs`` are guarded by the
``IndustryData-Run.*`` pair; the ``processes`` collection and its entities by the
``IndustryData-OutboundFlow.*`` pair. GET and HEAD read; every other method writes. The
decision needs only the path and the method, never a row, so it cannot reveal whether an id
exists.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

from flowruns.auth.scopes import Area, Need
from flowruns.edm.industrydata import PROCESSES
from flowruns.errors import AccessDenied
from flowruns.odata import path as paths

_READ_METHODS = frozenset({"GET", "HEAD"})


def _asks_expand(query: str) -> bool:
    return any(name.lower().removeprefix("$") == "expand" for name, _ in parse_qsl(query))


# ``runs/any(…)``, ``runs/$count`` in an expression over processes: it reads the runs.
_RUNS_PATH = re.compile(r"(?<![\w.'/])runs\s*/")


def _asks_runs_in_expressions(query: str) -> bool:
    """Whether a ``$filter``, ``$orderby`` or ``$apply`` reaches through a process's runs
    (conservatively: the text is not parsed, so a string literal may count too)."""
    return any(
        name.lower().removeprefix("$") in ("filter", "orderby", "apply")
        and _RUNS_PATH.search(value) is not None
        for name, value in parse_qsl(query)
    )


def _is_process(resource: paths.CollectionRef | paths.EntityRef) -> bool:
    return resource.binding is PROCESSES


def needs(resource: paths.Resource, method: str, query: str = "") -> list[Need]:
    """What a request for ``resource`` with ``method`` must be granted (empty: any permission)."""
    write = method.upper() not in _READ_METHODS
    match resource:
        case paths.ServiceDocument() | paths.Metadata() | paths.Hub():
            return []
        case paths.Ref() | paths.FunctionCall():
            # $ref links are links of runs (a run's process, a group's members).
            return [Need(Area.RUNS, write)]
        case paths.Count(collection=collection):
            return needs(collection, "GET", query)
        case paths.EntityRef(via=paths.Via()) if _is_process(resource):
            # runs/{id}/process: reading it is reading the run; creating one through it
            # (POST) also links it to the run, and updating it writes a process.
            if not write:
                return [Need(Area.RUNS, False)]
            if method.upper() == "POST":
                return [Need(Area.RUNS, True), Need(Area.FLOWS, True)]
            return [Need(Area.RUNS, False), Need(Area.FLOWS, True)]
        case paths.CollectionRef() | paths.EntityRef() if _is_process(resource):
            result = [Need(Area.FLOWS, write)]
            if not write and query and (_asks_expand(query) or _asks_runs_in_expressions(query)):
                # processes?$expand=runs and $filter=runs/any(…) read runs
                result.append(Need(Area.RUNS, False))
            return result
        case _:
            return [Need(Area.RUNS, write)]


def check(permissions: frozenset[str], required: list[Need]) -> None:
    """403 ``accessDenied`` unless ``permissions`` grant every need (and at least one is held)."""
    if not permissions:
        raise AccessDenied(
            "The access token grants none of this API's permissions "
            "(IndustryData-Run.* or IndustryData-OutboundFlow.*)."
        )
    missing = [need.permission for need in required if not need.granted_by(permissions)]
    if missing:
        raise AccessDenied(
            "Insufficient privileges to complete the operation; it needs "
            + " and ".join(missing)
            + "."
        )
