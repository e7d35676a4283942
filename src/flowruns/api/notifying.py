"""Sending change notifications: the validation handshake, and delivery in the background.

**Receivers are checked where they are reached.** A notification URL's host is resolved once
per request; every address it resolves to must be public (not loopback, private, link-local —
which holds the 169.254.169.254 metadata service —, multicast, reserved, unspecified, shared or
otherwise non-global, IPv4-mapped IPv6 addresses judged as their IPv4 address), and the
connection is made to exactly that address, with the URL's name kept for the ``Host`` header and
TLS (SNI and certificate). A name that resolves to a public address when the subscription is
created and to a private one later is refused at delivery (no DNS rebinding). Redirects are not
followed. ``FLOWRUNS_NOTIFICATION_ALLOW_PRIVATE=1`` lets loopback and private addresses (and
``http://``) through, for tests and local use; link-local, multicast, reserved and unspecified
addresses are refused even then.

**Each format is validated as its receivers expect.** Graph's format: Graph's validation token
(:func:`handshake`). CloudEvents: the abuse-protection handshake of the CloudEvents HTTP webhook
specification (:func:`cloud_events_handshake`). Slack and Teams webhooks answer no handshake:
their host must be on the operator's allowlist (``FLOWRUNS_NOTIFICATION_CHAT_HOSTS``), checked
when the subscription is created and at every delivery, besides the rules above.

**Delivery never blocks requests.** :class:`Notifier` runs in the background of each server
process: a dispatcher that turns the change log into queued notifications (woken at once by
this process's own writes, and every poll interval for other processes'), a lifecycle check,
and a sender that claims due notifications and POSTs each receiver's in one request, one
request in flight per receiver, each in its own task with the notification timeout: a slow or
dead receiver holds only its own notifications.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
import socket
from collections import defaultdict
from collections.abc import Sequence

import anyio
import httpx

from flowruns.api.urls import SERVICE_ROOT_PATH
from flowruns.auth.keys import notification_signing_key
from flowruns.auth.validation_tokens import ValidationTokens
from flowruns.edm.datetimes import TICKS_PER_SECOND, now_ticks
from flowruns.errors import InvalidRequest
from flowruns.service import dispatching, formats, notifications
from flowruns.service.formats import Links
from flowruns.service.notifications import Owed
from flowruns.settings import Settings
from flowruns.store.database import Database
from flowruns.store.subscriptions import NotificationKey

log = logging.getLogger("flowruns.notifications")

HANDSHAKE_SECONDS = 10.0  # Graph's: the receiver echoes the validation token within 10 s
CLAIM_LIMIT = 50  # queue rows claimed at once (up to a thousand notifications each)
# A dispatch rests at least DISPATCH_GAP_SECONDS after the one before, so that writes that come
# meanwhile are dispatched together; after one that queued many notifications, longer (up to
# MAX_DISPATCH_GAP_SECONDS), so that each carries more of them and the work per dispatch (the
# reads, the write, the POST) is paid less often.
DISPATCH_GAP_SECONDS = 0.05
MAX_DISPATCH_GAP_SECONDS = 0.25
ITEMS_PER_GAP = 200  # notifications a dispatch of the shortest gap queues before gaps lengthen
LIFECYCLE_SECONDS = 1.0
ERROR_PAUSE_SECONDS = 1.0

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def dispatch_gap(items: int) -> float:
    """How long the dispatcher rests after a dispatch that queued ``items`` notifications."""
    return min(MAX_DISPATCH_GAP_SECONDS, DISPATCH_GAP_SECONDS * max(1.0, items / ITEMS_PER_GAP))


class Refused(Exception):
    """A receiver flowruns will not connect to."""


def refusal(address: Address, *, allow_private: bool) -> str | None:
    """Why ``address`` is not a receiver's (None: it may be one)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for reason, refused in (
        ("unspecified", address.is_unspecified),
        ("link-local (cloud metadata services live there)", address.is_link_local),
        ("multicast", address.is_multicast),
    ):
        if refused:
            return reason
    if address.is_loopback:
        return None if allow_private else "loopback"
    if address.is_reserved:
        return "reserved"
    if address.is_private:
        return None if allow_private else "private"
    if not address.is_global:
        return None if allow_private else "not a public address"
    return None


