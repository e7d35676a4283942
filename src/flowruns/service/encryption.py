"""Rich notifications: the entity a notification carries, encrypted as Microsoft Graph does it.

Graph's scheme ("Set up change notifications that include resource data"), so that a receiver
written for Graph decrypts flowruns' notifications unchanged:

- the subscription gives ``encryptionCertificate``, a base64 X.509 certificate (DER) whose public
  key is RSA, and ``encryptionCertificateId``, which notifications echo so the receiver can tell
  which of its keys to use;
- each notification gets a fresh 32-byte AES key; ``data`` is the entity's JSON encrypted with
  AES-256-CBC and PKCS7 padding, the IV being the key's first 16 bytes;
- ``dataKey`` is that key encrypted with the certificate's RSA key, OAEP with SHA-1 (Graph's
  ``RSA/ECB/OAEPWithSHA1AndMGF1Padding``);
- ``dataSignature`` is the HMAC-SHA256 of the encrypted ``data`` bytes with the AES key;
- ``encryptionCertificateThumbprint`` is the certificate's SHA-1 thumbprint in hexadecimal
  (upper case, as Windows and .NET write it), every value being base64 except that one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from dataclasses import dataclass

import orjson
from cryptography import x509
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.asymmetric import padding as asymmetric
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from flowruns.errors import InvalidRequest

KEY_BYTES = 32  # AES-256
MIN_RSA_BITS = 2048  # a smaller key would weaken what encrypts every notification's key
_OAEP = asymmetric.OAEP(
    mgf=asymmetric.MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None
)


@dataclass(frozen=True)
class EncryptionCertificate:
    """A subscription's certificate: the id it was given, its RSA key and its thumbprint."""

    id: str
    public_key: rsa.RSAPublicKey
    thumbprint: str


def read_certificate(text: object, certificate_id: object) -> EncryptionCertificate:
    """``encryptionCertificate`` and ``encryptionCertificateId`` as a subscription gives them;
    400 naming the member at fault."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidRequest(
            "encryptionCertificate is required with includeResourceData: a base64-encoded X.509 "
            "certificate with an RSA public key.",
            target="encryptionCertificate",
        )
    if not isinstance(certificate_id, str) or not certificate_id.strip():
        raise InvalidRequest(
            "encryptionCertificateId is required with includeResourceData: the id notifications "
            "name the certificate by.",
            target="encryptionCertificateId",
        )
    try:
        der = base64.b64decode(text, validate=True)
        certificate = x509.load_der_x509_certificate(der)
        public_key = certificate.public_key()
    except (binascii.Error, ValueError):
        raise InvalidRequest(
            "encryptionCertificate must be a base64-encoded X.509 certificate (DER).",
            target="encryptionCertificate",
        ) from None
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise InvalidRequest(
            "encryptionCertificate must hold an RSA public key.", target="encryptionCertificate"
        )
    if public_key.key_size < MIN_RSA_BITS:
        raise InvalidRequest(
            f"encryptionCertificate's RSA key must have at least {MIN_RSA_BITS} bits.",
            target="encryptionCertificate",
        )
    thumbprint = hashlib.sha1(der).hexdigest().upper()  # a thumbprint, as Graph names it
    return EncryptionCertificate(certificate_id, public_key, thumbprint)


def encrypted_content(certificate: EncryptionCertificate, plaintext: bytes) -> bytes:
    """The ``encryptedContent`` of a notification carrying ``plaintext``, as JSON."""
    key = os.urandom(KEY_BYTES)
    padder = padding.PKCS7(algorithms.AES.block_size).padder()
    padded = padder.update(plaintext) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    data = encryptor.update(padded) + encryptor.finalize()
    return orjson.dumps(
        {
            "data": base64.b64encode(data).decode(),
            "dataSignature": base64.b64encode(
                hmac.new(key, data, hashlib.sha256).digest()
            ).decode(),
            "dataKey": base64.b64encode(certificate.public_key.encrypt(key, _OAEP)).decode(),
            "encryptionCertificateId": certificate.id,
            "encryptionCertificateThumbprint": certificate.thumbprint,
        }
    )
