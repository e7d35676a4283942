"""Opaque, tamper-evident ``$skiptoken`` values for keyset paging.

A token carries the full sort key of the last row of a page and a fingerprint of the query
it belongs to (tenant, resource, order). It is signed with the server secret (HMAC-SHA256), so
a client can neither forge a position nor replay a token against another query or tenant.

A signature proves who made a token, not what it holds: whoever knows the secret can sign any
payload. So the decoder also checks the sort key against the types of the query's order keys
before anything uses it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from typing import Any

import orjson

from flowruns.errors import InvalidRequest
from flowruns.odata import semantic as s

_VERSION = 1
_MAC_BYTES = 16
# Every integer a sort key holds is a database BIGINT (ticks, days, counts) or smaller.
_INT64 = range(-(2**63), 2**63)
_INTEGER_KINDS = frozenset({s.Kind.INT, s.Kind.DATE_TIME, s.Kind.DATE, s.Kind.DURATION})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SkipTokenCodec:
    """Signs and verifies skiptokens with one secret."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _mac(self, payload: bytes) -> bytes:
        return hmac.digest(self._secret, payload, "sha256")[:_MAC_BYTES]

    def sign(self, value: Any) -> str:
        """``value`` as a token: its JSON and a MAC, both base64url."""
        payload = orjson.dumps(value)
        return f"{_b64(payload)}.{_b64(self._mac(payload))}"

    def verified(self, token: str) -> Any:
        """The value :meth:`sign` made ``token`` of, or None when the token was not made by
        this secret (altered, truncated, not a token at all)."""
        body, _, mac = token.partition(".")
        try:
            payload, signature = _unb64(body), _unb64(mac)
        except ValueError:
            return None
        if not hmac.compare_digest(signature, self._mac(payload)):
            return None
        try:
            return orjson.loads(payload)
        except orjson.JSONDecodeError:
            return None

    def encode(self, fingerprint: str, values: list[Any]) -> str:
        return self.sign([_VERSION, fingerprint, values])

    def decode(self, token: str, fingerprint: str, key_types: Sequence[s.Type]) -> list[Any]:
        """The sort key in ``token``, or 400 if it was altered, belongs to another query, or
        does not fit that query's order (``key_types``, one per key)."""
        invalid = InvalidRequest(
            "The $skiptoken is not valid for this request; start again from the first page.",
            target="$skiptoken",
        )
        match self.verified(token):
            case [int() as version, str() as bound_to, list() as values] if (
                version == _VERSION
                and bound_to == fingerprint
                and len(values) == len(key_types)
                and all(map(_fits, values, key_types))
            ):
                return values
        raise invalid


def _fits(value: Any, key_type: s.Type) -> bool:
    """Whether ``value`` is what a row's sort key holds for an order key of ``key_type``
    (as the database returns it: ticks and days as integers, enum members as their number).
    Any key may be null."""
    if value is None:
        return True
    kind = key_type.kind
    if kind is s.Kind.STRING:
        # No stored string holds a NUL (writes refuse it), and PostgreSQL cannot compare one.
        return isinstance(value, str) and "\x00" not in value
    if kind is s.Kind.BOOLEAN:
        return isinstance(value, bool)
    if kind is s.Kind.ENUM:
        assert key_type.enum is not None
        return type(value) is int and 0 <= value < len(key_type.enum.members)
    if kind in _INTEGER_KINDS:
        return type(value) is int and value in _INT64
    if kind is s.Kind.DOUBLE:
        # The JSON reader gives no NaN or infinity; an integral double may come back an int.
        return isinstance(value, float) or (type(value) is int and value in _INT64)
    return False


def fingerprint(*parts: object) -> str:
    """A short digest of what a token is bound to."""
    return hashlib.sha256(orjson.dumps([str(p) for p in parts])).hexdigest()[:16]
