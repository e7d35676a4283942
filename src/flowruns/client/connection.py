"""Where the service is and who the client is: service root, token and the fixed headers."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from flowruns import __version__

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
