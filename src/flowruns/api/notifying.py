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

**Delivery** (the dispatcher, the lifecycle check and the sender) is
:mod:`flowruns.api.delivery`'s: :class:`Notifier` only tells it of this process's writes.
"""

from __future__ import annotations

import ipaddress
import secrets
import socket
from collections.abc import Callable, Sequence

import anyio
import httpx

from flowruns.api.urls import SERVICE_ROOT_PATH
from flowruns.auth.keys import notification_signing_key
from flowruns.auth.validation_tokens import ValidationTokens
from flowruns.errors import InvalidRequest
from flowruns.service.formats import Links
from flowruns.settings import Settings

HANDSHAKE_SECONDS = 10.0  # Graph's: the receiver echoes the validation token within 10 s

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


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


def links_for(settings: Settings) -> Links:
    """The addresses the notifications of flowruns' formats link to."""
    base = settings.public_url or f"http://{settings.host}:{settings.port}"
    return Links(base + SERVICE_ROOT_PATH, base + "/")


def validation_tokens(settings: Settings) -> ValidationTokens:
    """The issuer of the validationTokens rich notifications carry."""
    return ValidationTokens(
        notification_signing_key(settings.data_dir), settings.notification_issuer
    )


class Notifier:
    """What requests need of change notifications: the client of the validation handshakes,
    the keys of rich notifications' validation tokens, and the delivery, told of each write
    (``wake``)."""

    def __init__(self, settings: Settings, wake: Callable[[], None]) -> None:
        self.client = httpx.AsyncClient(follow_redirects=False, trust_env=False)
        self.tokens = validation_tokens(settings)
        self.links = links_for(settings)
        self._wake = wake

    @property
    def origin(self) -> str:
        """The origin named in CloudEvents webhook handshakes: this server's host name."""
        return httpx.URL(self.links.dashboard).host

    def changed(self) -> None:
        """This process wrote: the delivery looks at the log now rather than at its next poll."""
        self._wake()

    async def close(self) -> None:
        await self.client.aclose()
