"""Change notifications: the rules of subscriptions, and the notifications owed for changes.

**Subscriptions** follow a collection (``external/industryData/runs``, ``…/processes``,
``…/runGroups``, a process's or a run group's ``runs``, a type cast of those), optionally with a
``$filter``, for some of the change types ``created``, ``updated`` and ``deleted``. They expire at
``expirationDateTime`` (at most :data:`MAX_EXPIRATION_MINUTES` ahead, as Graph allows for most
resources) and belong to the application that created them.

**Notifications are derived from the change log** (:mod:`flowruns.store.changes`), never written
by the request that changes an entity, so writes pay nothing per subscription. The dispatcher
(:func:`dispatch`) reads, for each subscription, the changes from its cursor up to the log's
horizon, keeps those of its change types whose entity matches its resource and filter, and in the
same transaction writes a queue row per notification and moves the cursor. A crash before the
commit leaves both as they were; after it, the queue holds what is owed. Subscriptions reading
the same table of the same tenant from the same place share one read of the log.

A change is matched against the entity as it is when the dispatcher reads the change (usually
milliseconds later): a run created ``running`` and failed at once matches ``status eq 'failed'``
for its ``created`` change too. A deleted entity can no longer be matched against a filter or a
parent: ``deleted`` is notified to every subscription to its collection's type that asks for it.

**Lifecycle notifications** (:func:`lifecycle`): ``subscriptionRemoved`` when a subscription
expires, ``reauthorizationRequired`` when the token that created (or last reauthorized) it
expires within :data:`REAUTHORIZE_LEAD_SECONDS` — after which, until ``reauthorize``, change
notifications are held back (the cursor waits, so nothing is lost) — and ``missed`` when
notifications were given up on after the retry window (:func:`failed`). They go to the
``lifecycleNotificationUrl`` only, as Graph sends them.
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flowruns.edm.datetimes import TICKS_PER_SECOND, format_ticks
from flowruns.edm.industrydata import HUB_PATH
from flowruns.edm.model import EntityType
from flowruns.errors import InvalidRequest, NotFound
from flowruns.odata import path as paths
from flowruns.odata.query import QueryOptions, parse_options, split_options
from flowruns.service.resources import collection_scope
from flowruns.store import changes, entities, queries
from flowruns.store import subscriptions as rows
from flowruns.store.database import Database, Transaction
from flowruns.store.subscriptions import Condition, StoredRow

CHANGE_TYPES = changes.KINDS
MAX_EXPIRATION_MINUTES = 4230  # Graph's maximum for most resources (just under three days)
MAX_CLIENT_STATE = 128
REAUTHORIZE_LEAD_SECONDS = 5 * 60
TLS_VERSIONS = ("v1_0", "v1_1", "v1_2", "v1_3")
CONTENT_TYPE = "application/json"
# Changes read per group of subscriptions and transaction: a dispatch stays short, so writers
# (on SQLite, one at a time) wait little behind it.
DISPATCH_BATCH = 1000
MAX_ITEMS = 1000  # notifications in one queue row, and so in one POST
REAUTHORIZATION_REQUIRED = "reauthorizationRequired"
SUBSCRIPTION_REMOVED = "subscriptionRemoved"
MISSED = "missed"
# Members Graph declares that flowruns does not implement: rich notifications (with resource
# data, encrypted) and Universal Print's query options. A value other than null is a 400.
UNSUPPORTED = (
    "encryptionCertificate",
    "encryptionCertificateId",
    "notificationQueryOptions",
    "notificationUrlAppId",
)


@dataclass(frozen=True)
class Target:
    """What a subscription's ``resource`` addresses: a collection and its bound options."""

    collection: paths.CollectionRef
    options: QueryOptions


def parse_resource(resource: str) -> Target:
    """A subscription's ``resource``: a collection path below the service root (with or
    without a leading ``/``), optionally with ``?$filter=…``; 400 otherwise."""
    path, _, query = resource.partition("?")
    try:
        resolved = paths.resolve(path)
    except InvalidRequest as error:
        raise InvalidRequest(f"resource: {error.message}", target="resource") from None
    if not isinstance(resolved, paths.CollectionRef):
        raise InvalidRequest(
            "resource must be a collection: external/industryData/runs, …/processes, "
            "…/runGroups, or the runs of a process or run group.",
            target="resource",
        )
    given = split_options(query)
    other = sorted(set(given) - {"filter"})
    if other:
        raise InvalidRequest(f"resource takes $filter only, not ${other[0]}.", target="resource")
    return Target(resolved, parse_options(given, resolved.type))


