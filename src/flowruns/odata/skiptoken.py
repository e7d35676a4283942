"""Opaque, tamper-evident ``$skiptoken`` values for keyset paging.

A token carries the full sort key of the last row of a page and a fingerprint of the query
it belongs to (tenant, resource, order). It is signed with the server secret (HMAC-SHA256), so
a client can neither forge a position nor replay a token against another query or tenant.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import orjson

from flowruns.errors import InvalidRequest

_VERSION = 1
_MAC_BYTES = 16


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SkipTokenCodec:
    """Signs and verifies skiptokens with one secret."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._secret, payload, hashlib.sha256).digest()[:_MAC_BYTES]

    def encode(self, fingerprint: str, values: list[Any]) -> str:
        payload = orjson.dumps([_VERSION, fingerprint, values])
        return f"{_b64(payload)}.{_b64(self._mac(payload))}"

    def decode(self, token: str, fingerprint: str) -> list[Any]:
        """The sort key in ``token``, or 400 if it was altered or belongs to another query."""
        invalid = InvalidRequest(
            "The $skiptoken is not valid for this request; start again from the first page.",
            target="$skiptoken",
        )
        body, _, mac = token.partition(".")
        try:
            payload, signature = _unb64(body), _unb64(mac)
        except ValueError:
            raise invalid from None
        if not hmac.compare_digest(signature, self._mac(payload)):
            raise invalid
        version, token_fingerprint, values = orjson.loads(payload)
        if version != _VERSION or token_fingerprint != fingerprint or not isinstance(values, list):
            raise invalid
        return values


def fingerprint(*parts: object) -> str:
    """A short digest of what a token is bound to."""
    return hashlib.sha256(orjson.dumps([str(p) for p in parts])).hexdigest()[:16]
