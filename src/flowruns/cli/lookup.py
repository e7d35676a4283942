"""Naming a run, a process or a dataset at the terminal: a whole id, a unique prefix of one (as
``git`` takes a commit's), or, for a process, its display name and, for a dataset, its name.

The service looks entities up by whole id only, so a prefix or a name is found with one
``$filter`` query asking for two matches at most: one is the answer, two are ambiguous. A whole
id needs no query of its own; the request that uses it finds out whether it exists.
"""

from __future__ import annotations

import uuid

from flowruns.client import Client, Dataset, Entity, F, NotFoundError

# Enough matches to tell one from several.
_MATCHES = 2


class NotOne(Exception):
    """The text names no entity, or several: the message says which, listing those found."""


def is_whole_id(text: str) -> bool:
    """Whether ``text`` is a whole id (a GUID) rather than a prefix or a name."""
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return len(text) == 36


def _name(entity: Entity) -> str:
    """How a listed entity is told apart: a process's or run's display name, a dataset's
    namespace and name."""
    if isinstance(entity, Dataset):
        return f"{entity.name} in {entity.namespace}"
    return getattr(entity, "display_name", None) or "no name"


def _one(found: list[Entity], kind: str, described: str, narrower: str) -> str:
    if not found:
        raise NotOne(f"no {kind} {described}")
    if len(found) > 1:
        names = [_name(entity) for entity in found]
        listed = "; ".join(f"{e.id} ({name})" for e, name in zip(found, names, strict=True))
        raise NotOne(f"more than one {kind} {described}: {listed}; {narrower}")
    return found[0].id or ""


def run_id(service: Client, text: str) -> str:
    """The id of the run ``text`` names (a whole id, or a prefix of exactly one run's id);
    :class:`NotOne` when no run's id or several start with it."""
    if is_whole_id(text):
        return text
    if not text:
        raise NotOne("give a run's id, or the start of one")
    found = service.runs.list(
        filter=F.id.startswith(text), select=["id", "displayName"], limit=_MATCHES
    )
    return _one(list(found), "run", f"has an id starting with '{text}'", "give more of the id")


def process_id(service: Client, text: str, *, check: bool = False) -> str:
    """The id of the process ``text`` names: a whole id, a prefix of exactly one process's id,
    or the display name of exactly one process. :class:`NotOne` when it names none or several;
    a whole id is only looked up with ``check``."""
    if is_whole_id(text):
        if check:
            try:
                service.processes.get(text, select=["id"])
            except NotFoundError:
                raise NotOne(f"no process has the id {text}") from None
        return text
    if not text:
        raise NotOne("give a process's name or id, or the start of its id")
    named = (F.displayName == text) | F.id.startswith(text)
    found = service.processes.list(filter=named, select=["id", "displayName"], limit=_MATCHES)
    described = f"is named '{text}' or has an id starting with '{text}'"
    return _one(list(found), "process", described, "name it by more of its id")


def dataset_id(service: Client, text: str, namespace: str | None = None) -> str:
    """The id of the dataset ``text`` names: a whole id, a prefix of exactly one dataset's id,
    or the name of exactly one dataset (of ``namespace`` when given). :class:`NotOne` when it
    names none or several."""
    if is_whole_id(text):
        return text
    if not text:
        raise NotOne("give a dataset's name or id, or the start of its id")
    named = F.name == text
    if namespace is not None:
        named = named & (F.namespace == namespace)
    found = service.datasets.list(
        filter=named | F.id.startswith(text), select=["id", "namespace", "name"], limit=_MATCHES
    )
    described = f"is named '{text}' or has an id starting with '{text}'"
    narrower = "give its --namespace or more of its id"
    return _one(list(found), "dataset", described, narrower)