def parse_change_type(text: str) -> str:
    """``created``, ``updated``, ``deleted``, comma-separated, each at most once."""
    given = [part.strip() for part in text.split(",")]
    if not given or any(part not in CHANGE_TYPES for part in given) or len(set(given)) < len(given):
        raise InvalidRequest(
            "changeType must name created, updated or deleted, comma-separated, each once.",
            target="changeType",
        )
    return ",".join(given)


def check_expiration(ticks: int, now: int) -> None:
    latest = now + MAX_EXPIRATION_MINUTES * 60 * TICKS_PER_SECOND
    if not now < ticks <= latest:
        raise InvalidRequest(
            f"expirationDateTime must lie in the future, at most {MAX_EXPIRATION_MINUTES} "
            f"minutes from now (before {format_ticks(latest)}).",
            target="expirationDateTime",
        )


def check_url(url: str, target: str, *, allow_http: bool) -> None:
    """An absolute https URL (http too when the operator allows private receivers)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        parts = None
    schemes = ("https", "http") if allow_http else ("https",)
    if parts is None or parts.scheme not in schemes or not parts.hostname:
        raise InvalidRequest(
            f"{target} must be an absolute {' or '.join(schemes)} URL.", target=target
        )


@dataclass(frozen=True)
class NewSubscription:
    """A creation request, checked."""

    values: dict[str, Any]
    target: Target


def read_new(values: dict[str, Any], now: int, *, allow_http: bool) -> NewSubscription:
    """The members of a ``POST /subscriptions`` body (read against the model), checked."""
    if values.get("includeResourceData"):
        raise InvalidRequest(
            "includeResourceData: notifications with resource data are not supported; "
            "read the entity from resourceData's @odata.id.",
            target="includeResourceData",
        )
    for name in UNSUPPORTED:
        if values.get(name) is not None:
            raise InvalidRequest(f"{name} is not supported.", target=name)
    content_type = values.get("notificationContentType")
    if content_type is not None and content_type != CONTENT_TYPE:
        raise InvalidRequest(
            f"notificationContentType must be {CONTENT_TYPE}.", target="notificationContentType"
        )
    tls = values.get("latestSupportedTlsVersion")
    if tls is not None and tls not in TLS_VERSIONS:
        raise InvalidRequest(
            f"latestSupportedTlsVersion must be one of {', '.join(TLS_VERSIONS)}.",
            target="latestSupportedTlsVersion",
        )
    values["changeType"] = parse_change_type(values["changeType"])
    check_expiration(values["expirationDateTime"], now)
    check_url(values["notificationUrl"], "notificationUrl", allow_http=allow_http)
    if values.get("lifecycleNotificationUrl") is not None:
        check_url(
            values["lifecycleNotificationUrl"], "lifecycleNotificationUrl", allow_http=allow_http
        )
    return NewSubscription(values, parse_resource(values["resource"]))


@dataclass(frozen=True)
class Creator:
    """Who creates or reauthorizes a subscription: the token's application and when it
    expires (ticks)."""

    application: str
    token_expires: int


def check_target(db: Database, tenant: str, target: Target) -> None:
    """404 when the parent of the target's collection does not exist."""
    with db.reading() as transaction:
        collection_scope(transaction, tenant, target.collection)


def create(db: Database, tenant: str, new: NewSubscription, creator: Creator) -> dict[str, Any]:
    """Store the subscription; its cursor starts at the log's horizon, so it is told of every
    change committed after it exists. 404 when the resource's parent does not exist."""
    values = new.values
    key = str(uuid.uuid4())
    with db.writing() as transaction:
        horizon = changes.horizon(transaction)  # first: before this transaction writes
        collection_scope(transaction, tenant, new.target.collection)
        rows.insert_subscription(
            transaction,
            {
                "tenant_id": tenant,
                "id": key,
                "resource": values["resource"],
                "entity_set": new.target.collection.binding.table,
                "change_type": values["changeType"],
                "notification_url": values["notificationUrl"],
                "lifecycle_notification_url": values.get("lifecycleNotificationUrl"),
                "client_state": values.get("clientState"),
                "expiration_date_time": values["expirationDateTime"],
                "application_id": creator.application,
                "creator_id": creator.application,
                "latest_supported_tls_version": values.get("latestSupportedTlsVersion") or "v1_2",
                "notification_content_type": values.get("notificationContentType"),
                "token_expires": creator.token_expires,
                "reauthorization_sent": 0,
                "cursor_txn": horizon.key[0],
                "cursor_position": horizon.key[1],
            },
        )
        row = rows.get_subscription(transaction, tenant, key)
    assert row is not None
    return to_json(row)


