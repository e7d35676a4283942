"""Scrubbing secrets out of text the SDK sends on a flow's behalf (a failed run's message).

An exception's message often quotes what failed: a connection URL with its password, a header
with its token. The blocking error of a failed run is read by everyone who can read runs, so
the usual shapes of credentials are replaced by ``***`` before it leaves the process.

Secrets are found by their shape — a URL's password, a bearer token, a JSON Web Token, the value
of a key named like a secret in ``key=value`` or JSON — never by a word alone: a message such as
``/etc/passwd: Permission denied`` names a file, and stays as it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "***"

# A key named like a secret: db_password, PGPASSWORD, client_secret, refreshToken, X-Api-Key.
_SECRET_KEY = (
    r"[\w-]*(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|"
    r"credential)[\w-]*"
)
# A value: quoted (its quotes kept), or up to the next space or separator.
_VALUE = r"(?:\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|[^\s'\",;&}\]]+)"

_PATTERNS = (
    # scheme://user:password@host
    (re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]*:)[^@\s/]+@"), rf"\1{MASK}@"),
    # Authorization: Bearer xxx / Basic xxx
    (re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]{8,}"), rf"\1\2{MASK}"),
    # JSON Web Tokens wherever they appear
    (re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), MASK),
    # password=…, --db-password=…, ?access_token=…&, Pwd=…; — a key that starts a word, not one
    # inside a path (/etc/passwd: …, /run/secrets/db_password): a slash, backslash or dot
    # before it makes it part of a file's name.
    (re.compile(rf"(?i)(?<![\w/\\.~-]){_SECRET_KEY}\s*=\s*(?P<value>{_VALUE})"), None),
    # "client_secret": "…", 'api_key': '…' — a quoted key, as JSON and Python write them.
    (re.compile(rf"(?i)([\"']){_SECRET_KEY}\1\s*:\s*(?P<value>{_VALUE})"), None),
)


def _masked(match: re.Match[str]) -> str:
    """The key and separator of a ``key=value`` or ``"key": value`` pair, and ``***`` for its
    value, inside the value's quotes if it has them."""
    value = match["value"]
    quote = value[0] if value[:1] in ("'", '"') else ""
    return match[0][: match.start("value") - match.start()] + quote + MASK + quote


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with credential-shaped parts, and each of ``secrets``, replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement or _masked, text)
    return text


def truncate(text: str, limit: int) -> str:
    """At most ``limit`` characters, ending in ``…`` when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
