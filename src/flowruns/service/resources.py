"""Finding what a resolved path addresses, within one tenant.

Every lookup is scoped to the tenant: another tenant's id is indistinguishable from a missing
one (404 ``itemNotFound``).
"""

from __future__ import annotations

from dataclasses import replace

from flowruns.errors import NotFound
from flowruns.odata.path import CollectionRef, EntityRef
from flowruns.records import Record
from flowruns.store import entities
from flowruns.store.database import Transaction
from flowruns.store.entities import Scope


def not_found(what: str, key: str) -> NotFound:
    return NotFound(f"The {what} '{key}' does not exist.")


def collection_scope(transaction: Transaction, tenant: str, collection: CollectionRef) -> Scope:
    """The rows of a collection; 404 if a parent on its path is missing."""
    if collection.via is None:
        return Scope(tenant, collection.type)
    parent = resolve_entity(transaction, tenant, collection.via.source)
    navigation = collection.via.navigation.name
    return entities.navigation_scope(tenant, parent, collection.type, navigation)


def resolve_entity(
    transaction: Transaction, tenant: str, ref: EntityRef, *, share: bool = False
) -> Record:
    """The record ``ref`` addresses, or 404; in a write transaction locked against other
    writers of it, or with ``share`` only against its deletion (see :func:`entities.get`)."""
    if ref.collection is not None:
        assert ref.key is not None
        scope = collection_scope(transaction, tenant, ref.collection)
        if ref.cast is not None:
            scope = replace(scope, type=ref.cast)
        record = entities.get(transaction, scope, ref.key, share=share)
        if record is None:
            raise not_found(ref.type.name, ref.key)
        return record
    assert ref.via is not None
    source = resolve_entity(transaction, tenant, ref.via.source)
    name = ref.via.navigation.name
    if ref.via.navigation.contains_target:
        # A process's expectation or health: its own row, keyed by the process.
        record = entities.get(transaction, Scope(tenant, ref.binding.type), source.id, share=share)
        if record is None:
            raise NotFound(f"The process '{source.id}' has no {name}.")
        return record
    # A single-valued navigation to another table's entity: a run's or an incident's process,
    # an access's run or dataset.
    key = entities.linked_key(source, name)
    if key is None:
        raise NotFound(f"The {source.type.name} '{source.id}' has no {name}.")
    record = entities.get(transaction, Scope(tenant, ref.binding.type), key)
    if record is None or (ref.cast is not None and not record.type.is_a(ref.cast)):
        raise NotFound(f"The {source.type.name} '{source.id}' has no {name} of that type.")
    return record
