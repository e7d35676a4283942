"""Finding what a resolved path addresses, within one tenant.

Every lookup is scoped to the tenant: another tenant's id is indistinguishable from a missing
one (404 ``itemNotFound``).
"""

from __future__ import annotations

from sqlalchemy import Connection

from flowruns.edm.industrydata import RUN_GROUPS, RUNS
from flowruns.errors import NotFound
from flowruns.odata.path import CollectionRef, EntityRef
from flowruns.store import entities
from flowruns.store.entities import Record, Scope, TableSpec


def not_found(what: str, key: str) -> NotFound:
    return NotFound(f"The {what} '{key}' does not exist.")


def collection_scope(
    connection: Connection, tenant: str, collection: CollectionRef
) -> tuple[TableSpec, Scope]:
    """The table and row scope of a collection; 404 if a parent on its path is missing."""
    spec = entities.table_for(collection.binding)
    types = None
    if collection.cast is not None or collection.binding is RUN_GROUPS:
        types = frozenset(t.name for t in collection.type.subtypes())
    if collection.via is None:
        return spec, Scope(types=types)
    parent = resolve_entity(connection, tenant, collection.via.source)
    if parent.type.is_a(RUNS.type):  # runGroup.runs: membership
        return spec, Scope(types=types, group_id=parent.id)
    return spec, Scope(types=types, process_id=parent.id)


def resolve_entity(connection: Connection, tenant: str, ref: EntityRef) -> Record:
    """The record ``ref`` addresses, or 404."""
    if ref.collection is not None:
        assert ref.key is not None
        spec, scope = collection_scope(connection, tenant, ref.collection)
        if ref.cast is not None:
            scope = Scope(
                types=frozenset(t.name for t in ref.cast.subtypes()),
                process_id=scope.process_id,
                group_id=scope.group_id,
            )
        record = entities.get(connection, spec, tenant, ref.key, scope)
        if record is None:
            raise not_found(ref.type.name, ref.key)
        return record
    # A single-valued navigation: run → process.
    assert ref.via is not None
    source = resolve_entity(connection, tenant, ref.via.source)
    name = ref.via.navigation.name
    if source.process_id is None:
        raise NotFound(f"The run '{source.id}' has no {name}.")
    spec = entities.table_for(ref.binding)
    record = entities.get(connection, spec, tenant, source.process_id)
    if record is None or (ref.cast is not None and not record.type.is_a(ref.cast)):
        raise NotFound(f"The run '{source.id}' has no {name} of that type.")
    return record
