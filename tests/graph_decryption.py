"""What a receiver of Graph's rich notifications does, written from Graph's documentation
("Set up change notifications that include resource data": decrypting resource data, validating
the validationTokens) with ``cryptography`` and PyJWT, none of flowruns' code: the tests decrypt
flowruns' notifications with it as a receiver written for Graph would.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric import padding as asymmetric
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.x509.oid import NameOID


class SignatureMismatch(Exception):
    """The data signature does not match: the notification was tampered with."""


def self_signed(private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    """A self-signed certificate for ``private_key``, base64 DER, as a subscription sends it."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "receiver.example")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(private_key, hashes.SHA256())
    )
    return base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()


def thumbprint(certificate: str) -> str:
    """The certificate's SHA-1 thumbprint in hexadecimal, as .NET writes it."""
    return hashlib.sha1(base64.b64decode(certificate)).hexdigest().upper()


def decrypt(content: dict[str, Any], private_key: rsa.RSAPrivateKey) -> dict[str, Any]:
    """The resource of ``encryptedContent``: Graph's steps, in their order."""
    # 1. Decrypt the symmetric key with the certificate's private key, RSA OAEP padding.
    key = private_key.decrypt(
        base64.b64decode(content["dataKey"]),
        asymmetric.OAEP(
            mgf=asymmetric.MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None
        ),
    )
    # 2. Compute the HMAC-SHA256 of the data with that key; compare it with dataSignature.
    data = base64.b64decode(content["data"])
    expected = hmac.new(key, data, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, base64.b64decode(content["dataSignature"])):
        raise SignatureMismatch
    # 3. Decrypt the data: AES CBC, PKCS7 padding, the IV being the key's first 16 bytes.
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    padded = decryptor.update(data) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    result: dict[str, Any] = json.loads(unpadder.update(padded) + unpadder.finalize())
    return result


def validated_tokens(
    tokens: list[str], jwks_url: str, *, issuer: str, application: str, sender: str
) -> list[dict[str, Any]]:
    """The claims of ``tokens`` once each is checked as Graph asks: signed by a key of the
    published JWKS document, not expired, issued by ``issuer``, for ``application``, and
    authorized by ``sender`` (``azp``). Raises a :class:`jwt.PyJWTError` otherwise."""
    keys = {key.key_id: key for key in jwt.PyJWKSet.from_dict(httpx.get(jwks_url).json()).keys}
    claims = []
    for token in tokens:
        header = jwt.get_unverified_header(token)
        key = keys[header["kid"]]
        decoded = jwt.decode(
            token,
            key,
            algorithms=[header["alg"]],
            audience=application,
            issuer=issuer,
            options={"require": ["exp", "iss", "aud"]},
        )
        if decoded.get("azp") != sender:
            raise jwt.InvalidTokenError(f"azp is {decoded.get('azp')!r}")
        claims.append(decoded)
    return claims