def to_json(row: StoredRow) -> dict[str, Any]:
    """A subscription with Graph's members."""
    return {
        "@odata.type": "#microsoft.graph.subscription",
        "id": row.id,
        "resource": row.resource,
        "applicationId": row.application_id,
        "changeType": row.change_type,
        "clientState": row.client_state,
        "notificationUrl": row.notification_url,
        "notificationQueryOptions": None,
        "lifecycleNotificationUrl": row.lifecycle_notification_url,
        "expirationDateTime": format_ticks(row.expiration_date_time),
        "creatorId": row.creator_id,
        "includeResourceData": False,
        "latestSupportedTlsVersion": row.latest_supported_tls_version,
        "encryptionCertificate": None,
        "encryptionCertificateId": None,
        "notificationUrlAppId": None,
        "notificationContentType": row.notification_content_type,
    }


def _owned(transaction: Transaction, tenant: str, key: str, application: str) -> StoredRow:
    """The subscription ``key`` of ``tenant`` created by ``application``; 404 for any other,
    so another application's subscriptions answer as missing ones do."""
    row = rows.get_subscription(transaction, tenant, key)
    if row is None or row.application_id != application:
        raise NotFound(f"The subscription '{key}' does not exist.")
    return row


def resource_of(db: Database, tenant: str, key: str, application: str) -> str:
    """The ``resource`` of a subscription of ``application`` (its permission is checked from
    it before anything else is done); 404 otherwise."""
    with db.reading() as transaction:
        return str(_owned(transaction, tenant, key, application).resource)


def get(db: Database, tenant: str, key: str, application: str) -> dict[str, Any]:
    with db.reading() as transaction:
        return to_json(_owned(transaction, tenant, key, application))


def listing(db: Database, tenant: str, application: str) -> list[StoredRow]:
    """The tenant's subscriptions created by ``application``."""
    with db.reading() as transaction:
        found = rows.tenant_subscriptions(transaction, tenant)
    return [row for row in found if row.application_id == application]


def renew(
    db: Database, tenant: str, key: str, application: str, values: dict[str, Any], now: int
) -> dict[str, Any]:
    """``PATCH``: a new ``expirationDateTime`` (the only member that may change)."""
    other = sorted(set(values) - {"expirationDateTime"})
    if other:
        raise InvalidRequest(
            f"Only expirationDateTime can be changed; '{other[0]}' cannot.", target=other[0]
        )
    if "expirationDateTime" not in values:
        raise InvalidRequest("expirationDateTime is required.", target="expirationDateTime")
    check_expiration(values["expirationDateTime"], now)
    with db.writing() as transaction:
        _owned(transaction, tenant, key, application)
        rows.update_subscription(
            transaction, tenant, key, {"expiration_date_time": values["expirationDateTime"]}
        )
        row = rows.get_subscription(transaction, tenant, key)
    assert row is not None
    return to_json(row)


def reauthorize(db: Database, tenant: str, key: str, creator: Creator) -> None:
    """Keep the subscription alive with a fresh token: held notifications flow again."""
    with db.writing() as transaction:
        _owned(transaction, tenant, key, creator.application)
        rows.update_subscription(
            transaction,
            tenant,
            key,
            {"token_expires": creator.token_expires, "reauthorization_sent": 0},
        )


def remove(db: Database, tenant: str, key: str, application: str) -> None:
    with db.writing() as transaction:
        _owned(transaction, tenant, key, application)
        rows.delete_subscription(transaction, tenant, key)


# -- deriving notifications from the log ---------------------------------------------------------


