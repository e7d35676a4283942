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
from typing import Any

from flowruns.edm.model import EntityType
from flowruns.errors import InvalidRequest, NotFound
from flowruns.records import Record
from flowruns.service.encryption import EncryptionCertificate, read_certificate
from flowruns.service.formats import CHAT_FORMATS, Links
from flowruns.service.notifications import (
    CHANGE_TYPES,
    MISSED,
    Owed,
    Target,
    condition_of,
    owed,
    parse_resource,
)
from flowruns.service.outbox import (
    Carrier,
    Change,
    ChangeTold,
    Ids,
    Outbox,
    Told,
    lifecycle_item,
    told_of,
)
from flowruns.store import changes, entities
from flowruns.store import subscriptions as rows
from flowruns.store.database import Database, Transaction
from flowruns.store.subscriptions import Condition, NotificationKey, StoredRow

# Changes read per group of subscriptions and dispatch: a dispatch stays short.
DISPATCH_BATCH = 1000
NO_ROW = -1
# Links when the caller knows no address of the server: relative to it.
RELATIVE_LINKS = Links("/beta", "/")


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
    # The subscriptions sent basic notifications, by receiver, and the changes they are owed.
    told: dict[str, list[Told]] = field(default_factory=lambda: defaultdict(list))
    changes: list[ChangeTold] = field(default_factory=list)
    # Those whose notifications carry the entity (rich ones, flowruns' formats).
    carriers: list[tuple[list[tuple[str, bytes]], Carrier]] = field(default_factory=list)


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
    links: Links = RELATIVE_LINKS,
) -> Dispatched:
    """Queue the notifications owed for the log up to its horizon, and forget the queue rows
    ``delivered``, in one write transaction after the reads; none while there is nothing to
    write. Rows for receivers not in ``busy`` are queued claimed by the caller until
    ``lease_until`` and returned, to be sent at once; the others wait in the queue, due now.
    ``links`` are the addresses the notifications of flowruns' formats link to."""
    outbox = Outbox(now)
    with db.reading() as transaction:
        moves, more = _read(transaction, now, outbox, links)
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


def _read(
    transaction: Transaction, now: int, outbox: Outbox, links: Links
) -> tuple[list[_Move], bool]:
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
    reading = _Reading(outbox, Ids(), links, now)
    for (tenant, table, start), members in groups.items():
        end = _read_group(transaction, tenant, table, start, horizon.key, members, reading)
        if end is not None:
            moves.append(_Move(tenant, [row.id for row in members], start, end))
            more = more or end < horizon.key
    return moves, more


@dataclass
class _Reading:
    """What the groups of one dispatch share: the outbox, the notification ids, the links of
    flowruns' formats, the time, and each subscription's certificate read once."""

    outbox: Outbox
    ids: Ids
    links: Links
    now: int
    certificates: dict[tuple[str, str], EncryptionCertificate | None] = field(default_factory=dict)

    def certificate(self, row: StoredRow) -> EncryptionCertificate | None:
        """The certificate encrypting ``row``'s notifications (None: they carry no data)."""
        key = (row.tenant_id, row.id)
        if key not in self.certificates:
            found = None
            if row.include_resource_data:
                # Checked when the subscription was created, so it reads.
                found = read_certificate(row.encryption_certificate, row.encryption_certificate_id)
            self.certificates[key] = found
        return self.certificates[key]


def _read_group(
    transaction: Transaction,
    tenant: str,
    table: str,
    start: changes.Key,
    below: changes.Key,
    members: list[StoredRow],
    reading: _Reading,
) -> changes.Key | None:
    """Put in ``outbox`` what ``members`` (subscriptions of one tenant's table, read from
    ``start``) are owed for the changes up to ``below``; the key the next read starts from, or
    None when their cursors need not move (nothing was read and nothing was missed)."""
    outbox, ids = reading.outbox, reading.ids
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
        select = None if target is None else target.options.select
        set_name = spec.table.name if target is None else target.collection.binding.name
        carrier = Carrier.of(row, reading.certificate(row), select, set_name, reading.links)
        url = row.notification_url
        if carrier is None:
            follower.told[url].append(told_of(row))
        else:
            bucket = outbox.bucket(tenant, url, lifecycle=False, format=carrier.format)
            follower.carriers.append((bucket, carrier))
            if carrier.format is None:
                outbox.validated_for(tenant, url, carrier.application)
    found = rows.changes_from(transaction, tenant, spec, start, below, DISPATCH_BATCH, conditions)
    carried = [f for f in followers.values() if f.carriers]
    records, process_names = _entities(transaction, tenant, spec, found, carried)
    cache: dict[Any, bytes] = {}
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
            change_type = CHANGE_TYPES[change.kind]
            set_name = collection.binding.name
            if follower.told:
                said = (change_type, set_name, stored_type.qualified_name, change.entity_id)
                follower.changes.append(said)
            if follower.carriers:
                record = records.get(change.entity_id)
                told = Change(
                    change_type,
                    set_name,
                    stored_type,
                    change.entity_id,
                    record,
                    None if record is None else process_names.get(record.process_id or ""),
                )
                for bucket, carrier in follower.carriers:
                    item = carrier.item(ids, told, reading.now, cache)
                    if item is not None:
                        bucket.append((carrier.subscriber.subscription_id, item))
    for follower in followers.values():
        if follower.changes:
            for url, subscriptions in follower.told.items():
                outbox.told(tenant, url, subscriptions, follower.changes)
    if len(found) == DISPATCH_BATCH:
        last = found[-1]
        return (int(last.txn), int(last.position) + 1)
    return below if found or missed else None


def _entities(
    transaction: Transaction,
    tenant: str,
    spec: entities.TableSpec,
    found: Sequence[StoredRow],
    carried: Sequence[_Follower],
) -> tuple[dict[str, Record], dict[str, str]]:
    """The entities of ``found``'s changes that still exist, as they are now, when some of
    ``carried``'s subscriptions carry them; the names of their processes, when some of those
    are in a chat format (their summaries name the process)."""
    if not carried or not found:
        return {}, {}
    keys = {change.entity_id for change in found if change.found}
    records = entities.get_many(transaction, spec, tenant, sorted(keys))
    chat = any(c.format in CHAT_FORMATS for f in carried for _, c in f.carriers)
    if not chat or spec is not entities.RUN_TABLE:
        return records, {}
    process_ids = sorted({r.process_id for r in records.values() if r.process_id is not None})
    processes = entities.get_many(transaction, entities.PROCESS_TABLE, tenant, process_ids)
    names = {key: str(p.values.get("displayName") or key) for key, p in processes.items()}
    return records, names


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
