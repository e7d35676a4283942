"""Lineage as data: the datasets runs read and write, and each run's access to each.

A run's access is recorded through the API (``POST runs/{id}/inputs``, ``…/outputs``) or from
its OpenLineage run events; datasets also come from dataset and job events (static lineage).
A dataset is found, or created once, by its (namespace, name). Its facets are merged by name:
a facet given by a later event (by event time, then digest) replaces the one before, whatever
order the events arrive in. A run's accesses from events are what the replay of all its events
gives (service/lineage_replay.py), so they too are independent of the order of arrival.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from flowruns.edm.datetimes import now_ticks
from flowruns.edm.industrydata import (
    ACCESS_NAVIGATIONS,
    DEFAULT_DATASET_NAMESPACE,
    dataset,
    dataset_access,
)
from flowruns.odata.deserialize import EntityBody
from flowruns.odata.path import CollectionRef
from flowruns.records import Record
from flowruns.service.resources import resolve_entity
from flowruns.service.writing import new_etag
from flowruns.store import datasets as rows
from flowruns.store import entities
from flowruns.store.database import Database, Transaction
from flowruns.store.entities import ACCESS_TABLE

_COUNTS = ("rowCount", "byteCount", "fileCount")
# Where each count is in OpenLineage's statistics facets (inputStatistics, outputStatistics).
_FACET_COUNTS = {"rowCount": "rowCount", "byteCount": "size", "fileCount": "fileCount"}


def record_access(
    db: Database, tenant: str, collection: CollectionRef, body: EntityBody
) -> tuple[Record, bool]:
    """Record that the run of ``collection`` (its ``inputs`` or ``outputs``) read or wrote the
    dataset the body names, found or created; the access, and whether it is new (else the
    run's earlier access to it, its counts and facets replaced)."""
    assert collection.via is not None
    _, direction = ACCESS_NAVIGATIONS[collection.via.navigation.name]
    values = body.values
    namespace = values.get("namespace") or DEFAULT_DATASET_NAMESPACE
    now = now_ticks()
    with db.writing() as connection:
        run = resolve_entity(connection, tenant, collection.via.source, share=True)
        found = find_or_add(connection, tenant, namespace, values["name"], now)
        given = {name: values.get(name) for name in _COUNTS}
        given["facets"] = values.get("facets")
        return put_access(connection, tenant, run, found, direction, given)


def find_or_add(
    connection: Transaction, tenant: str, namespace: str, name: str, now: int
) -> Record:
    """The tenant's dataset ``namespace``/``name``, created when it has none."""
    new = Record(
        type=dataset,
        id=str(uuid.uuid4()),
        etag=new_etag(),
        values={
            "namespace": namespace,
            "name": name,
            "facets": {},
            "createdDateTime": now,
            "lastModifiedDateTime": now,
            "lastWrittenDateTime": None,
            "lastWrittenRunId": None,
        },
    )
    return rows.find_or_add(connection, tenant, new)[0]


def put_access(
    connection: Transaction,
    tenant: str,
    run: Record,
    target: Record,
    direction: str,
    given: dict[str, Any],
) -> tuple[Record, bool]:
    """The run's access to ``target`` in ``direction`` with the counts and facets ``given``
    (replacing those of an earlier access), and whether it is new."""
    existing = rows.find_access(connection, tenant, run.id, direction, target.id)
    if existing is not None:
        changes = {k: v for k, v in given.items() if existing.values.get(k) != v}
        if changes:
            etag = new_etag()
            entities.update_record(
                connection, ACCESS_TABLE, tenant, existing.id, changes, etag=etag
            )
            existing.values.update(changes)
            existing.etag = etag
        return existing, False
    record = Record(
        type=dataset_access,
        id=str(uuid.uuid4()),
        etag=new_etag(),
        values={
            "direction": direction,
            "datasetId": target.id,
            "namespace": target.values["namespace"],
            "name": target.values["name"],
            "runId": run.id,
            "runStatus": run.values["status"],
            "runStartDateTime": run.values["startDateTime"],
            "runEndDateTime": run.values["endDateTime"],
            **given,
        },
    )
    entities.insert_record(connection, ACCESS_TABLE, tenant, record)
    return record, True


# -- OpenLineage ------------------------------------------------------------------------------


def merge_facets(
    connection: Transaction,
    tenant: str,
    target: Record,
    facets: dict[str, Any],
    stamp: list[Any],
    now: int,
) -> None:
    """Merge ``facets`` (by name) into the dataset's: each replaces the dataset's facet of its
    name unless that came from a later event (``stamp``: [event time, digest])."""
    if not facets:
        return
    stamps = rows.facet_stamps(connection, tenant, target.id)
    merged = dict(target.values.get("facets") or {})
    changed = False
    for name, facet in facets.items():
        if name in stamps and list(stamps[name]) > stamp:
            continue
        stamps[name] = stamp
        if merged.get(name) != facet:
            merged[name] = facet
            changed = True
    if changed:
        rows.set_facets(connection, tenant, target, merged, stamps, etag=new_etag(), now=now)


def _counts(dataset_json: dict[str, Any], direction: str) -> dict[str, Any]:
    """The counts of an access from the dataset's ``inputStatistics`` or ``outputStatistics``
    facet, wherever the emitter put it (its per-run facets, or its own)."""
    name = f"{direction}Statistics"
    facet = (dataset_json.get(f"{direction}Facets") or {}).get(name)
    if not isinstance(facet, dict):
        facet = (dataset_json.get("facets") or {}).get(name)
    facet = facet if isinstance(facet, dict) else {}
    return {
        name: value if isinstance(value := facet.get(member), int) else None
        for name, member in _FACET_COUNTS.items()
    }


def _datasets(body: dict[str, Any], side: str) -> Iterable[dict[str, Any]]:
    return [d for d in body.get(side) or () if isinstance(d, dict)]


def from_event(
    connection: Transaction,
    tenant: str,
    body: dict[str, Any],
    stamp: list[Any],
    now: int,
) -> None:
    """The datasets an event names (a run or job event's inputs and outputs, a dataset event's
    dataset), found or created, their facets merged."""
    named = [*_datasets(body, "inputs"), *_datasets(body, "outputs")]
    if isinstance(body.get("dataset"), dict):
        named.append(body["dataset"])
    for json in named:
        found = find_or_add(connection, tenant, json["namespace"], json["name"], now)
        merge_facets(connection, tenant, found, json.get("facets") or {}, stamp, now)


def sync_run(
    connection: Transaction,
    tenant: str,
    run: Record,
    body: dict[str, Any],
    facets: dict[str, Any],
    now: int,
) -> None:
    """Record the run's accesses to the datasets its event ``body`` names, as the replay of all
    its events gives them (``facets``: the replay's ``inputs`` and ``outputs``, merged over the
    events), each with its counts from the statistics facets and its per-run facets. A dataset
    an event does not name keeps the access its last event gave."""
    for side, direction in (("inputs", "input"), ("outputs", "output")):
        named = {(d.get("namespace"), d.get("name")) for d in _datasets(body, side)}
        for json in facets.get(side) or ():
            if (json["namespace"], json["name"]) not in named:
                continue
            found = find_or_add(connection, tenant, json["namespace"], json["name"], now)
            given = _counts(json, direction)
            given["facets"] = dict(json.get(f"{direction}Facets") or {})
            put_access(connection, tenant, run, found, direction, given)
