"""Notifications owed, as queue rows, and the bytes a receiver is sent.

**Basic notifications are queued as what they say, once** (:meth:`Outbox.told`). Of a basic
change notification only ``id`` differs between the subscriptions one change reaches, and only
the change's part (``changeType``, ``resource``, ``resourceData``) between the changes one
subscription hears. So a queue row of them holds groups: the changes of a group (type, set,
entity type, id) and the subscriptions they are owed to (id, expiry, ``clientState``, tenant),
each once; the sender writes the items, each change to each subscription of its group, when it
POSTs the row (:func:`elements`). With a hundred subscriptions a change costs the dispatcher and
the queue a few dozen bytes, not a hundred items of JSON (about 45 KB, written, then deleted).

**Notifications that carry the entity** (rich ones, and every one of flowruns' formats) and
lifecycle notifications are written when they are owed, as JSON, and the queue stores the text
of each row's items (a JSON array) that a POST's body carries as it is. Those that carry the
entity are written by :class:`Carrier`, for each change, from the entity as the dispatcher read
it: Graph's item with ``encryptedContent`` (:mod:`flowruns.service.encryption`), or a
CloudEvent, Slack or Teams message (:mod:`flowruns.service.formats`). Those of a format go one to
a queue row, since each is a request of its own. Each part is serialised once per dispatch
(:class:`Subscriber`, :func:`change_part`) and an item is their concatenation.

**Ids.** A GUID whose last 12 hexadecimal digits count the notifications of a dispatch (items
written by the dispatcher, after 20 random digits per dispatch, :class:`Ids`) or of a row
(basic notifications, after the first 20 digits of the row's own random id, so a row sent again
carries the same ids): unique, as Graph asks, without drawing a random number per notification.
"""

from __future__ import annotations

import secrets
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from flowruns.edm.datetimes import format_ticks
from flowruns.edm.industrydata import HUB_PATH, PROCESSES
from flowruns.edm.model import EntityType
from flowruns.odata.payload import entity_json
from flowruns.odata.query import Selection
from flowruns.records import Record
from flowruns.service import formats
from flowruns.service.encryption import EncryptionCertificate, encrypted_content

MAX_ITEMS = 1000  # notifications in one queue row, and so in one POST


class Ids:
    """Notification ids for one dispatch: a random GUID prefix and a counter."""

    def __init__(self) -> None:
        digits = secrets.token_hex(10)
        # Version 4 and the RFC 9562 variant, as a random GUID has them.
        self._prefix = (
            f"{digits[:8]}-{digits[8:12]}-4{digits[12:15]}-8{digits[15:18]}-{digits[18:20]}"
        ).encode()
        self._count = 0

    def next(self) -> bytes:
        self._count += 1
        return self._prefix + b"%010x" % self._count


@dataclass(frozen=True)
class Subscriber:
    """What a subscription's change notifications say of it: the bytes before and after the
    change's part. ``id`` comes first and is each item's own."""

    subscription_id: str
    head: bytes  # after the id, up to the change's part
    tail: bytes  # after the change's part

    @classmethod
    def of(cls, subscription: Any) -> Subscriber:
        """For a subscription's row (``id``, ``expiration_date_time``, ``client_state``,
        ``tenant_id``)."""
        return cls.told(*told_of(subscription))

    @classmethod
    def told(
        cls, subscription_id: str, expiration: str, client_state: str | None, tenant: str
    ) -> Subscriber:
        """For what :func:`told_of` says of a subscription."""
        head = b'","subscriptionId":%b,"subscriptionExpirationDateTime":%b,' % (
            orjson.dumps(subscription_id),
            orjson.dumps(expiration),
        )
        tail = b',"clientState":%b,"tenantId":%b}' % (
            orjson.dumps(client_state),
            orjson.dumps(tenant),
        )
        return cls(subscription_id, head, tail)


Told = tuple[str, str, str | None, str]
"""What a basic notification says of its subscription: its id, expiry (as Graph writes it),
``clientState`` and tenant."""
ChangeTold = tuple[str, str, str, str]
"""What a basic notification says of its change: its type, the entity's set, the entity's
type's qualified name and its id."""


def told_of(subscription: Any) -> Told:
    """What a basic notification says of ``subscription`` (a row of ``subscriptions``)."""
    return (
        subscription.id,
        format_ticks(subscription.expiration_date_time),
        subscription.client_state,
        subscription.tenant_id,
    )


def change_part(change_type: str, set_name: str, type_name: str, entity_id: str) -> bytes:
    """``changeType``, ``resource`` and ``resourceData`` of a change of an entity of the set
    ``set_name`` and the type named ``type_name`` (qualified), as Graph shapes them."""
    resource = f"{HUB_PATH}/{set_name}/{entity_id}"
    return orjson.dumps(
        {
            "changeType": change_type,
            "resource": resource,
            "resourceData": {
                "@odata.type": f"#{type_name}",
                "@odata.id": resource,
                "id": entity_id,
            },
        }
    )[1:-1]