class _Outbox:
    """Notifications owed, gathered per tenant, receiver and kind into queue rows of at most
    :data:`MAX_ITEMS` each: one row (and one POST) carries every notification a dispatch owes
    one receiver, however many subscriptions it has."""

    def __init__(self, now: int) -> None:
        self.now = now
        self.items: dict[tuple[str, str, bool], list[dict[str, Any]]] = defaultdict(list)

    def add(self, tenant: str, url: str, item: dict[str, Any], *, lifecycle: bool) -> None:
        self.items[(tenant, url, lifecycle)].append(item)

    def __len__(self) -> int:
        return sum(len(items) for items in self.items.values())

    def rows(self, due: Callable[[str], int]) -> list[dict[str, Any]]:
        """The queue rows, each due at ``due(url)``."""
        found = []
        for (tenant, url, lifecycle), items in self.items.items():
            for start in range(0, len(items), MAX_ITEMS):
                found.append(
                    {
                        "tenant_id": tenant,
                        "id": str(uuid.uuid4()),
                        "url": url,
                        "items": items[start : start + MAX_ITEMS],
                        "lifecycle": int(lifecycle),
                        "created": self.now,
                        "due": due(url),
                        "attempts": 0,
                    }
                )
        return found


def _change_item(
    subscription: StoredRow, set_name: str, entity_type: EntityType, entity_id: str, kind: int
) -> dict[str, Any]:
    resource = f"{HUB_PATH}/{set_name}/{entity_id}"
    return {
        "id": str(uuid.uuid4()),
        "subscriptionId": subscription.id,
        "subscriptionExpirationDateTime": format_ticks(subscription.expiration_date_time),
        "changeType": CHANGE_TYPES[kind],
        "resource": resource,
        "resourceData": {
            "@odata.type": f"#{entity_type.qualified_name}",
            "@odata.id": resource,
            "id": entity_id,
        },
        "clientState": subscription.client_state,
        "tenantId": subscription.tenant_id,
    }


def lifecycle_item(subscription: StoredRow, event: str) -> dict[str, Any]:
    """A lifecycle notification of ``event`` for ``subscription``, as Graph shapes it."""
    return {
        "id": str(uuid.uuid4()),
        "lifecycleEvent": event,
        "subscriptionId": subscription.id,
        "subscriptionExpirationDateTime": format_ticks(subscription.expiration_date_time),
        "resource": subscription.resource,
        "clientState": subscription.client_state,
        "tenantId": subscription.tenant_id,
    }


NO_ROW = -1


@dataclass
class _Follower:
    """A subscription as the dispatcher reads for it: what it asks for and which condition
    column of its group's read says whether a row matches."""

    row: StoredRow
    target: Target | None  # None: the resource no longer resolves (its parent was deleted)
    kinds: frozenset[int]
    # The index of its condition column; None: every row of the table; NO_ROW: none (its
    # resource's parent no longer exists).
    condition: int | None


def _condition(transaction: Transaction, tenant: str, target: Target) -> Condition | None:
    """Which rows of the table the target keeps (None: every one); raises NotFound when its
    parent no longer exists."""
    scope = collection_scope(transaction, tenant, target.collection)
    conditions = entities.scope_filter(scope)
    # The log records each change's type, which the dispatcher checks itself: the row is needed
    # only for what else the target restricts (a parent, a $filter), so a change of an entity
    # deleted since still reaches a subscription to a type's collection (runGroups, a cast).
    typed = scope.spec.type_filters[scope.type.name] is not None
    if target.options.filter is None and len(conditions) == 1 + typed:
        return None  # the tenant's whole table, or one type of it
    if target.options.filter is not None:
        conditions.append(queries.condition(transaction, scope, target.options.filter))
    return rows.all_of(conditions)


@dataclass(frozen=True)
class Dispatched:
    """What a dispatch queued: the rows handed to the caller, claimed, and whether the log
    holds more than one dispatch reads (dispatch again at once)."""

    claimed: list[Owed]
    more: bool


def _subscribed(db: Database) -> bool:
    """Whether any subscription exists: read first, so that a server nobody subscribes to
    takes no write lock (on SQLite, the one writer) every time it looks."""
    with db.reading() as transaction:
        return rows.any_subscription(transaction)


