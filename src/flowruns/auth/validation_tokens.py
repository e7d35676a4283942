"""The ``validationTokens`` of rich notifications: JWTs that prove flowruns sent them.

As Microsoft Graph does, a POST carrying notifications with resource data carries one token for
each (tenant, application) pair among its notifications; a receiver checks that each token's
signature verifies against the keys flowruns publishes (:data:`KEYS_PATH`, a JWKS document at
the host root), that it has not expired, that ``iss`` is the issuer the operator configured
(``FLOWRUNS_NOTIFICATION_ISSUER``, ``flowruns-notifications`` unless set), that ``aud`` is its own
application id (the subscription's ``applicationId``) and that ``azp`` is
:data:`AUTHORIZED_PARTY`, the party that sends notifications. ``tid`` names the tenant.

The key is the data directory's ``notification-key.pem`` (ES256), apart from the key that signs
access tokens; servers sharing a database share it as they share the data directory's other keys.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import jwt

from flowruns.auth.keys import SigningKey

KEYS_PATH = "/notifications/keys"
AUTHORIZED_PARTY = "flowruns-notifications"
# Graph's tokens are valid for about an hour; a token is made again once half of that is gone,
# so every one sent has half an hour left at least.
LIFETIME_SECONDS = 3600
RENEW_AFTER_SECONDS = LIFETIME_SECONDS / 2


class ValidationTokens:
    """Makes the validation tokens, and the JWKS document that verifies them."""

    def __init__(self, key: SigningKey, issuer: str) -> None:
        self.key = key
        self.issuer = issuer
        self._made: dict[tuple[str, str], tuple[float, str]] = {}
        self._lock = threading.Lock()

    def token(self, tenant: str, application: str) -> str:
        """A token for ``application``'s notifications of ``tenant``."""
        now = time.time()
        with self._lock:
            made = self._made.get((tenant, application))
            if made is not None and now - made[0] < RENEW_AFTER_SECONDS:
                return made[1]
        issued = int(now)
        claims = {
            "iss": self.issuer,
            "aud": application,
            "azp": AUTHORIZED_PARTY,
            "tid": tenant,
            "iat": issued,
            "nbf": issued,
            "exp": issued + LIFETIME_SECONDS,
        }
        token = jwt.encode(
            claims, self.key.private_key, algorithm="ES256", headers={"kid": self.key.kid}
        )
        with self._lock:
            self._made[(tenant, application)] = (now, token)
        return token

    def jwks(self) -> dict[str, Any]:
        """The JWKS document of the key that signs the tokens."""
        return {"keys": [self.key.public_jwk()]}
