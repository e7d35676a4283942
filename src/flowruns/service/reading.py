"""Reading collections page by page, in a total and stable order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flowruns.odata.path import CollectionRef
from flowruns.odata.query import OrderKey
from flowruns.service.resources import collection_scope
from flowruns.store import entities
from flowruns.store.database import Database
from flowruns.store.entities import Record, SortKey


@dataclass
class CollectionPage:
    records: list[Record]
    last_key: list[Any] | None
    total: int | None


def total_order(collection: CollectionRef, requested: Sequence[OrderKey]) -> list[SortKey]:
    """The client's order (or the collection's default), ended by ``id`` so it is total.

    ``id`` takes the direction of the key before it, so the default ``startDateTime desc``
    and its tie-breaker can be served by one index scan.
    """
    if requested:
        keys = [SortKey(k.property.name, k.descending) for k in requested]
    else:
        name, descending = collection.binding.default_order
        keys = [SortKey(name, descending)]
    if all(k.property != "id" for k in keys):
        keys.append(SortKey("id", keys[-1].descending))
    cut = next(i for i, k in enumerate(keys) if k.property == "id")
    return keys[: cut + 1]


def read_page(
    db: Database,
    tenant: str,
    collection: CollectionRef,
    order: Sequence[SortKey],
    *,
    after: Sequence[Any] | None,
    offset: int,
    limit: int,
    with_count: bool,
) -> CollectionPage:
    with db.reading() as connection:
        spec, scope = collection_scope(connection, tenant, collection)
        page = entities.page(
            connection, spec, tenant, scope, order, after=after, offset=offset, limit=limit
        )
        total = entities.count(connection, spec, tenant, scope) if with_count else None
    return CollectionPage(page.records, page.last_key, total)


def count_collection(db: Database, tenant: str, collection: CollectionRef) -> int:
    with db.reading() as connection:
        spec, scope = collection_scope(connection, tenant, collection)
        return entities.count(connection, spec, tenant, scope)
