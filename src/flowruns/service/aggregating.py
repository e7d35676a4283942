"""Running a ``$apply`` aggregation over the rows a collection path addresses."""

from __future__ import annotations

from typing import Any

from flowruns.odata.path import CollectionRef
from flowruns.odata.semantic import Aggregation
from flowruns.service.resources import collection_scope
from flowruns.store import aggregating
from flowruns.store.database import Database


def aggregate_rows(
    db: Database,
    tenant: str,
    collection: CollectionRef,
    aggregation: Aggregation,
    order: list[tuple[str, bool]],
) -> list[tuple[Any, ...]]:
    """The aggregated rows of ``collection``, in ``order`` (result property names), then in
    ascending order of their group keys: per group its keys, then its aggregates, as values of
    the typed tree (:func:`flowruns.odata.payload.aggregated_json` writes them as JSON)."""
    with db.reading() as transaction:
        scope = collection_scope(transaction, tenant, collection)
        return aggregating.aggregate(transaction, scope, aggregation, order)