@dataclass(frozen=True)
class Change:
    """A change as a notification tells of it: its type, the collection (set name) and the
    entity's stored type and id, and the entity as the dispatcher read it (None: it no longer
    exists), with its process's name when it is a run of a process."""

    change_type: str
    set_name: str
    entity_type: EntityType
    entity_id: str
    record: Record | None
    process_name: str | None


@dataclass(frozen=True)
class Carrier:
    """How a subscription whose notifications carry the entity writes them: its format (None:
    Graph's), the certificate that encrypts the entity (None: not included), the ``$select`` of
    its resource, and what its creator's permissions let it read."""

    subscriber: Subscriber
    application: str
    format: str | None
    certificate: EncryptionCertificate | None
    select: Selection | None
    reads_entities: bool
    reads_processes: bool
    asks_deleted: bool
    links: formats.Links

    @classmethod
    def of(
        cls,
        subscription: Any,
        certificate: EncryptionCertificate | None,
        select: Selection | None,
        set_name: str,
        links: formats.Links,
    ) -> Carrier | None:
        """For a subscription's row, the certificate read from it and its resource's
        ``$select`` and the entity set it follows (``runs``, ``processes``); None when it is
        sent Graph's basic notifications."""
        if certificate is None and subscription.notification_format is None:
            return None
        reads = frozenset((subscription.creator_reads or "").split())
        return cls(
            Subscriber.of(subscription),
            subscription.application_id,
            subscription.notification_format,
            certificate,
            select,
            set_name in reads,
            PROCESSES.name in reads,
            "deleted" in subscription.change_type.split(","),
            links,
        )

    def item(self, ids: Ids, change: Change, now: int, cache: dict[Any, bytes]) -> bytes | None:
        """The notification of ``change`` (None: none is owed). A change of an entity deleted
        since is told as its deletion, which the log holds too: it is left to that change
        when the subscription asks for deletions."""
        record = change.record if self.reads_entities else None
        change_type = change.change_type
        if change.record is None and change_type != "deleted":
            if self.asks_deleted:
                return None
            change_type = "deleted"
        if self.format in formats.CHAT_FORMATS:
            process_name = change.process_name if self.reads_processes else None
            told = formats.summary(
                change_type, change.entity_id, record, process_name, self.links.dashboard
            )
            if self.format == formats.SLACK:
                return formats.slack_message(told)
            return formats.teams_message(told)
        part_key = ("part", change_type, change.set_name, change.entity_id)
        part = cache.get(part_key)
        if part is None:
            type_name = change.entity_type.qualified_name
            part = change_part(change_type, change.set_name, type_name, change.entity_id)
            cache[part_key] = part
        if self.certificate is not None and record is not None and change_type != "deleted":
            names = None if self.select is None or self.select.names is None else self.select.names
            key = ("entity", change.entity_id, None if names is None else tuple(names))
            data = cache.get(key)
            if data is None:
                data = cache[key] = orjson.dumps(entity_json(record, self.select))
            part += b',"encryptedContent":' + encrypted_content(self.certificate, data)
        notification_id = ids.next()
        item = b'{"id":"' + notification_id + self.subscriber.head + part + self.subscriber.tail
        if self.format == formats.CLOUD_EVENTS:
            return formats.cloud_event(
                notification_id,
                change_type,
                formats.event_kind(change.entity_type),
                self.links.service_root,
                change.set_name,
                change.entity_id,
                now,
                item,
            )
        return item


def lifecycle_item(subscription: Any, event: str) -> bytes:
    """A lifecycle notification of ``event`` for ``subscription``, as Graph shapes it."""
    return orjson.dumps(
        {
            "id": str(uuid.uuid4()),
            "lifecycleEvent": event,
            "subscriptionId": subscription.id,
            "subscriptionExpirationDateTime": format_ticks(subscription.expiration_date_time),
            "resource": subscription.resource,
            "clientState": subscription.client_state,
            "tenantId": subscription.tenant_id,
        }
    )


Group = tuple[list[Told], list[ChangeTold]]
"""Basic notifications: one of each change to each subscription."""
OutboxKey = tuple[str, str, bool, str | None]
"""Where notifications go: tenant, receiver URL, whether they are lifecycle ones, and their
format (None: Graph's)."""


