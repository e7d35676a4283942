"""Which permission each resource and method needs (SPEC §6), decided from typed trees.

Runs, run groups, a run's ``process`` link and a process's ``runs`` are guarded by the
``IndustryData-Run.*`` pair; the ``processes`` collection and its entities by the
``IndustryData-OutboundFlow.*`` pair. GET and HEAD read; every other method writes. The path's
needs depend only on the resolved path and the method, never on a row, so the answer cannot
reveal whether an id exists. A read's query options add what the navigations they follow reach,
taken from the bound options (:attr:`QueryOptions.traversals`), never from their text, so no
spelling of a navigation reaches data the check did not see.
"""

from __future__ import annotations

from collections.abc import Iterable

from flowruns.auth.scopes import Area, Need
from flowruns.edm.industrydata import PROCESSES, RUNS
from flowruns.edm.model import EntityType
from flowruns.errors import AccessDenied
from flowruns.odata import path as paths
from flowruns.odata.semantic import Traversal

_READ_METHODS = frozenset({"GET", "HEAD"})


def _is_process(resource: paths.CollectionRef | paths.EntityRef) -> bool:
    return resource.binding is PROCESSES


def _area(entity_type: EntityType) -> Area | None:
    """Which pair guards entities of ``entity_type`` (None: the hub, which holds no data)."""
    if entity_type.is_a(RUNS.type):
        return Area.RUNS
    if entity_type.is_a(PROCESSES.type):
        return Area.FLOWS
    return None


def following(traversal: Traversal) -> Need | None:
    """What reading through ``traversal`` needs (None: nothing beyond the path's needs).

    A link between a run and a process is part of the run, as the paths say
    (``runs/{id}/process`` and ``processes/{id}/runs`` need the Run permission): following it
    either way — ``runs/any(…)`` over processes, ``process/displayName`` over runs — needs
    ``IndustryData-Run.Read.All``. Any other navigation needs the read permission of the
    entities it reaches.
    """
    ends = (_area(traversal.source), _area(traversal.target))
    if Area.RUNS in ends:
        return Need(Area.RUNS, False)
    return None if ends[1] is None else Need(ends[1], False)


def needs(
    resource: paths.Resource, method: str, traversals: Iterable[Traversal] = ()
) -> list[Need]:
    """What a request for ``resource`` with ``method`` must be granted (empty: any permission),
    its bound query options following ``traversals``."""
    required = _path_needs(resource, method)
    for traversal in traversals:
        need = following(traversal)
        if need is not None and need not in required:
            required.append(need)
    return required


def _path_needs(resource: paths.Resource, method: str) -> list[Need]:
    """What the resolved path and the method need, before any query option is read."""
    write = method.upper() not in _READ_METHODS
    match resource:
        case paths.ServiceDocument() | paths.Metadata() | paths.Hub():
            return []
        case paths.Ref() | paths.FunctionCall():
            # $ref links are links of runs (a run's process, a group's members).
            return [Need(Area.RUNS, write)]
        case paths.Count(collection=collection):
            return _path_needs(collection, "GET")
        case paths.EntityRef(via=paths.Via()) if _is_process(resource):
            # runs/{id}/process: reading it is reading the run; creating one through it
            # (POST) also links it to the run, and updating it writes a process.
            if not write:
                return [Need(Area.RUNS, False)]
            if method.upper() == "POST":
                return [Need(Area.RUNS, True), Need(Area.FLOWS, True)]
            return [Need(Area.RUNS, False), Need(Area.FLOWS, True)]
        case paths.CollectionRef() | paths.EntityRef() if _is_process(resource):
            return [Need(Area.FLOWS, write)]
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
