"""Lineage as data: the datasets runs read and write, and each run's access to each.

A run's access is recorded through the API (``POST runs/{id}/inputs``, ``…/outputs``) or from
its OpenLineage run events (:mod:`flowruns.service.openlineage`, with the statements of
:mod:`flowruns.store.datasets`); datasets also come from dataset and job events (static
lineage). A dataset is found, or created once, by its (namespace, name).
"""

from __future__ import annotations

from flowruns.edm.datetimes import now_ticks
from flowruns.edm.industrydata import ACCESS_NAVIGATIONS, DEFAULT_DATASET_NAMESPACE
from flowruns.odata.deserialize import EntityBody
from flowruns.odata.path import CollectionRef
from flowruns.records import Record
from flowruns.service.resources import resolve_entity
from flowruns.store import datasets as rows
from flowruns.store.database import Database

_COUNTS = ("rowCount", "byteCount", "fileCount")


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
    with db.writing() as connection:
        run = resolve_entity(connection, tenant, collection.via.source, share=True)
        found = rows.find_or_add(connection, tenant, namespace, values["name"], now_ticks())
        given = {name: values.get(name) for name in (*_COUNTS, "facets")}
        return rows.put_access(connection, tenant, run, found, direction, given)