async def check_receiver(url: str, target: str, *, allow_private: bool) -> None:
    """400 naming ``target`` when ``url``'s host is refused as a receiver's."""
    try:
        await checked_address(httpx.URL(url), allow_private=allow_private)
    except Refused as error:
        raise InvalidRequest(f"{target} is refused: {error}.", target=target) from None


async def checked_address(url: httpx.URL, *, allow_private: bool) -> Address:
    """The one address to connect to for ``url``: its host resolved once, every address
    checked; raises :class:`Refused`."""
    host = url.host
    try:
        addresses: list[Address] = [ipaddress.ip_address(host)]
    except ValueError:
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            found = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as error:
            raise Refused(f"{host} does not resolve: {error}") from None
        addresses = [ipaddress.ip_address(info[4][0]) for info in found]
    for address in addresses:
        reason = refusal(address, allow_private=allow_private)
        if reason is not None:
            raise Refused(f"{host} resolves to {address}, a {reason} address")
    return addresses[0]


def check_chat_host(url: str, target: str, allowed: Sequence[str]) -> None:
    """400 naming ``target`` unless ``url``'s host is on the chat allowlist ``allowed``."""
    host = httpx.URL(url).host.lower()
    if host not in allowed:
        named = ", ".join(allowed) if allowed else "none"
        raise InvalidRequest(
            f"{target}: {host} is not a chat webhook host this server posts to (the operator's "
            f"FLOWRUNS_NOTIFICATION_CHAT_HOSTS allows {named}).",
            target=target,
        )


