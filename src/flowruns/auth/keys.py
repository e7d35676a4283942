"""The keys trusted to sign access tokens.

Three sources, any combination: the data directory's own ES256 key (what ``flowruns token``
signs with, trusted while no external key source is configured), a JWKS document from a file
or a URL (an identity provider such as Entra ID; RS256 and ES256 keys), and an HMAC secret
(HS256). Every key is a :class:`jwt.PyJWK`, which fixes the one algorithm it verifies, so a
token cannot pick how its own signature is checked (no ``alg: none``, no RSA public key used as
an HMAC secret).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from flowruns.datadir import read_or_create
from flowruns.settings import Settings, check_secret

log = logging.getLogger("flowruns.auth")

SIGNING_KEY_FILE = "signing-key.pem"
NOTIFICATION_KEY_FILE = "notification-key.pem"
# The algorithms a trusted key may verify; anything else in a token header is refused.
ACCEPTED_ALGORITHMS = frozenset({"RS256", "ES256", "HS256"})
# A JWKS URL is fetched again after this long, so keys the provider withdrew stop working...
JWKS_MAX_AGE_SECONDS = 3600.0
# ...and when a token names an unknown key id, but not more often than this (a stream of
# forged key ids must not turn into a stream of fetches).
JWKS_MIN_REFETCH_SECONDS = 60.0
JWKS_FETCH_TIMEOUT_SECONDS = 5.0


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class SigningKey:
    """The data directory's ES256 key pair; ``kid`` is the RFC 7638 thumbprint."""

    private_key: ec.EllipticCurvePrivateKey
    kid: str

    def public_jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = ECAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "alg": "ES256", "use": "sig"}


def _thumbprint(public_key: ec.EllipticCurvePublicKey) -> str:
    jwk = ECAlgorithm.to_jwk(public_key, as_dict=True)
    canonical = json.dumps(
        {name: jwk[name] for name in ("crv", "kty", "x", "y")}, separators=(",", ":")
    )
    return _b64(hashlib.sha256(canonical.encode()).digest())


def _new_private_key_pem() -> bytes:
    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


class NoSigningKey(Exception):
    """The data directory, or the signing key in it, does not exist; ``data_dir`` names the
    directory looked in (absolute)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        if self.data_dir.is_dir():
            problem = f"the data directory {self.data_dir} has no signing key ({SIGNING_KEY_FILE})"
        else:
            problem = f"no data directory at {self.data_dir}"
        super().__init__(problem)


def local_signing_key(data_dir: Path) -> SigningKey:
    """The key in ``data_dir``, created (mode 0600) on first use; processes creating it at
    once all get the one that was written first. For the server, which trusts the key."""
    path = data_dir / SIGNING_KEY_FILE
    return _signing_key(path, read_or_create(path, _new_private_key_pem))


def notification_signing_key(data_dir: Path) -> SigningKey:
    """The key that signs the validation tokens of rich notifications, created in
    ``data_dir`` on first use as :func:`local_signing_key` is. A key of its own: a token a
    receiver is sent can never be mistaken for one the server accepts, whatever its claims."""
    path = data_dir / NOTIFICATION_KEY_FILE
    return _signing_key(path, read_or_create(path, _new_private_key_pem))


def existing_signing_key(data_dir: Path) -> SigningKey:
    """The key in ``data_dir``; :class:`NoSigningKey` when there is none. Never creates one:
    a key no server trusts would sign tokens every server refuses."""
    path = data_dir / SIGNING_KEY_FILE
    try:
        pem = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        raise NoSigningKey(data_dir) from None
    return _signing_key(path, pem)


def _signing_key(path: Path, pem: bytes) -> SigningKey:
    private_key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(private_key, ec.EllipticCurvePrivateKey) or not isinstance(
        private_key.curve, ec.SECP256R1
    ):
        raise TypeError(f"{path} does not hold a P-256 (ES256) private key.")
    return SigningKey(private_key, _thumbprint(private_key.public_key()))


def _jwks_keys(document: Any) -> dict[str, jwt.PyJWK]:
    """The usable signature keys of a JWKS document, by key id."""
    keys: dict[str, jwt.PyJWK] = {}
    for key in jwt.PyJWKSet.from_dict(document).keys:
        asymmetric = key.algorithm_name in ACCEPTED_ALGORITHMS - {"HS256"}
        if key.key_id and asymmetric and key.public_key_use in (None, "sig"):
            keys[key.key_id] = key
    return keys


class KeyRing:
    """Every key trusted to sign tokens, found by the algorithm and key id a token names."""

    def __init__(self, settings: Settings) -> None:
        self._static: dict[str, jwt.PyJWK] = {}
        self._secret: jwt.PyJWK | None = None
        self._url = settings.jwks_url
        self._fetched: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")
        self._lock = threading.Lock()
        if settings.trusts_local_key:
            local = local_signing_key(settings.data_dir)
            self._static[local.kid] = jwt.PyJWK(local.public_jwk())
        if settings.jwks_file is not None:
            self._static.update(_jwks_keys(json.loads(settings.jwks_file.read_text())))
        if settings.jwt_secret:
            check_secret("FLOWRUNS_JWT_SECRET", settings.jwt_secret)
            oct_key = {"kty": "oct", "k": _b64(settings.jwt_secret.encode())}
            self._secret = jwt.PyJWK(oct_key, "HS256")

    def find(self, algorithm: str, kid: str | None) -> jwt.PyJWK | None:
        """The key that must have signed a token with this header, or None."""
        if algorithm == "HS256":
            return self._secret
        if kid is None:
            return None
        key = self._static.get(kid) or self._from_url(kid)
        if key is None or key.algorithm_name != algorithm:
            return None
        return key

    def _from_url(self, kid: str) -> jwt.PyJWK | None:
        if self._url is None:
            return None
        with self._lock:
            age = time.monotonic() - self._fetched_at
            stale = age > JWKS_MAX_AGE_SECONDS
            if stale or (kid not in self._fetched and age > JWKS_MIN_REFETCH_SECONDS):
                self._fetch(self._url)
            return self._fetched.get(kid)

    def _fetch(self, url: str) -> None:
        self._fetched_at = time.monotonic()
        try:
            response = httpx.get(url, timeout=JWKS_FETCH_TIMEOUT_SECONDS)
            response.raise_for_status()
            self._fetched = _jwks_keys(response.json())
        except (httpx.HTTPError, ValueError, jwt.PyJWTError) as error:
            # Keep the keys we had: a provider's hiccup must not lock every client out.
            log.warning("could not fetch the JWKS document %s: %s", url, error)
