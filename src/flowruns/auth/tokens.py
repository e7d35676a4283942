"""Verifying bearer tokens into a :class:`Principal`, and minting local ones.

Verification checks the signature with a trusted key (:mod:`flowruns.auth.keys`), then ``exp``
(required), ``nbf``, ``aud`` and ``iss`` with a small leeway for clock skew, and reads the
Graph-shaped claims: ``tid`` (a GUID), ``scp`` or ``roles``, and ``appid``/``azp``/``oid``.
The time claims must be JSON numbers, and ``tid`` exactly a GUID: the tenant becomes a key of
every row and the hub's ``ETag``, so nothing around the GUID may slip through.
"""

from __future__ import annotations

import math
import re
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

from flowruns.auth.keys import ACCEPTED_ALGORITHMS, KeyRing, existing_signing_key
from flowruns.auth.scopes import ALL_PERMISSIONS
from flowruns.errors import Unauthenticated
from flowruns.settings import LOCAL_AUDIENCE, LOCAL_ISSUER, Settings

_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# NumericDate claims (RFC 7519 §2): PyJWT alone would also take "1700000000" or true.
_TIME_CLAIMS = ("exp", "nbf", "iat")
# Tokens are far smaller; a longer header value is refused before any parsing.
MAX_TOKEN_CHARS = 16 * 1024
# Verified tokens remembered at once; each is dropped at its ``exp`` at the latest.
TOKEN_CACHE_SIZE = 4096


def is_guid(value: object) -> bool:
    """Whether ``value`` is a GUID string and nothing more (no braces, no trailing newline)."""
    return isinstance(value, str) and _GUID.fullmatch(value) is not None


@dataclass(frozen=True)
class Principal:
    """Who a request acts for: a tenant, a client (application or user) and its permissions."""

    tenant: str
    client: str
    permissions: frozenset[str]
    expires: float  # seconds since the epoch


def _invalid(message: str) -> Unauthenticated:
    return Unauthenticated(
        message,
        headers={
            "WWW-Authenticate": f'Bearer realm="flowruns", error="invalid_token", '
            f'error_description="{message}"'
        },
    )


def missing_token() -> Unauthenticated:
    """401 for a request without a bearer token (RFC 6750: no error code)."""
    return Unauthenticated(
        # Microsoft Graph's words, then where a token comes from.
        "Access token is empty. Send one as 'Authorization: Bearer <token>' (the flowruns CLI and "
        "SDK send FLOWRUNS_TOKEN); `flowruns token` mints one for a server that trusts its data "
        "directory's key.",
        headers={"WWW-Authenticate": 'Bearer realm="flowruns"'},
    )


_MESSAGES: list[tuple[type[jwt.PyJWTError], str]] = [
    (jwt.ExpiredSignatureError, "The access token has expired."),
    (jwt.ImmatureSignatureError, "The access token is not valid yet."),
    (jwt.InvalidAudienceError, "The access token's audience is not accepted."),
    (jwt.MissingRequiredClaimError, "The access token lacks a required claim."),
    (jwt.InvalidSignatureError, "The access token's signature is not valid."),
    (jwt.InvalidAlgorithmError, "The access token's algorithm is not accepted."),
]