async def send(
    client: httpx.AsyncClient,
    url: str,
    *,
    allow_private: bool,
    timeout: float,
    method: str = "POST",
    content: bytes = b"",
    content_type: str = "application/json; charset=utf-8",
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """Send a request to ``url`` at the address :func:`checked_address` found, the name kept
    for the ``Host`` header and TLS; raises :class:`Refused` or an :class:`httpx.HTTPError`."""
    target = httpx.URL(url)
    if target.scheme not in (("https", "http") if allow_private else ("https",)):
        raise Refused(f"{target.scheme}:// is not allowed")
    address = await checked_address(target, allow_private=allow_private)
    request = client.build_request(
        method,
        target.copy_with(host=str(address)),
        params=params,
        content=content,
        headers={
            "Host": target.netloc.decode("ascii"),
            **({"Content-Type": content_type} if content or method == "POST" else {}),
            **(headers or {}),
        },
        extensions={"sni_hostname": target.host},
        timeout=timeout,
    )
    return await client.send(request)


def _unreachable(target: str, error: Exception) -> InvalidRequest:
    """400 naming ``target`` for a validation request that could not be made."""
    if isinstance(error, Refused):
        return InvalidRequest(f"{target} is refused: {error}.", target=target)
    if isinstance(error, httpx.TimeoutException):
        return InvalidRequest(
            f"Subscription validation request failed: {target} did not answer within "
            f"{HANDSHAKE_SECONDS:g} seconds.",
            target=target,
        )
    return InvalidRequest(
        f"Subscription validation request failed: {target} could not be reached ({error}).",
        target=target,
    )


async def cloud_events_handshake(
    client: httpx.AsyncClient, url: str, target: str, origin: str, *, allow_private: bool
) -> None:
    """The abuse protection of the CloudEvents HTTP webhook specification (section 4): an
    ``OPTIONS`` request with ``WebHook-Request-Origin``; the receiver must answer 2xx with
    ``WebHook-Allowed-Origin`` naming that origin (or ``*``). 400 naming what it did
    otherwise."""
    try:
        response = await send(
            client,
            url,
            method="OPTIONS",
            allow_private=allow_private,
            timeout=HANDSHAKE_SECONDS,
            headers={"WebHook-Request-Origin": origin},
        )
    except (Refused, httpx.HTTPError) as error:
        raise _unreachable(target, error) from None
    allowed = response.headers.get("webhook-allowed-origin")
    if not 200 <= response.status_code < 300:
        problem = f"answered {response.status_code}"
    elif allowed is None:
        problem = "answered without a WebHook-Allowed-Origin header"
    elif allowed.strip() not in ("*", origin):
        problem = f"allows the origin {allowed!r}, not {origin!r}"
    else:
        return
    raise InvalidRequest(
        f"CloudEvents webhook validation failed: {target} {problem}. It must answer the OPTIONS "
        f"request 200 with 'WebHook-Allowed-Origin: {origin}' (or '*').",
        target=target,
    )


async def handshake(
    client: httpx.AsyncClient, url: str, target: str, *, allow_private: bool
) -> None:
    """Graph's validation: POST ``url?validationToken=…``; the receiver must answer 200 with the
    token as ``text/plain`` within 10 seconds. 400 naming what it did otherwise."""
    token = secrets.token_urlsafe(24)
    try:
        response = await send(
            client,
            url,
            allow_private=allow_private,
            timeout=HANDSHAKE_SECONDS,
            content_type="text/plain; charset=utf-8",
            params={"validationToken": token},
        )
    except (Refused, httpx.HTTPError) as error:
        raise _unreachable(target, error) from None
    media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    body = response.text
    if response.status_code != 200:
        problem = f"answered {response.status_code}"
    elif body != token:
        problem = f"answered 200 with {body[:80]!r} instead of the validation token"
    elif media_type != "text/plain":
        problem = f"answered the token as {media_type or 'no media type'}, not text/plain"
    else:
        return
    raise InvalidRequest(
        f"Subscription validation request failed: {target} {problem}. It must answer 200 with "
        "the validationToken query parameter's value as text/plain within 10 seconds.",
        target=target,
    )


class Notifier:
    """The background work of change notifications in one server process."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.client = httpx.AsyncClient(follow_redirects=False, trust_env=False)
        self.retries = notifications.Retries(
            settings.notification_retry_seconds, settings.notification_retry_window_seconds
        )
        self._changed = anyio.Event()
        self._queued = anyio.Event()
        self._busy: set[str] = set()
        self._delivered: list[NotificationKey] = []
        self.tokens = ValidationTokens(
            notification_signing_key(settings.data_dir), settings.notification_issuer
        )
        base = settings.public_url or f"http://{settings.host}:{settings.port}"
        self.links = Links(base + SERVICE_ROOT_PATH, base + "/")
        # A claim lasts past the longest a delivery can take, with room to record it.
        self._lease = settings.notification_timeout_seconds * 2 + 5

    @property
    def allow_private(self) -> bool:
        return self.settings.notification_allow_private

    @property
    def origin(self) -> str:
        """The origin named in CloudEvents webhook handshakes: this server's host name."""
        return httpx.URL(self.links.dashboard).host

    def changed(self) -> None:
        """This process wrote: look at the log now rather than at the next poll."""
        self._changed.set()

    async def close(self) -> None:
        await self.client.aclose()

    async def run(self) -> None:
        """Dispatch, check lifecycles and deliver until cancelled."""
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(self._dispatch_forever, tasks)
            tasks.start_soon(self._lifecycle_forever)
            tasks.start_soon(self._deliver_forever, tasks)

    async def _wait(self, event: anyio.Event) -> None:
        with anyio.move_on_after(self.settings.notification_poll_seconds):
            await event.wait()

    def _start_sending(self, tasks: anyio.abc.TaskGroup, owed: Sequence[Owed]) -> None:
        by_url: dict[str, list[Owed]] = defaultdict(list)
        for row in owed:
            by_url[row.url].append(row)
        for url, rows in by_url.items():
            self._busy.add(url)
            tasks.start_soon(self._send, url, rows)

    async def _dispatch_forever(self, tasks: anyio.abc.TaskGroup) -> None:
        while True:
            await self._wait(self._changed)
            self._changed = anyio.Event()
            started = anyio.current_time()
            now = now_ticks()
            lease_until = now + round(self._lease * TICKS_PER_SECOND)
            delivered, self._delivered = self._delivered, []
            try:
                dispatched = await anyio.to_thread.run_sync(
                    dispatching.dispatch,
                    self.db,
                    now,
                    lease_until,
                    sorted(self._busy),
                    delivered,
                    self.links,
                )
            except Exception:
                self._delivered[:0] = delivered  # forgotten with the next dispatch
                log.exception("Dispatching change notifications failed")
                await anyio.sleep(ERROR_PAUSE_SECONDS)
                continue
            self._start_sending(tasks, dispatched.claimed)
            if dispatched.waiting:
                self._queued.set()  # queued for a receiver that was busy
            if dispatched.more:
                self._changed.set()
            # Writes that come while this one rests are dispatched together.
            await anyio.sleep(
                max(0.0, dispatch_gap(dispatched.items) - (anyio.current_time() - started))
            )

    async def _lifecycle_forever(self) -> None:
        while True:
            await anyio.sleep(max(LIFECYCLE_SECONDS, self.settings.notification_poll_seconds))
            try:
                queued = await anyio.to_thread.run_sync(
                    notifications.lifecycle, self.db, now_ticks()
                )
            except Exception:
                log.exception("The subscription lifecycle check failed")
                continue
            if queued:
                self._queued.set()

    async def _deliver_forever(self, tasks: anyio.abc.TaskGroup) -> None:
        """Claim what is due (retries, rows of other processes' expired leases, rows that
        waited for a busy receiver) and send it."""
        while True:
            try:
                owed = await anyio.to_thread.run_sync(
                    notifications.claim,
                    self.db,
                    now_ticks(),
                    self._lease,
                    CLAIM_LIMIT,
                    sorted(self._busy),
                )
            except Exception:
                log.exception("Claiming notifications failed")
                await anyio.sleep(ERROR_PAUSE_SECONDS)
                owed = []
            self._start_sending(tasks, owed)
            if len(owed) < CLAIM_LIMIT:
                await self._wait(self._queued)
                self._queued = anyio.Event()

    async def _post(self, url: str, content: bytes, content_type: str) -> str | None:
        """POST ``content`` to ``url``: None when the receiver took it, else what went wrong."""
        try:
            response = await send(
                self.client,
                url,
                allow_private=self.allow_private,
                timeout=self.settings.notification_timeout_seconds,
                content=content,
                content_type=content_type,
            )
        except Refused as error:
            return f"refused: {error}"
        except httpx.HTTPError as error:
            return f"{type(error).__name__}: {error}"
        if not 200 <= response.status_code < 300:
            return f"answered {response.status_code}"
        return None

    async def _deliver(self, url: str, owed: Sequence[Owed]) -> tuple[list[Owed], str | None]:
        """Send ``owed``: Graph's rows in one POST (with a validation token for each tenant and
        application whose resource data they carry), then each row of a format in a POST of its
        own, in order, until one is not taken; the rows taken, and what went wrong (None: all
        were taken)."""
        taken: list[Owed] = []
        graph = [o for o in owed if o.format is None]
        if graph:
            tokens = [self.tokens.token(*pair) for pair in notifications.audiences(graph)]
            problem = await self._post(
                url, notifications.body(graph, tokens), "application/json; charset=utf-8"
            )
            if problem is not None:
                return taken, problem
            taken.extend(graph)
        for row in owed:
            if row.format is None:
                continue
            if row.format in formats.CHAT_FORMATS:
                host = httpx.URL(url).host.lower()
                if host not in self.settings.notification_chat_hosts:
                    return taken, f"refused: {host} is no longer on the chat webhook allowlist"
            # A row of a format holds one notification: its array's one element.
            problem = await self._post(url, row.items[1:-1], formats.CONTENT_TYPES[row.format])
            if problem is not None:
                return taken, problem
            taken.append(row)
        return taken, None

    async def _send(self, url: str, owed: Sequence[Owed]) -> None:
        try:
            taken, problem = await self._deliver(url, owed)
            if taken:
                # Forgotten by the next dispatch's write, well within the claim's lease.
                self._delivered.extend(o.key for o in taken)
                self._changed.set()
            if problem is not None:
                log.info("Delivering notifications to %s failed: %s", url, problem)
                sent = {o.key for o in taken}
                left = [o for o in owed if o.key not in sent]
                await anyio.to_thread.run_sync(
                    notifications.failed, self.db, left, now_ticks(), self.retries
                )
        except Exception:
            log.exception("Recording a delivery to %s failed", url)
        finally:
            self._busy.discard(url)
            self._queued.set()
