"""Which permissions a request needs, decided from typed trees.

What a path and method need is declared by its route (``api/routes.py``): runs, run groups, a
run's ``process`` link and a process's ``runs`` are guarded by the ``IndustryData-Run.*`` pair; the
``processes`` collection and its entities by the ``IndustryData-OutboundFlow.*`` pair; GET and
HEAD read, every other method writes. Those needs depend only on the resolved path and the
method, never on a row, so the answer cannot reveal whether an id exists. A read's query options
add what the navigations they follow reach, taken from the bound options
(:attr:`QueryOptions.traversals`), never from their text, so no spelling of a navigation reaches
data the check did not see.
"""

from __future__ import annotations

from collections.abc import Iterable

from flowruns.auth.scopes import Area, Need
from flowruns.edm.industrydata import (
    ACCESSES,
    DATASETS,
    EXPECTATIONS,
    FRESHNESS,
    HEALTH,
    INCIDENTS,
    PROCESSES,
    RUNS,
)
from flowruns.edm.model import EntityType
from flowruns.errors import AccessDenied
from flowruns.odata.semantic import Traversal


def _area(entity_type: EntityType) -> Area | None:
    """Which pair guards entities of ``entity_type`` (None: the hub, which holds no data).

    A process's expectation is part of the process. Its health and its incidents are answers
    about its runs (issue 8's rule: no yes/no oracle over runs without the Run permission), so
    reading them needs the Run permission, besides the process permission their routes declare.
    Datasets and their accesses reveal run data (which runs read and wrote what, row counts):
    the Run permission guards them, and a dataset's freshness expectation with them.
    """
    if any(
        entity_type.is_a(t.type) for t in (RUNS, HEALTH, INCIDENTS, DATASETS, ACCESSES, FRESHNESS)
    ):
        return Area.RUNS
    if entity_type.is_a(PROCESSES.type) or entity_type.is_a(EXPECTATIONS.type):
        return Area.FLOWS
    return None


def reading(entity_type: EntityType) -> tuple[Need, ...]:
    """What reading entities of ``entity_type`` needs (a subscription to them too): incidents
    are a process's, and answers about its runs, so they need both read permissions."""
    area = _area(entity_type)
    assert area is not None  # subscriptions follow runs, processes, incidents and datasets
    if entity_type.is_a(INCIDENTS.type):
        return (Need(Area.FLOWS, write=False), Need(Area.RUNS, write=False))
    return (Need(area, write=False),)


def readable_sets(permissions: frozenset[str]) -> frozenset[str]:
    """The entity sets (``runs``, ``processes``, ``incidents``, ``datasets``) ``permissions``
    let a client read: what the entities a subscription's notifications carry are read under."""
    return frozenset(
        binding.name
        for binding in (RUNS, PROCESSES, INCIDENTS, DATASETS)
        if all(need.granted_by(permissions) for need in reading(binding.type))
    )


def following(traversal: Traversal) -> tuple[Need, ...]:
    """What reading through ``traversal`` needs (empty: nothing beyond the path's needs).

    A link between a run and a process is part of the run, as the paths say
    (``runs/{id}/process`` and ``processes/{id}/runs`` need the Run permission): following it
    either way — ``runs/any(…)`` over processes, ``process/displayName`` over runs — needs
    ``IndustryData-Run.Read.All``. Any other navigation needs the read permission of the
    entities it reaches, and one to incidents (a process's or a dataset's) what reading
    incidents needs: both read permissions.
    """
    ends = (_area(traversal.source), _area(traversal.target))
    if Area.RUNS in ends:
        found: tuple[Need, ...] = (Need(Area.RUNS, False),)
    else:
        found = () if ends[1] is None else (Need(ends[1], False),)
    if traversal.target.is_a(INCIDENTS.type):
        found += tuple(need for need in reading(traversal.target) if need not in found)
    return found


def needs(declared: Iterable[Need], traversals: Iterable[Traversal] = ()) -> list[Need]:
    """What a request must be granted: what its route ``declared`` for the method (empty: any
    permission), and what following ``traversals`` (its bound query options') needs."""
    required = list(declared)
    for traversal in traversals:
        required += [need for need in following(traversal) if need not in required]
    return required


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
