"""Receiving change notifications, in any web framework.

A receiver of Microsoft Graph change notifications (flowruns sends the same) does two things:
it answers the validation handshake — a POST with ``?validationToken=…``, to be answered ``200``
with the token as ``text/plain`` within 10 seconds — and it takes notifications: a POST of
``{"value": [...]}`` to be answered ``202`` within a few seconds, after checking that each
notification carries the ``clientState`` given when subscribing (anyone can POST to a URL).

:class:`Receiver` does both from the request's query string and body, and says what to answer::

    receiver = Receiver(client_state="secretClientValue")

    def endpoint(request):  # Flask, Django, Starlette, http.server: the same three lines
        answer = receiver.handle(request.query_string, request.body)
        for notification in answer.notifications:
            print(notification.change_type, notification.resource)
        return Response(answer.body, status=answer.status, content_type=answer.content_type)
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from flowruns.client.codec import parse_datetime


@dataclass(frozen=True)
class Notification:
    """One notification: a change (``change_type`` ``created``, ``updated`` or ``deleted`` of
    the entity at ``resource``), or a lifecycle event (``lifecycle_event``
    ``reauthorizationRequired``, ``subscriptionRemoved`` or ``missed``)."""

    subscription_id: str
    tenant_id: str | None
    client_state: str | None
    subscription_expiration: datetime | None
    change_type: str | None = None
    resource: str | None = None
    resource_id: str | None = None
    resource_type: str | None = None
    lifecycle_event: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_json(cls, item: Mapping[str, Any]) -> Notification:
        data = item.get("resourceData") or {}
        expiration = item.get("subscriptionExpirationDateTime")
        kind = data.get("@odata.type")
        return cls(
            subscription_id=str(item.get("subscriptionId", "")),
            tenant_id=item.get("tenantId"),
            client_state=item.get("clientState"),
            subscription_expiration=parse_datetime(expiration) if expiration else None,
            change_type=item.get("changeType"),
            resource=item.get("resource"),
            resource_id=data.get("id"),
            resource_type=kind.removeprefix("#") if isinstance(kind, str) else None,
            lifecycle_event=item.get("lifecycleEvent"),
            raw=item,
        )


@dataclass(frozen=True)
class Answer:
    """What to answer the request with, and the notifications it carried (those whose
    ``clientState`` matched; ``rejected`` counts the others, which are dropped)."""

    status: int
    content_type: str
    body: bytes
    notifications: list[Notification] = field(default_factory=list)
    rejected: int = 0


class Receiver:
    """Answers the handshake and reads notifications, keeping only those that carry
    ``client_state`` (compared in constant time; ``None`` accepts notifications without one)."""

    def __init__(self, client_state: str | None = None) -> None:
        self.client_state = client_state

    @staticmethod
    def validation_token(query: str | bytes) -> str | None:
        """The ``validationToken`` of a handshake request's query string (None: not one)."""
        text = query.decode("latin-1") if isinstance(query, bytes) else query
        tokens = parse_qs(text.lstrip("?"), keep_blank_values=True).get("validationToken")
        return tokens[0] if tokens else None

    def accepts(self, notification: Notification) -> bool:
        if self.client_state is None:
            return notification.client_state is None
        given = notification.client_state or ""
        return hmac.compare_digest(given.encode(), self.client_state.encode())

    def handle(self, query: str | bytes, body: bytes) -> Answer:
        """The answer to a POST with this query string and body: the handshake's 200 with the
        token, 202 for notifications, 400 for a body that is not a notification payload."""
        token = self.validation_token(query)
        if token is not None:
            return Answer(200, "text/plain; charset=utf-8", token.encode())
        try:
            items = json.loads(body)["value"]
            parsed = [Notification.from_json(item) for item in items]
        except (ValueError, KeyError, TypeError, AttributeError):
            return Answer(400, "text/plain; charset=utf-8", b"not a notification payload")
        kept = [n for n in parsed if self.accepts(n)]
        return Answer(202, "text/plain; charset=utf-8", b"", kept, len(parsed) - len(kept))
