"""The dispatcher: change notifications derived from the change log.

**Read first, then one short write.** :func:`dispatch` reads, in one read transaction, every
subscription, the log's horizon and, for each group of subscriptions that read the same table of
the same tenant from the same place, the changes from there up to the horizon with whether each
entity matches each subscription's resource and filter; it builds every notification owed as
the bytes a receiver is sent (:mod:`flowruns.service.outbox`). Only then does it write, in one
transaction: the cursors moved (each only if it is still where the read found it), the queue
rows, and the removal of the rows delivered since the last dispatch. On SQLite a write holds the
process's one writer, and requests' writes queue behind it: that transaction holds it for a
few statements, however many notifications it queues. A crash before its commit leaves the
cursors and the queue as they were; after it, the queue holds what is owed (at-least-once).

**Several dispatchers.** Server processes on one database may read for the same subscription at
once; the first to move its cursor queues its notifications, and the other, finding the cursor
moved, leaves that subscription's notifications out. Nothing is queued twice.

**Missed changes.** When retention has pruned changes a subscription had not read yet (the log's
baseline has reached its cursor, say while it waited for reauthorization), it is sent a
``missed`` lifecycle notification, as Graph sends one when notifications were lost: the client
should read the resource again (a delta query).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from flowruns.edm.model import EntityType
from flowruns.errors import InvalidRequest, NotFound
from flowruns.service.notifications import (
    CHANGE_TYPES,
    MISSED,
    Owed,
    Target,
    condition_of,
    owed,
    parse_resource,
)
from flowruns.service.outbox import Ids, Outbox, Subscriber, change_part, lifecycle_item
from flowruns.store import changes, entities
from flowruns.store import subscriptions as rows
from flowruns.store.database import Database, Transaction
from flowruns.store.subscriptions import Condition, NotificationKey, StoredRow

# Changes read per group of subscriptions and dispatch: a dispatch stays short.
DISPATCH_BATCH = 1000
NO_ROW = -1


@dataclass(frozen=True)
class Dispatched:
    """What a dispatch queued: the rows handed to the caller, claimed; whether rows wait in
    the queue for a receiver that was busy; whether the log holds more than one dispatch reads
    (dispatch again at once); and how many notifications were queued."""

    claimed: list[Owed]
    waiting: bool = False
    more: bool = False
    items: int = 0


@dataclass
class _Follower:
    """Subscriptions of a group that ask for the same: change types, collection and condition
    (which column of the group's read says whether a row matches)."""

    kinds: frozenset[int]
    target: Target | None  # None: the resource no longer resolves
    # None: every row of the table; NO_ROW: none (its resource's parent no longer exists).
    condition: int | None
    # Each subscription, and the outbox's list its notifications go to.
    subscribers: list[tuple[list[tuple[str, bytes]], Subscriber]] = field(default_factory=list)


@dataclass(frozen=True)
class _Move:
    """Cursors a dispatch moves: those of ``keys`` (of ``tenant``) from ``start`` to ``end``."""

    tenant: str
    keys: list[str]
    start: changes.Key
    end: changes.Key


def dispatch(
    db: Database,
    now: int,
    lease_until: int,
    busy: Sequence[str],
    delivered: Sequence[NotificationKey] = (),
) -> Dispatched:
    """Queue the notifications owed for the log up to its horizon, and forget the queue rows
    ``delivered``, in one write transaction after the reads; none while there is nothing to
    write. Rows for receivers not in ``busy`` are queued claimed by the caller until
    ``lease_until`` and returned, to be sent at once; the others wait in the queue, due now."""
    outbox = Outbox(now)
    with db.reading() as transaction:
        moves, more = _read(transaction, now, outbox)
    if not moves and not delivered:
        return Dispatched([])
    with db.writing() as transaction:
        rows.remove(transaction, delivered)
        dropped: set[str] = set()
        for move in moves:
            moved = rows.move_cursors(transaction, move.tenant, move.keys, move.start, move.end)
            dropped.update(key for key in move.keys if key not in moved)
        queued = outbox.rows(lambda url: now if url in busy else lease_until, dropped)
        rows.enqueue(transaction, queued)
    return Dispatched(
        [owed(row) for row in queued if row["due"] == lease_until],
        waiting=any(row["due"] == now for row in queued),
        more=more,
        items=sum(row["count"] for row in queued),
    )


def _read(transaction: Transaction, now: int, outbox: Outbox) -> tuple[list[_Move], bool]:
    """What every subscription is owed, into ``outbox``: the cursors to move, and whether the
    log holds more than was read."""
    horizon = changes.horizon(transaction)  # first: in the snapshot the rest reads
    groups: dict[tuple[str, str, changes.Key], list[StoredRow]] = defaultdict(list)
    for row in rows.all_subscriptions(transaction):
        if row.expiration_date_time <= now:
            continue  # lifecycle() removes it
        if row.lifecycle_notification_url is not None and row.token_expires <= now:
            continue  # held until reauthorized
        start = (int(row.cursor_txn), int(row.cursor_position))
        if start >= horizon.key:
            continue
        groups[(row.tenant_id, row.entity_set, start)].append(row)
    moves = []
    more = False
    ids = Ids()
    for (tenant, table, start), members in groups.items():
        end = _read_group(transaction, tenant, table, start, horizon.key, members, outbox, ids)
        if end is not None:
            moves.append(_Move(tenant, [row.id for row in members], start, end))
            more = more or end < horizon.key
    return moves, more


def _read_group(
    transaction: Transaction,
    tenant: str,
    table: str,
    start: changes.Key,
    below: changes.Key,
    members: list[StoredRow],
    outbox: Outbox,
    ids: Ids,
) -> changes.Key | None:
    """Put in ``outbox`` what ``members`` (subscriptions of one tenant's table, read from
    ``start``) are owed for the changes up to ``below``; the key the next read starts from, or
    None when their cursors need not move (nothing was read and nothing was missed)."""
    spec = entities.LOGGED_TABLES[table]
    baseline = rows.baseline(transaction, tenant, table)
    missed = baseline is not None and baseline >= start
    if missed:
        for row in members:
            url = row.lifecycle_notification_url
            if url is not None:
                outbox.add(tenant, url, row.id, lifecycle_item(row, MISSED), lifecycle=True)
    conditions: list[Condition] = []
    followers: dict[tuple[str, str], _Follower] = {}
    by_resource: dict[str, tuple[Target | None, int | None]] = {}
    for row in members:
        if row.resource not in by_resource:
            by_resource[row.resource] = _resolve(transaction, tenant, row.resource, conditions)
        target, condition = by_resource[row.resource]
        follower = followers.get((row.resource, row.change_type))
        if follower is None:
            kinds = frozenset(CHANGE_TYPES.index(k) for k in row.change_type.split(","))
            follower = _Follower(kinds, target, condition)
            followers[(row.resource, row.change_type)] = follower
        bucket = outbox.bucket(tenant, row.notification_url, lifecycle=False)
        follower.subscribers.append((bucket, Subscriber.of(row)))
    found = rows.changes_from(transaction, tenant, spec, start, below, DISPATCH_BATCH, conditions)
    matches: dict[tuple[str, int], bool] = {}
    for change in found:
        stored_type = spec.readers[change.type][0]
        for follower in followers.values():
            if change.kind not in follower.kinds or follower.target is None:
                continue
            collection = follower.target.collection
            if not _is_a(matches, stored_type, collection.type):
                continue
            # A change of an entity deleted since can no longer be matched against a filter
            # or a parent (only its deletion reaches those); without either, every change does.
            if change.kind != changes.DELETED and follower.condition is not None:
                if not change.found or follower.condition == NO_ROW:
                    continue
                if not change[6 + follower.condition]:
                    continue
            part = change_part(
                CHANGE_TYPES[change.kind], collection.binding.name, stored_type, change.entity_id
            )
            for bucket, subscriber in follower.subscribers:
                bucket.append((subscriber.subscription_id, subscriber.item(ids, part)))
    if len(found) == DISPATCH_BATCH:
        last = found[-1]
        return (int(last.txn), int(last.position) + 1)
    return below if found or missed else None


def _resolve(
    transaction: Transaction, tenant: str, resource: str, conditions: list[Condition]
) -> tuple[Target | None, int | None]:
    """A subscription's resource and its condition: None for every row of the table, NO_ROW
    for none, else the index in ``conditions`` of the one appended for it."""
    try:
        target = parse_resource(resource)
    except InvalidRequest:
        return None, NO_ROW
    try:
        condition = condition_of(transaction, tenant, target)
    except NotFound:
        return target, NO_ROW  # its parent is gone: only deletions still reach it
    if condition is None:
        return target, None
    conditions.append(condition)
    return target, len(conditions) - 1


def _is_a(known: dict[tuple[str, int], bool], stored: EntityType, wanted: EntityType) -> bool:
    key = (stored.name, id(wanted))
    if key not in known:
        known[key] = stored.is_a(wanted)
    return known[key]
