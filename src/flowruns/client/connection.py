"""Where the service is and who the client is: service root, token and the fixed headers."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from flowruns import __version__
from flowruns.client.errors import ForeignLinkError

DEFAULT_URL = "http://127.0.0.1:8000/beta"
USER_AGENT = f"flowruns-python/{__version__}"

#: A bearer token, or a function returning a current one (called before every request).
TokenArg = str | Callable[[], str] | None


@dataclass(frozen=True)
class Connection:
    """The resolved service root (ending in ``/``) and token source of one client."""

    base_url: str
    token: TokenArg

    @classmethod
    def resolve(cls, url: str | None, token: TokenArg) -> Connection:
        """Explicit arguments first, then ``FLOWRUNS_URL`` / ``FLOWRUNS_TOKEN``, then the
        local default service root (and no token, for a server started with ``--no-auth``)."""
        url = url or os.environ.get("FLOWRUNS_URL") or DEFAULT_URL
        if token is None:
            token = os.environ.get("FLOWRUNS_TOKEN") or None
        return cls(url.rstrip("/") + "/", token)

    def on_own_origin(self, url: str) -> str:
        """``url`` unchanged when it is relative to the service root or on the root's own
        origin; :class:`ForeignLinkError` otherwise, before anything is sent there."""
        try:
            target = httpx.URL(url)
        except httpx.InvalidURL as error:
            raise ForeignLinkError(f"the service sent a link that is no URL ({error})") from None
        if not target.scheme and not target.host and not url.startswith("//"):
            return url
        own = _origin(httpx.URL(self.base_url))
        if _origin(target) != own:
            raise ForeignLinkError(
                f"the service sent a link to {_shown(_origin(target))}, not to its own origin "
                f"{_shown(own)}; it is not followed, so the token is not sent there (a server "
                "behind a proxy needs FLOWRUNS_PUBLIC_URL set to the address clients use)"
            )
        return url

    def headers(self) -> dict[str, str]:
        """Headers sent with every request."""
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        token = self.token() if callable(self.token) else self.token
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def secret(self) -> str | None:
        """The static token, so that messages the SDK writes can be scrubbed of it."""
        return self.token if isinstance(self.token, str) else None


_DEFAULT_PORTS = {"http": 80, "https": 443}
Origin = tuple[str, str, int | None]


def _origin(url: httpx.URL) -> Origin:
    """Scheme, host and port, with the scheme's default port written out."""
    scheme = url.scheme.lower()
    return scheme, url.host.lower(), url.port or _DEFAULT_PORTS.get(scheme)


def _shown(origin: Origin) -> str:
    scheme, host, port = origin
    host = f"[{host}]" if ":" in host else host
    return (f"{scheme}:" if scheme else "") + f"//{host}" + (f":{port}" if port else "")
