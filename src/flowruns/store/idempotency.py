"""Remembered ``Idempotency-Key`` requests: what each key created, and when."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.exc import IntegrityError

from flowruns.store.schema import idempotency_keys as keys


class KeyTaken(Exception):
    """A concurrent transaction remembered the same key first, and has committed."""


@dataclass(frozen=True)
class RememberedRequest:
    request_hash: str
    created: int
    entity: dict[str, Any]


def find(connection: Connection, tenant: str, key: str) -> RememberedRequest | None:
    row = connection.execute(
        select(keys.c.request_hash, keys.c.created, keys.c.entity).where(
            keys.c.tenant_id == tenant, keys.c.key == key
        )
    ).first()
    return None if row is None else RememberedRequest(row.request_hash, row.created, row.entity)


def remember(
    connection: Connection,
    tenant: str,
    key: str,
    request: RememberedRequest,
    *,
    expired_before: int,
) -> None:
    """Store ``request`` under ``key``, dropping this tenant's keys older than the window.

    Only expired keys are dropped (``key`` among them, if it expired): a live row for ``key``
    that a concurrent request committed meanwhile makes the insert fail instead, with
    :class:`KeyTaken`, so the caller replays that request's result rather than overwriting it.
    The transaction cannot go on after that (PostgreSQL has aborted it).
    """
    connection.execute(
        delete(keys).where(keys.c.tenant_id == tenant, keys.c.created < expired_before)
    )
    try:
        connection.execute(
            insert(keys).values(
                tenant_id=tenant,
                key=key,
                request_hash=request.request_hash,
                created=request.created,
                entity=request.entity,
            )
        )
    except IntegrityError:
        raise KeyTaken(key) from None