def dispatch(db: Database, now: int, lease_until: int, busy: Sequence[str]) -> Dispatched:
    """Read the log for every subscription no other process is dispatching for, and queue the
    notifications owed, in one transaction. Those for receivers not in ``busy`` are queued
    claimed by the caller until ``lease_until`` and returned, to be sent at once (no claim of
    its own); the others wait in the queue, due now."""
    outbox = _Outbox(now)
    more = False
    if not _subscribed(db):
        return Dispatched([], False)  # no write transaction while nobody subscribes
    with db.writing() as transaction:
        horizon = changes.horizon(transaction)  # first: before this transaction holds anything
        subscriptions = rows.locked_subscriptions(transaction)
        groups: dict[tuple[str, str, changes.Key], list[StoredRow]] = defaultdict(list)
        for row in subscriptions:
            if row.expiration_date_time <= now:
                continue  # lifecycle() removes it
            if row.lifecycle_notification_url is not None and row.token_expires <= now:
                continue  # held until reauthorized
            start = (int(row.cursor_txn), int(row.cursor_position))
            if start >= horizon.key:
                continue
            groups[(row.tenant_id, row.entity_set, start)].append(row)
        with queries.evaluating():
            for (tenant, table, start), members in groups.items():
                end = _dispatch_group(
                    transaction, tenant, table, start, horizon.key, members, outbox
                )
                more = more or end < horizon.key
                for row in members:
                    rows.update_subscription(
                        transaction,
                        tenant,
                        row.id,
                        {"cursor_txn": end[0], "cursor_position": end[1]},
                    )
        queued = outbox.rows(lambda url: now if url in busy else lease_until)
        rows.enqueue(transaction, queued)
    return Dispatched([_owed(row) for row in queued if row["due"] == lease_until], more)


def _dispatch_group(
    transaction: Transaction,
    tenant: str,
    table: str,
    start: changes.Key,
    below: changes.Key,
    members: list[StoredRow],
    outbox: _Outbox,
) -> changes.Key:
    """Queue what ``members`` (subscriptions of one tenant's table, read from ``start``) are
    owed for the changes up to ``below``; the key the next read starts from."""
    spec = entities.RUN_TABLE if table == entities.RUN_TABLE.table.name else entities.PROCESS_TABLE
    conditions: list[Condition] = []
    by_resource: dict[str, int | None] = {}
    followers = []
    for row in members:
        kinds = frozenset(CHANGE_TYPES.index(k) for k in row.change_type.split(","))
        try:
            target = parse_resource(row.resource)
        except InvalidRequest:
            target = None
        if row.resource not in by_resource:
            by_resource[row.resource] = NO_ROW
            if target is not None:
                try:
                    condition = _condition(transaction, tenant, target)
                except NotFound:
                    condition = None  # its parent is gone: only deletions still reach it
                else:
                    if condition is None:
                        by_resource[row.resource] = None
                    else:
                        conditions.append(condition)
                        by_resource[row.resource] = len(conditions) - 1
        followers.append(_Follower(row, target, kinds, by_resource[row.resource]))
    found = rows.changes_from(transaction, tenant, spec, start, below, DISPATCH_BATCH, conditions)
    for change in found:
        stored_type = spec.readers[change.type][0]
        for follower in followers:
            if change.kind not in follower.kinds or follower.target is None:
                continue
            collection = follower.target.collection
            if not stored_type.is_a(collection.type):
                continue
            # A change of an entity deleted since can no longer be matched against a filter
            # or a parent (only its deletion reaches those); without either, every change does.
            if change.kind != changes.DELETED and follower.condition is not None:
                if not change.found or follower.condition == NO_ROW:
                    continue
                if not change[6 + follower.condition]:
                    continue
            item = _change_item(
                follower.row, collection.binding.name, stored_type, change.entity_id, change.kind
            )
            outbox.add(tenant, follower.row.notification_url, item, lifecycle=False)
    if len(found) == DISPATCH_BATCH:
        last = found[-1]
        return (int(last.txn), int(last.position) + 1)
    return below


