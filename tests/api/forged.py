"""Tokens an attacker (or a careless client) might send, built to the byte.

Each variant breaks exactly one rule of SPEC §6: its lifetime, audience, issuer or signature,
or the algorithm the header claims.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from flowruns.auth.keys import local_signing_key
from flowruns.auth.scopes import READ_WRITE_PERMISSIONS
from flowruns.settings import DEFAULT_TENANT, LOCAL_AUDIENCE, LOCAL_ISSUER, Settings

OUTGOING = "#microsoft.graph.industryData.outgoingFlowRun"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(
    tenant: str = DEFAULT_TENANT, scopes: tuple[str, ...] = READ_WRITE_PERMISSIONS, **changes: Any
) -> dict[str, Any]:
    """Claims the local issuer would sign, with ``changes`` applied (None removes a claim)."""
    now = int(time.time())
    body: dict[str, Any] = {
        "iss": LOCAL_ISSUER,
        "aud": LOCAL_AUDIENCE,
        "tid": tenant,
        "appid": "tests",
        "scp": " ".join(scopes),
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
    }
    body.update(changes)
    return {name: value for name, value in body.items() if value is not None}


def signed(settings: Settings, body: dict[str, Any]) -> str:
    """``body`` signed with the server's own key: valid unless the claims say otherwise."""
    key = local_signing_key(settings.data_dir)
    return jwt.encode(body, key.private_key, algorithm="ES256", headers={"kid": key.kid})


def wrong_key(settings: Settings, body: dict[str, Any]) -> str:
    """Signed by another key that claims the server key's id."""
    kid = local_signing_key(settings.data_dir).kid
    other = ec.generate_private_key(ec.SECP256R1())
    return jwt.encode(body, other, algorithm="ES256", headers={"kid": kid})


def unsigned(body: dict[str, Any]) -> str:
    """``alg: none``: no signature at all."""
    header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{_b64(json.dumps(body).encode())}."


def hmac_with_public_key(settings: Settings, body: dict[str, Any]) -> str:
    """Algorithm confusion: HS256 keyed with the server's public key, which anyone can know."""
    key = local_signing_key(settings.data_dir)
    public_pem = key.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": key.kid}).encode())
    payload = _b64(json.dumps(body).encode())
    signature = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def bearer_header(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
