"""Subscriptions and the delivery queue of change notifications, as rows.

A subscription's row holds its Graph members, the collection it follows (``entity_set``, the
table whose changes it reads) and the dispatcher's cursor: the key of the first change of the
log it has not yet read. The queue (``notifications``) holds the notifications owed to a receiver,
several to a row; a row is deleted only once its receiver answered 2xx (at-least-once).

Claims are made across tenants, by ``due``: on PostgreSQL with ``FOR UPDATE SKIP LOCKED``, so
several server processes share the queue (and the subscriptions the dispatcher reads for) without
taking the same rows; on SQLite one writer at a time already does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    Text,
    and_,
    bindparam,
    case,
    cast,
    delete,
    false,
    func,
    insert,
    select,
    true,
    tuple_,
    update,
)

from flowruns.errors import BadRequest
from flowruns.store import queries
from flowruns.store.changes import Key
from flowruns.store.dialect import dialect_of
from flowruns.store.entities import TableSpec
from flowruns.store.schema import change_baselines, changes, notifications, subscriptions

NotificationKey = tuple[str, str]
"""A queued notification: (tenant, id)."""
Condition = ColumnElement[bool]
"""Which rows of an entity table a subscription follows."""
StoredRow = Row[Any]
"""A row of ``subscriptions`` or of a read of the log, by column name."""


def all_of(conditions: Sequence[Condition]) -> Condition:
    return and_(*conditions)


def insert_subscription(connection: Connection, values: Mapping[str, Any]) -> None:
    connection.execute(insert(subscriptions).values(**values))


def get_subscription(connection: Connection, tenant: str, key: str) -> Row[Any] | None:
    s = subscriptions.c
    statement = select(subscriptions).where(s.tenant_id == tenant, s.id == key)
    return connection.execute(statement).one_or_none()


def tenant_subscriptions(connection: Connection, tenant: str) -> list[Row[Any]]:
    s = subscriptions.c
    statement = select(subscriptions).where(s.tenant_id == tenant).order_by(s.id)
    return list(connection.execute(statement).all())


def update_subscription(
    connection: Connection, tenant: str, key: str, values: Mapping[str, Any]
) -> None:
    s = subscriptions.c
    connection.execute(
        update(subscriptions).where(s.tenant_id == tenant, s.id == key).values(**values)
    )


def delete_subscription(connection: Connection, tenant: str, key: str) -> None:
    """Remove the subscription. Notifications already queued for it are still delivered: a
    queue row holds those of every subscription of one receiver."""
    s = subscriptions.c
    connection.execute(delete(subscriptions).where(s.tenant_id == tenant, s.id == key))


def any_subscription(connection: Connection) -> bool:
    """Whether any tenant has a subscription (a read, taking no lock)."""
    first = select(subscriptions.c.tenant_id).limit(1)
    return connection.execute(first).first() is not None


def any_due(connection: Connection, now: int) -> bool:
    """Whether a notification is due at ``now`` (a read of ``ix_notifications_due``)."""
    first = select(notifications.c.due).where(notifications.c.due <= now).limit(1)
    return connection.execute(first).first() is not None


def all_subscriptions(connection: Connection) -> list[Row[Any]]:
    """Every subscription of every tenant (a read, taking no lock)."""
    s = subscriptions.c
    statement = select(subscriptions).order_by(s.tenant_id, s.entity_set, s.id)
    return list(connection.execute(statement).all())


def move_cursors(
    connection: Connection, tenant: str, keys: Sequence[str], start: Key, end: Key
) -> set[str]:
    """Move the cursors of those of ``tenant``'s subscriptions ``keys`` still at ``start`` to
    ``end``; the ids of those moved. A subscription deleted meanwhile, or read for by another
    dispatch that moved its cursor first, is not moved."""
    s = subscriptions.c
    statement = (
        update(subscriptions)
        .where(
            s.tenant_id == tenant,
            s.id.in_(list(keys)),
            s.cursor_txn == start[0],
            s.cursor_position == start[1],
        )
        .values(cursor_txn=end[0], cursor_position=end[1])
        .returning(s.id)
    )
    return {row[0] for row in connection.execute(statement)}


def locked_subscriptions(connection: Connection) -> list[Row[Any]]:
    """Every subscription no other transaction holds, locked until this one ends."""
    statement = select(subscriptions).order_by(
        subscriptions.c.tenant_id, subscriptions.c.entity_set, subscriptions.c.id
    )
    return list(connection.execute(dialect_of(connection).skip_locked(statement)).all())


def changes_from(
    connection: Connection,
    tenant: str,
    spec: TableSpec,
    start: Key,
    below: Key,
    limit: int,
    conditions: Sequence[ColumnElement[bool]],
) -> list[Row[Any]]:
    """Up to ``limit`` changes of ``tenant``'s table ``spec`` from ``start`` up to (not
    including) ``below``, in key order: ``txn``, ``position``, ``entity_id``, ``type``, ``kind``,
    whether the entity still exists (``found``), then whether its row meets each of
    ``conditions`` (conditions on the table), in their order.

    A condition the database cannot evaluate on a row of the range (a value out of range, which
    PostgreSQL refuses to compute) meets none of them, and the others are read again without
    it: one subscription's filter never stops the others' delivery."""
    try:
        return _changes_from(connection, tenant, spec, start, below, limit, conditions)
    except BadRequest:
        pass
    usable: list[ColumnElement[bool]] = []
    for condition in conditions:
        try:
            _changes_from(connection, tenant, spec, start, below, limit, [condition])
            usable.append(condition)
        except BadRequest:
            usable.append(false())
    return _changes_from(connection, tenant, spec, start, below, limit, usable)


def _changes_from(
    connection: Connection,
    tenant: str,
    spec: TableSpec,
    start: Key,
    below: Key,
    limit: int,
    conditions: Sequence[ColumnElement[bool]],
) -> list[Row[Any]]:
    """The statement of :func:`changes_from`; with conditions, in a savepoint, so that a
    statement the database refuses leaves the transaction usable (on PostgreSQL a failed
    statement aborts the transaction around it)."""
    c, table = changes.c, spec.table
    key = tuple_(c.txn, c.position)
    statement = (
        select(
            c.txn,
            c.position,
            c.entity_id,
            c.type,
            c.kind,
            table.c.id.is_not(None).label("found"),
            *(
                case((condition, true()), else_=false()).label(f"m{i}")
                for i, condition in enumerate(conditions)
            ),
        )
        .select_from(
            changes.outerjoin(table, and_(table.c.tenant_id == tenant, table.c.id == c.entity_id))
        )
        .where(
            c.tenant_id == tenant,
            c.entity_set == table.name,
            key >= tuple_(*start),
            key < tuple_(*below),
        )
        .order_by(c.txn, c.position)
        .limit(limit)
    )
    if not conditions:
        return list(connection.execute(statement).all())
    with connection.begin_nested(), queries.evaluating():
        return list(connection.execute(statement).all())


_QUEUE_COLUMNS = (
    "tenant_id",
    "id",
    "url",
    "lifecycle",
    "created",
    "due",
    "attempts",
    "format",
    "applications",
    "subscription_id",
)


def baseline(connection: Connection, tenant: str, entity_set: str) -> Key | None:
    """The key of the newest change of ``tenant``'s table pruned from the log, if any was."""
    b = change_baselines.c
    statement = select(b.txn, b.position).where(b.tenant_id == tenant, b.entity_set == entity_set)
    row = connection.execute(statement).one_or_none()
    return None if row is None else (int(row.txn), int(row.position))


