"""Change notifications: the rules of subscriptions, and the notifications owed for changes.

**Subscriptions** follow a collection (``external/industryData/runs``, ``…/processes``,
``…/runGroups``, a process's or a run group's ``runs``, a type cast of those), optionally with a
``$filter``, for some of the change types ``created``, ``updated`` and ``deleted``. They expire at
``expirationDateTime`` (at most :data:`MAX_EXPIRATION_MINUTES` ahead, as Graph allows for most
resources) and belong to the application that created them.

**Notifications are derived from the change log** (:mod:`flowruns.store.changes`), never written
by the request that changes an entity, so writes pay nothing per subscription. The dispatcher
(:mod:`flowruns.service.dispatching`) reads, for each subscription, the changes from its cursor
up to the log's horizon, keeps those of its change types whose entity matches its resource and
filter, and in one transaction writes the queue rows and moves the cursors. A crash before the
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
notifications were given up on after the retry window (:func:`failed`) or when retention pruned
changes a subscription had not been told of yet (the dispatcher). They go to the
``lifecycleNotificationUrl`` only, as Graph sends them.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson

from flowruns.edm.datetimes import TICKS_PER_SECOND, format_ticks
from flowruns.edm.industrydata import NOTIFICATION_FORMAT
from flowruns.errors import InvalidRequest, NotFound
from flowruns.odata import path as paths
from flowruns.odata.query import QueryOptions, parse_options, split_options
from flowruns.service import formats
from flowruns.service.encryption import EncryptionCertificate, read_certificate
from flowruns.service.outbox import Outbox, lifecycle_item
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
REAUTHORIZATION_REQUIRED = "reauthorizationRequired"
SUBSCRIPTION_REMOVED = "subscriptionRemoved"
MISSED = "missed"
# Members Graph declares that flowruns does not implement: Universal Print's query options and
# the app id of a notification URL's own authentication. A value other than null is a 400.
UNSUPPORTED = ("notificationQueryOptions", "notificationUrlAppId")
FORMAT_ANNOTATION = f"@{NOTIFICATION_FORMAT.qualified_name}"


@dataclass(frozen=True)
class Target:
    """What a subscription's ``resource`` addresses: a collection and its bound options."""

    collection: paths.CollectionRef
    options: QueryOptions


def parse_resource(resource: str) -> Target:
    """A subscription's ``resource``: a collection path below the service root (with or
    without a leading ``/``), optionally with ``$filter`` and ``$select`` (which properties
    a notification's entity carries); 400 otherwise."""
    path, _, query = resource.partition("?")
    try:
        resolved = paths.resolve(path)
    except InvalidRequest as error:
        raise InvalidRequest(f"resource: {error.message}", target="resource") from None
    if (
        not isinstance(resolved, paths.CollectionRef)
        or resolved.binding.table not in entities.LOGGED_TABLES
    ):
        raise InvalidRequest(
            "resource must be a collection: external/industryData/runs, …/processes, "
            "…/runGroups, …/incidents, …/datasets, or the runs of a process or run group.",
            target="resource",
        )
    given = split_options(query)
    other = sorted(set(given) - {"filter", "select"})
    if other:
        raise InvalidRequest(
            f"resource takes $filter and $select only, not ${other[0]}.", target="resource"
        )
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
    """A creation request, checked: its members, its target, its format (None: Graph's) and
    the certificate that encrypts its notifications' entities (None: basic notifications)."""

    values: dict[str, Any]
    target: Target
    format: str | None = None
    certificate: EncryptionCertificate | None = None


def read_format(value: object) -> str | None:
    """The ``@flowruns.notificationFormat`` annotation of a subscription's body (None: Graph's
    format); 400 for a value that is not one of the vocabulary's."""
    if value is None:
        return None
    members = NOTIFICATION_FORMAT.type.members  # type: ignore[union-attr]
    if value not in members:
        raise InvalidRequest(
            f"{FORMAT_ANNOTATION} must be one of {', '.join(members)}.", target=FORMAT_ANNOTATION
        )
    return None if value == formats.GRAPH else str(value)


