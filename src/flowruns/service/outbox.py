"""Notifications owed, as the bytes a receiver is sent.

A notification is written once, as JSON, when it is owed: the queue stores the text of each
row's items (a JSON array) and a POST's body is those arrays' elements inside ``{"value":
[…]}``, so nothing is parsed or serialised again between the change log and the receiver.

**Shared bytes.** Of a change notification, only ``id`` differs between the subscriptions one
change reaches and only the change's part (``changeType``, ``resource``, ``resourceData``)
between the changes one subscription hears. Each part is serialised once per dispatch
(:class:`Subscriber`, :func:`change_part`) and an item is their concatenation, which costs a
few hundred nanoseconds; with a hundred subscriptions that decides what a write costs.

**Ids.** Each notification's ``id`` is a GUID whose first 20 hexadecimal digits are random per
dispatch (:class:`Ids`) and whose last 12 count the notifications of that dispatch: unique, as
Graph asks, without drawing a random number per notification.
"""

from __future__ import annotations

import secrets
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from flowruns.edm.datetimes import format_ticks
from flowruns.edm.industrydata import HUB_PATH
from flowruns.edm.model import EntityType

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
        head = b'","subscriptionId":%b,"subscriptionExpirationDateTime":%b,' % (
            orjson.dumps(subscription.id),
            orjson.dumps(format_ticks(subscription.expiration_date_time)),
        )
        tail = b',"clientState":%b,"tenantId":%b}' % (
            orjson.dumps(subscription.client_state),
            orjson.dumps(subscription.tenant_id),
        )
        return cls(subscription.id, head, tail)

    def item(self, ids: Ids, change: bytes) -> bytes:
        return b'{"id":"' + ids.next() + self.head + change + self.tail


def change_part(change_type: str, set_name: str, entity_type: EntityType, entity_id: str) -> bytes:
    """``changeType``, ``resource`` and ``resourceData`` of a change of an entity of the set
    ``set_name``, as Graph shapes them."""
    resource = f"{HUB_PATH}/{set_name}/{entity_id}"
    return orjson.dumps(
        {
            "changeType": change_type,
            "resource": resource,
            "resourceData": {
                "@odata.type": f"#{entity_type.qualified_name}",
                "@odata.id": resource,
                "id": entity_id,
            },
        }
    )[1:-1]


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


OutboxKey = tuple[str, str, bool]
"""Where notifications go: tenant, receiver URL, and whether they are lifecycle ones."""


class Outbox:
    """Notifications owed, gathered per tenant, receiver and kind into queue rows of at most
    :data:`MAX_ITEMS` each: one row (and one POST) carries every notification a dispatch owes
    one receiver, however many subscriptions it has. Each item is kept with its subscription's
    id, so those of a subscription can be left out."""

    def __init__(self, now: int) -> None:
        self.now = now
        self.items: dict[OutboxKey, list[tuple[str, bytes]]] = defaultdict(list)

    def add(
        self, tenant: str, url: str, subscription_id: str, item: bytes, *, lifecycle: bool
    ) -> None:
        self.items[(tenant, url, lifecycle)].append((subscription_id, item))

    def bucket(self, tenant: str, url: str, *, lifecycle: bool) -> list[tuple[str, bytes]]:
        """The list :meth:`add` appends to for ``tenant``, ``url`` and ``lifecycle``: a
        caller adding many items appends to it directly."""
        return self.items[(tenant, url, lifecycle)]

    def __len__(self) -> int:
        return sum(len(items) for items in self.items.values())

    def rows(self, due: Callable[[str], int], dropped: Iterable[str] = ()) -> list[dict[str, Any]]:
        """The queue rows, each due at ``due(url)``, without the items of the subscriptions
        ``dropped``; ``items`` is the JSON text of the row's array, ``body`` its bytes."""
        left_out = frozenset(dropped)
        found = []
        for (tenant, url, lifecycle), owed in self.items.items():
            items = [item for key, item in owed if key not in left_out]
            for start in range(0, len(items), MAX_ITEMS):
                chunk = items[start : start + MAX_ITEMS]
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
                    }
                )
        return found