def enqueue(connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Queue ``rows``, whose ``items`` is the JSON text of their notifications (an array),
    stored as it is."""
    if not rows:
        return
    items = dialect_of(connection).json_from_text(bindparam("items_text", type_=Text()))
    statement = insert(notifications).values(
        {**{name: bindparam(name) for name in _QUEUE_COLUMNS}, "items": items}
    )
    connection.execute(
        statement,
        [
            {**{name: row[name] for name in _QUEUE_COLUMNS}, "items_text": row["items"]}
            for row in rows
        ],
    )


def claim(
    connection: Connection, now: int, lease_until: int, limit: int, busy: Sequence[str]
) -> list[Row[Any]]:
    """Up to ``limit`` notifications due at ``now``, oldest first, for receivers not in
    ``busy``, claimed until ``lease_until`` (their ``due`` moved there); ``items`` as the JSON
    text of their array."""
    n = notifications.c
    conditions = [n.due <= now]
    if busy:
        conditions.append(n.url.not_in(busy))
    statement = (
        select(
            n.tenant_id,
            n.id,
            n.url,
            cast(n["items"], Text).label("items"),
            n.lifecycle,
            n.created,
            n.attempts,
            n.format,
            n.applications,
            n.subscription_id,
        )
        .where(*conditions)
        .order_by(n.due)
        .limit(limit)
    )
    rows = list(connection.execute(dialect_of(connection).skip_locked(statement)).all())
    _set_due(connection, [(row.tenant_id, row.id) for row in rows], lease_until)
    return rows


def _set_due(
    connection: Connection, keys: Sequence[NotificationKey], due: int, *, attempted: bool = False
) -> None:
    if not keys:
        return
    n = notifications.c
    values: dict[str, Any] = {"due": due}
    if attempted:
        values["attempts"] = n.attempts + 1
    connection.execute(
        update(notifications).where(tuple_(n.tenant_id, n.id).in_(list(keys))).values(**values)
    )


def postpone(connection: Connection, keys: Sequence[NotificationKey], due: int) -> None:
    """One more failed attempt for each of ``keys``; try them again at ``due``."""
    _set_due(connection, keys, due, attempted=True)


def remove(connection: Connection, keys: Sequence[NotificationKey]) -> None:
    """Forget ``keys``: delivered, or given up on."""
    if keys:
        n = notifications.c
        connection.execute(delete(notifications).where(tuple_(n.tenant_id, n.id).in_(list(keys))))


def queued(connection: Connection) -> int:
    """How many notifications are owed, in every tenant."""
    return int(connection.execute(select(func.count()).select_from(notifications)).scalar_one())