def read_new(
    values: dict[str, Any], now: int, *, allow_http: bool, notification_format: str | None = None
) -> NewSubscription:
    """The members of a ``POST /subscriptions`` body (read against the model) and its
    format (:func:`read_format`), checked."""
    certificate = None
    if values.get("includeResourceData"):
        if notification_format in formats.CHAT_FORMATS:
            raise InvalidRequest(
                f"includeResourceData: {notification_format} messages carry a summary for "
                "people, not encrypted resource data.",
                target="includeResourceData",
            )
        certificate = read_certificate(
            values.get("encryptionCertificate"), values.get("encryptionCertificateId")
        )
    else:
        for name in ("encryptionCertificate", "encryptionCertificateId"):
            if values.get(name) is not None:
                raise InvalidRequest(
                    f"{name} is given only with includeResourceData: true.", target=name
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
    return NewSubscription(
        values, parse_resource(values["resource"]), notification_format, certificate
    )


@dataclass(frozen=True)
class Creator:
    """Who creates or reauthorizes a subscription: the token's application, when it expires
    (ticks) and the entity sets its permissions let it read (``runs``, ``processes``): the
    entities notifications carry are read under them."""

    application: str
    token_expires: int
    reads: frozenset[str]

    def reads_text(self) -> str:
        return " ".join(sorted(self.reads))


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
                "include_resource_data": int(new.certificate is not None),
                "encryption_certificate": values.get("encryptionCertificate"),
                "encryption_certificate_id": values.get("encryptionCertificateId"),
                "notification_format": new.format,
                "creator_reads": creator.reads_text(),
            },
        )
        row = rows.get_subscription(transaction, tenant, key)
    assert row is not None
    return to_json(row)


def to_json(row: StoredRow) -> dict[str, Any]:
    """A subscription with Graph's members, and its format when it has one."""
    found: dict[str, Any] = {
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
        "includeResourceData": bool(row.include_resource_data),
        "latestSupportedTlsVersion": row.latest_supported_tls_version,
        "encryptionCertificate": row.encryption_certificate,
        "encryptionCertificateId": row.encryption_certificate_id,
        "notificationUrlAppId": None,
        "notificationContentType": row.notification_content_type,
    }
    if row.notification_format is not None:
        found[FORMAT_ANNOTATION] = row.notification_format
    return found


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
            {
                "token_expires": creator.token_expires,
                "reauthorization_sent": 0,
                "creator_reads": creator.reads_text(),
            },
        )


def remove(db: Database, tenant: str, key: str, application: str) -> None:
    with db.writing() as transaction:
        _owned(transaction, tenant, key, application)
        rows.delete_subscription(transaction, tenant, key)


# -- deriving notifications from the log (service/dispatching.py) ------------------------------


def condition_of(transaction: Transaction, tenant: str, target: Target) -> Condition | None:
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


def lifecycle(db: Database, now: int) -> int:
    """Remove expired subscriptions (``subscriptionRemoved``) and ask for reauthorization of
    those whose token expires soon (``reauthorizationRequired``); how many lifecycle
    notifications were queued. Reads first: no write transaction while none is due."""
    with db.reading() as transaction:
        due = any(_lifecycle_event(row, now) for row in rows.all_subscriptions(transaction))
    if not due:
        return 0
    outbox = Outbox(now)
    with db.writing() as transaction:
        for row in rows.locked_subscriptions(transaction):
            event = _lifecycle_event(row, now)
            if event == SUBSCRIPTION_REMOVED:
                rows.delete_subscription(transaction, row.tenant_id, row.id)
            elif event == REAUTHORIZATION_REQUIRED:
                rows.update_subscription(
                    transaction, row.tenant_id, row.id, {"reauthorization_sent": 1}
                )
            url = row.lifecycle_notification_url
            if event is not None and url is not None:
                item = lifecycle_item(row, event)
                outbox.add(row.tenant_id, url, row.id, item, lifecycle=True)
        rows.enqueue(transaction, outbox.rows(lambda _: now))
    return len(outbox)