def lifecycle(db: Database, now: int) -> int:
    """Remove expired subscriptions (``subscriptionRemoved``) and ask for reauthorization of
    those whose token expires soon (``reauthorizationRequired``); how many lifecycle
    notifications were queued."""
    outbox = _Outbox(now)
    lead = REAUTHORIZE_LEAD_SECONDS * TICKS_PER_SECOND
    if not _subscribed(db):
        return 0
    with db.writing() as transaction:
        for row in rows.locked_subscriptions(transaction):
            url = row.lifecycle_notification_url
            if row.expiration_date_time <= now:
                rows.delete_subscription(transaction, row.tenant_id, row.id)
                if url is not None:
                    item = lifecycle_item(row, SUBSCRIPTION_REMOVED)
                    outbox.add(row.tenant_id, url, item, lifecycle=True)
            elif (
                url is not None and not row.reauthorization_sent and row.token_expires <= now + lead
            ):
                rows.update_subscription(
                    transaction, row.tenant_id, row.id, {"reauthorization_sent": 1}
                )
                item = lifecycle_item(row, REAUTHORIZATION_REQUIRED)
                outbox.add(row.tenant_id, url, item, lifecycle=True)
        rows.enqueue(transaction, outbox.rows(lambda _: now))
    return len(outbox)


# -- delivery ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Owed:
    """A claimed queue row: where its notifications go and what they say."""

    key: rows.NotificationKey
    url: str
    items: list[dict[str, Any]]
    lifecycle: bool
    created: int
    attempts: int


def _owed(row: Any) -> Owed:
    """A queue row (as written, or as read) as :class:`Owed`."""
    get = row.__getitem__ if isinstance(row, dict) else row._mapping.__getitem__
    return Owed(
        (get("tenant_id"), get("id")),
        get("url"),
        list(get("items")),
        bool(get("lifecycle")),
        get("created"),
        get("attempts"),
    )


@dataclass(frozen=True)
class Retries:
    """When to try again: ``first`` seconds after the first failure, doubling with jitter up to
    ``window`` / 16 between tries, giving up (``missed``) once ``window`` seconds passed since
    the notification was owed."""

    first: float
    window: float

    def delay(self, attempts: int) -> float:
        """Seconds before the next try after ``attempts`` failed ones (full jitter over the
        upper half, so receivers coming back are not hit by every sender at once)."""
        ceiling = min(self.first * 2 ** max(attempts - 1, 0), max(self.first, self.window / 16))
        return random.uniform(ceiling / 2, ceiling)


def claim(
    db: Database, now: int, lease_seconds: float, limit: int, busy: Sequence[str]
) -> list[Owed]:
    """Claim up to ``limit`` due notifications for receivers other than ``busy``."""
    lease = now + round(lease_seconds * TICKS_PER_SECOND)
    with db.reading() as transaction:
        if not rows.any_due(transaction, now):
            return []  # no write transaction while nothing is owed
    with db.writing() as transaction:
        found = rows.claim(transaction, now, lease, limit, busy)
    return [_owed(row) for row in found]


def delivered(db: Database, owed: Sequence[Owed]) -> None:
    with db.writing() as transaction:
        rows.remove(transaction, [o.key for o in owed])


def failed(db: Database, owed: Sequence[Owed], now: int, retries: Retries) -> int:
    """The receiver did not take ``owed``: try again later, or, past the retry window, give
    up and queue a ``missed`` lifecycle notification per subscription that has a lifecycle URL
    (none for lifecycle notifications themselves); how many were given up on."""
    window = round(retries.window * TICKS_PER_SECOND)
    expired = [o for o in owed if now - o.created >= window]
    waiting = [o for o in owed if now - o.created < window]
    with db.writing() as transaction:
        for attempts in sorted({o.attempts for o in waiting}):
            keys = [o.key for o in waiting if o.attempts == attempts]
            due = now + round(retries.delay(attempts + 1) * TICKS_PER_SECOND)
            rows.postpone(transaction, keys, due)
        rows.remove(transaction, [o.key for o in expired])
        missed = _Outbox(now)
        given_up = {
            (o.key[0], item["subscriptionId"])
            for o in expired
            if not o.lifecycle
            for item in o.items
        }
        for tenant, subscription_id in sorted(given_up):
            row = rows.get_subscription(transaction, tenant, subscription_id)
            if row is not None and row.lifecycle_notification_url is not None:
                item = lifecycle_item(row, MISSED)
                missed.add(tenant, row.lifecycle_notification_url, item, lifecycle=True)
        rows.enqueue(transaction, missed.rows(lambda _: now))
    return len(expired)
