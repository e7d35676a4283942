"""Idempotent create: a POST repeated with the same ``Idempotency-Key`` creates nothing new.

Within 24 hours, a repeat with the same key and the same request gets the entity the first
request created, exactly as it was created; the same key with a different request is a 409.
The key is stored in the transaction that creates the entity, so either both exist or neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flowruns.edm.datetimes import TICKS_PER_SECOND
from flowruns.edm.industrydata import MODEL
from flowruns.errors import Conflict
from flowruns.records import Record
from flowruns.store import idempotency
from flowruns.store.database import Transaction
from flowruns.store.idempotency import RememberedRequest

WINDOW = 24 * 3600 * TICKS_PER_SECOND


@dataclass(frozen=True)
class IdempotencyKey:
    """The client's key and a digest of the request it was sent with."""

    key: str
    request_hash: str


def replay(connection: Transaction, tenant: str, key: IdempotencyKey, now: int) -> Record | None:
    """The entity an earlier request with ``key`` created, or None if there was none."""
    found = idempotency.find(connection, tenant, key.key)
    if found is None or found.created < now - WINDOW:
        return None
    if found.request_hash != key.request_hash:
        raise Conflict(
            "This Idempotency-Key was already used with a different request.",
            target="Idempotency-Key",
        )
    return _record(found.entity)


def remember(
    connection: Transaction, tenant: str, key: IdempotencyKey, record: Record, now: int
) -> None:
    snapshot: dict[str, Any] = {
        "type": record.type.qualified_name,
        "id": record.id,
        "etag": record.etag,
        "values": record.values,
        "processId": record.process_id,
        "touched": record.touched,
    }
    idempotency.remember(
        connection,
        tenant,
        key.key,
        RememberedRequest(key.request_hash, now, snapshot),
        expired_before=now - WINDOW,
    )


def _record(snapshot: dict[str, Any]) -> Record:
    entity_type = MODEL.entity_type(snapshot["type"])
    assert entity_type is not None
    return Record(
        type=entity_type,
        id=snapshot["id"],
        etag=snapshot["etag"],
        values=snapshot["values"],
        process_id=snapshot["processId"],
        touched=snapshot["touched"],
    )