def _lifecycle_event(row: StoredRow, now: int) -> str | None:
    """What happens to a subscription now: it is removed (expired), asked to be reauthorized
    (its token expires soon), or nothing."""
    if row.expiration_date_time <= now:
        return SUBSCRIPTION_REMOVED
    lead = REAUTHORIZE_LEAD_SECONDS * TICKS_PER_SECOND
    if (
        row.lifecycle_notification_url is not None
        and not row.reauthorization_sent
        and row.token_expires <= now + lead
    ):
        return REAUTHORIZATION_REQUIRED
    return None


# -- delivery ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Owed:
    """A claimed queue row: where its notifications go and what they say (``items``: the
    JSON text of their array, as stored), their format (None: Graph's) and, for rich
    notifications, the applications whose validation tokens go with them."""

    key: rows.NotificationKey
    url: str
    items: bytes
    lifecycle: bool
    created: int
    attempts: int
    format: str | None = None
    applications: tuple[str, ...] = ()
    subscription_id: str | None = None  # a row of a format: the subscription it is for

    def subscriptions(self) -> set[str]:
        """The subscriptions the row's notifications are for."""
        if self.subscription_id is not None:
            return {self.subscription_id}
        return {item["subscriptionId"] for item in orjson.loads(self.items)}


def owed(row: Any) -> Owed:
    """A queue row (as :meth:`Outbox.rows` writes it, or as :func:`claim` reads it) as
    :class:`Owed`."""
    if isinstance(row, dict):
        return Owed(
            (row["tenant_id"], row["id"]),
            row["url"],
            row["body"],
            bool(row["lifecycle"]),
            row["created"],
            row["attempts"],
            row["format"],
            _applications(row["applications"]),
            row["subscription_id"],
        )
    return Owed(
        (row.tenant_id, row.id),
        row.url,
        row.items.encode(),
        bool(row.lifecycle),
        row.created,
        row.attempts,
        row.format,
        _applications(row.applications),
        row.subscription_id,
    )


def _applications(text: str | None) -> tuple[str, ...]:
    return () if text is None else tuple(orjson.loads(text))


def body(owed: Sequence[Owed], validation_tokens: Sequence[str] = ()) -> bytes:
    """The POST body carrying every notification of ``owed`` (rows of Graph's format):
    ``{"value": [...]}``, with ``validationTokens`` when rich notifications are among them."""
    # Each row's text is its array, brackets first and last: its elements without a copy.
    value = b'{"value":[' + b",".join(memoryview(o.items)[1:-1] for o in owed) + b"]"
    if validation_tokens:
        value += b',"validationTokens":' + orjson.dumps(list(validation_tokens))
    return value + b"}"


def audiences(owed: Sequence[Owed]) -> list[tuple[str, str]]:
    """The (tenant, application) pairs whose rich notifications are among ``owed``: Graph
    sends a validation token for each."""
    return sorted({(o.key[0], application) for o in owed for application in o.applications})


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
    return [owed(row) for row in found]


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
        missed = Outbox(now)
        given_up = {
            (o.key[0], subscription)
            for o in expired
            if not o.lifecycle
            for subscription in o.subscriptions()
        }
        for tenant, subscription_id in sorted(given_up):
            row = rows.get_subscription(transaction, tenant, subscription_id)
            if row is not None and row.lifecycle_notification_url is not None:
                item = lifecycle_item(row, MISSED)
                missed.add(tenant, row.lifecycle_notification_url, row.id, item, lifecycle=True)
        rows.enqueue(transaction, missed.rows(lambda _: now))
    return len(expired)