class TokenVerifier:
    """Turns ``Authorization`` header values into principals, remembering verified tokens."""

    def __init__(self, settings: Settings) -> None:
        self.keys = KeyRing(settings)
        self.issuers = list(settings.issuers)
        self.audiences = list(settings.audiences)
        self.leeway = settings.clock_skew_seconds
        self._verified: dict[str, Principal] = {}

    def cached(self, token: str) -> Principal | None:
        """The principal of a token verified before, while it has not expired."""
        principal = self._verified.get(token)
        if principal is None:
            return None
        if time.time() >= principal.expires:
            # Expired: verify afresh, which applies the leeway and then refuses it.
            del self._verified[token]
            return None
        return principal

    def remember(self, token: str, principal: Principal) -> None:
        if len(self._verified) >= TOKEN_CACHE_SIZE:
            del self._verified[next(iter(self._verified))]  # the oldest entry
        self._verified[token] = principal

    def verify(self, token: str) -> Principal:
        """The principal of ``token``, or 401. May fetch a JWKS document: run off the loop."""
        if len(token) > MAX_TOKEN_CHARS:
            raise _invalid("The access token is too long.")
        try:
            return self._verify(token)
        except jwt.PyJWTError as error:
            message = next(
                (text for kind, text in _MESSAGES if isinstance(error, kind)),
                "The access token is malformed.",
            )
            raise _invalid(message) from None

    def _verify(self, token: str) -> Principal:
        header = jwt.get_unverified_header(token)
        algorithm, kid = header.get("alg"), header.get("kid")
        if not isinstance(algorithm, str) or algorithm not in ACCEPTED_ALGORITHMS:
            raise _invalid("The access token's algorithm is not accepted.")
        if kid is not None and not isinstance(kid, str):
            raise _invalid("The access token is malformed.")
        key = self.keys.find(algorithm, kid)
        if key is None:
            raise _invalid("The access token's signing key is not trusted.")
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            audience=self.audiences,
            leeway=self.leeway,
            options={"require": ["exp", "iss", "aud", "tid"], "verify_iss": False},
        )
        for name in _TIME_CLAIMS:
            if name in claims and not _is_numeric_date(claims[name]):
                raise _invalid(f"The access token's {name} claim is not a number of seconds.")
        tenant = claims["tid"]
        if not is_guid(tenant):
            raise _invalid("The access token's tenant (tid) is not a GUID.")
        tenant = tenant.lower()
        # An issuer may name the tenant, as Entra ID's do: https://login.microsoftonline.com/{tid}/v2.0
        issuer = claims["iss"]
        if not isinstance(issuer, str) or issuer not in {
            i.replace("{tid}", tenant) for i in self.issuers
        }:
            raise _invalid("The access token's issuer is not accepted.")
        return Principal(
            tenant=tenant,
            client=_client(claims),
            permissions=_permissions(claims),
            expires=float(claims["exp"]),
        )


def _is_numeric_date(value: object) -> bool:
    """A JSON number a float can hold (bool is an int to Python, not a number to JSON)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def _client(claims: dict[str, Any]) -> str:
    """The calling application (or, failing that, the user): what the rate limit counts."""
    for name in ("appid", "azp", "oid", "sub"):
        value = claims.get(name)
        if isinstance(value, str) and value:
            return value[:128]
    return ""


def _permissions(claims: dict[str, Any]) -> frozenset[str]:
    granted: set[str] = set()
    scopes = claims.get("scp")
    if isinstance(scopes, str):
        granted.update(scopes.split())
    roles = claims.get("roles")
    if isinstance(roles, list):
        granted.update(r for r in roles if isinstance(r, str))
    return frozenset(granted & ALL_PERMISSIONS)


def mint_token(
    data_dir: Path,
    *,
    tenant: str,
    scopes: Iterable[str] = (),
    roles: Iterable[str] = (),
    ttl_seconds: int,
    client: str = "flowruns-cli",
    now: float | None = None,
) -> str:
    """A token signed by the data directory's key, as the local issuer hands them out;
    :class:`~flowruns.auth.keys.NoSigningKey` when the directory has none (minting never makes
    one: only the server's key is trusted)."""
    key = existing_signing_key(data_dir)
    issued = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        "iss": LOCAL_ISSUER,
        "aud": LOCAL_AUDIENCE,
        "tid": tenant,
        "appid": client,
        "sub": client,
        "iat": issued,
        "nbf": issued,
        "exp": issued + ttl_seconds,
        "jti": str(uuid.uuid4()),
    }
    if scopes := list(scopes):
        claims["scp"] = " ".join(scopes)
    if roles := list(roles):
        claims["roles"] = roles
    return jwt.encode(claims, key.private_key, algorithm="ES256", headers={"kid": key.kid})