class Outbox:
    """Notifications owed, gathered per tenant, receiver and kind into queue rows of at most
    :data:`MAX_ITEMS` each: one row (and one POST) carries every notification a dispatch owes
    one receiver, however many subscriptions it has; a notification of a format (one request
    each) is a row of its own. Each item is kept with its subscription's id, so those of a
    subscription can be left out; rows of rich notifications name the applications their
    validation tokens are for."""

    def __init__(self, now: int) -> None:
        self.now = now
        self.items: dict[OutboxKey, list[tuple[str, bytes]]] = defaultdict(list)
        self.applications: dict[OutboxKey, set[str]] = defaultdict(set)
        # Basic notifications, per tenant and receiver: each change of a group to each of its
        # subscriptions.
        self.groups: dict[tuple[str, str], list[Group]] = defaultdict(list)

    def told(
        self, tenant: str, url: str, subscriptions: list[Told], changes: list[ChangeTold]
    ) -> None:
        """Basic notifications to ``url``: one of each of ``changes`` to each of
        ``subscriptions``."""
        self.groups[(tenant, url)].append((subscriptions, changes))

    def add(
        self, tenant: str, url: str, subscription_id: str, item: bytes, *, lifecycle: bool
    ) -> None:
        self.items[(tenant, url, lifecycle, None)].append((subscription_id, item))

    def bucket(
        self, tenant: str, url: str, *, lifecycle: bool, format: str | None = None
    ) -> list[tuple[str, bytes]]:
        """The list :meth:`add` appends to for ``tenant``, ``url``, ``lifecycle`` and
        ``format``: a caller adding many items appends to it directly."""
        return self.items[(tenant, url, lifecycle, format)]

    def validated_for(self, tenant: str, url: str, application: str) -> None:
        """Graph notifications to ``url`` carry ``application``'s resource data: the POST
        carries a validation token for it."""
        self.applications[(tenant, url, False, None)].add(application)

    def __len__(self) -> int:
        told = sum(len(s) * len(c) for groups in self.groups.values() for s, c in groups)
        return told + sum(len(items) for items in self.items.values())

    def rows(self, due: Callable[[str], int], dropped: Iterable[str] = ()) -> list[dict[str, Any]]:
        """The queue rows, each due at ``due(url)``, without the items of the subscriptions
        ``dropped``; ``items`` is the JSON text of the row's array, ``body`` its bytes."""
        left_out = frozenset(dropped)
        found = []
        for key, owed in self.items.items():
            tenant, url, lifecycle, format = key
            kept = [
                (subscription, item) for subscription, item in owed if subscription not in left_out
            ]
            items = [item for _, item in kept]
            applications = self.applications.get(key)
            size = MAX_ITEMS if format is None else 1
            for start in range(0, len(items), size):
                chunk = items[start : start + size]
                body = b"[" + b",".join(chunk) + b"]"
                found.append(
                    {
                        "tenant_id": tenant,
                        "id": str(uuid.uuid4()),
                        "url": url,
                        "items": body.decode(),
                        "body": body,
                        "count": len(chunk),
                        "lifecycle": int(lifecycle),
                        "created": self.now,
                        "due": due(url),
                        "attempts": 0,
                        "format": format,
                        "applications": (
                            orjson.dumps(sorted(applications)).decode() if applications else None
                        ),
                        "subscription_id": None if format is None else kept[start][0],
                    }
                )
        for (tenant, url), groups in self.groups.items():
            sent = [([t for t in told if t[0] not in left_out], c) for told, c in groups]
            for packed, count in _packed(sent):
                text = orjson.dumps({"groups": packed})
                found.append(
                    {
                        "tenant_id": tenant,
                        "id": str(uuid.uuid4()),
                        "url": url,
                        "items": text.decode(),
                        "body": text,
                        "count": count,
                        "lifecycle": 0,
                        "created": self.now,
                        "due": due(url),
                        "attempts": 0,
                        "format": None,
                        "applications": None,
                        "subscription_id": None,
                    }
                )
        return found


def _packed(groups: Iterable[Group]) -> Iterator[tuple[list[Group], int]]:
    """``groups`` in rows of at most :data:`MAX_ITEMS` notifications (a group split where it
    would not fit), each with its count."""
    row: list[Group] = []
    count = 0
    for told, changes in groups:
        for start in range(0, len(told), MAX_ITEMS):
            some = told[start : start + MAX_ITEMS]
            left = changes
            while left:
                room = (MAX_ITEMS - count) // len(some)
                if room == 0:
                    yield row, count
                    row, count = [], 0
                    continue
                row.append((some, left[:room]))
                count += len(some) * len(left[:room])
                left = left[room:]
    if row:
        yield row, count


def elements(row_id: str, text: bytes) -> bytes:
    """The notifications of the queue row ``row_id`` whose ``items`` are ``text``, as the
    elements of a JSON array (``a,b,…``). A row of items (a JSON array) holds them as they are;
    a row of basic notifications (``{"groups": …}``) holds what they say of their changes and
    subscriptions, once each, and they are written here: ``id`` is the row's own id, its last
    12 hexadecimal digits replaced by the notification's place in the row, so a row sent again
    sends the same ids."""
    if text[:1] == b"[":
        return text[1:-1]
    # One join of the items' pieces: each item is ',{"id":"' + its id + head + part + tail.
    prefix = b',{"id":"' + row_id[:24].encode()
    pieces: list[bytes] = []
    count = 0
    for told, changes in orjson.loads(text)["groups"]:
        subscribers = [Subscriber.told(*subscription) for subscription in told]
        for change in changes:
            part = change_part(*change)
            for subscriber in subscribers:
                count += 1
                pieces += (prefix, b"%012x" % count, subscriber.head, part, subscriber.tail)
    return b"".join(pieces)[1:]


def subscriptions_of(text: bytes) -> set[str]:
    """The subscriptions whose notifications a queue row's ``items`` (``text``) holds."""
    found = orjson.loads(text)
    if isinstance(found, list):
        return {item["subscriptionId"] for item in found}
    return {subscription[0] for told, _ in found["groups"] for subscription in told}
