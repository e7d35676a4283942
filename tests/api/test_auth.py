"""Token sources, the token cache, the auth wall's edges and the rate limit (SPEC §6)."""

from __future__ import annotations

import http.server
import json
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from starlette.testclient import TestClient

from flowruns.api.app import create_app
from flowruns.auth.tokens import TokenVerifier, mint_token
from flowruns.settings import DEFAULT_TENANT, InvalidSetting, Settings
from tests.api import forged
from tests.api.steps import assert_error
from tests.conftest import HUB, bearer

ENTRA_ISSUER = "https://login.microsoftonline.com/{tid}/v2.0"
API_ID = "api://11111111-2222-3333-4444-555555555555"


class IdentityProvider:
    """An RSA key published as a JWKS document, signing Entra-shaped tokens."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = uuid.uuid4().hex

    def jwks(self) -> dict[str, Any]:
        jwk: dict[str, Any] = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {"keys": [{**jwk, "kid": self.kid, "use": "sig"}]}

    def token(self, tenant: str = DEFAULT_TENANT, **changes: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ENTRA_ISSUER.format(tid=tenant),
            "aud": API_ID,
            "tid": tenant,
            "azp": "client-app",
            "oid": str(uuid.uuid4()),
            "roles": ["IndustryData-Run.Read.All"],
            "nbf": now,
            "exp": now + 600,
        }
        claims.update(changes)
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})


def _entra_settings(settings: Settings, **changes: Any) -> Settings:
    settings.issuers = [ENTRA_ISSUER]
    settings.audiences = [API_ID]
    for name, value in changes.items():
        setattr(settings, name, value)
    return settings


def test_an_entra_token_from_a_jwks_file_is_accepted_and_the_local_key_is_not(
    settings: Settings, tmp_path: Path
) -> None:
    provider = IdentityProvider()
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(provider.jwks()))
    local = bearer(settings)  # minted before the server trusts another key source
    with TestClient(create_app(_entra_settings(settings, jwks_file=jwks))) as client:
        good = {"Authorization": f"Bearer {provider.token()}"}
        assert client.get(f"{HUB}/runs", headers=good).status_code == 200
        # Application roles: read only.
        denied = client.post(f"{HUB}/runs", json={"displayName": "x"}, headers=good)
        assert_error(denied, 403, "accessDenied")
        assert_error(client.get(f"{HUB}/runs", headers=local), 401, "InvalidAuthenticationToken")
        # The issuer must name the token's own tenant.
        other = "99999999-2222-3333-4444-555555555555"
        forged_iss = provider.token(iss=ENTRA_ISSUER.format(tid=other))
        response = client.get(f"{HUB}/runs", headers=forged.bearer_header(forged_iss))
        assert_error(response, 401, "InvalidAuthenticationToken")


@pytest.fixture
def jwks_server() -> Iterator[tuple[str, IdentityProvider, list[int]]]:
    """A JWKS URL on loopback; the list counts its fetches."""
    provider = IdentityProvider()
    fetches: list[int] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fetches.append(1)
            body = json.dumps(provider.jwks()).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/keys", provider, fetches
    finally:
        server.shutdown()
        server.server_close()


def test_keys_come_from_a_jwks_url_fetched_once_for_many_tokens(
    settings: Settings, jwks_server: tuple[str, IdentityProvider, list[int]]
) -> None:
    url, provider, fetches = jwks_server
    with TestClient(create_app(_entra_settings(settings, jwks_url=url))) as client:
        for _ in range(3):
            headers = {"Authorization": f"Bearer {provider.token()}"}
            assert client.get(f"{HUB}/runs", headers=headers).status_code == 200
        # A token naming a key the document lacks is refused, without a fetch per token.
        stranger = IdentityProvider()
        for _ in range(3):
            headers = {"Authorization": f"Bearer {stranger.token()}"}
            assert client.get(f"{HUB}/runs", headers=headers).status_code == 401
    assert len(fetches) == 1


def test_an_hs256_secret_is_accepted_beside_the_local_key(settings: Settings) -> None:
    settings.jwt_secret = "a-shared-secret-of-at-least-32-bytes!"
    hs256 = jwt.encode(forged.claims(), settings.jwt_secret, algorithm="HS256")
    with TestClient(create_app(settings)) as client:
        for headers in (forged.bearer_header(hs256), bearer(settings)):
            assert client.get(f"{HUB}/runs", headers=headers).status_code == 200
        wrong = jwt.encode(forged.claims(), "another-secret-of-at-least-32-bytes!!", "HS256")
        response = client.get(f"{HUB}/runs", headers=forged.bearer_header(wrong))
        assert_error(response, 401, "InvalidAuthenticationToken")


def test_a_short_hs256_secret_is_refused_at_start(settings: Settings) -> None:
    settings.jwt_secret = "short"
    with pytest.raises(ValueError, match="at least 32 bytes"):
        create_app(settings)


EXAMPLE_ENV = Path(__file__).resolve().parents[2] / "deploy" / "flowruns.env.example"


def example_setting(name: str) -> str:
    """The value ``deploy/flowruns.env.example`` gives ``name``."""
    lines = EXAMPLE_ENV.read_text().splitlines()
    return next(line.split("=", 1)[1] for line in lines if line.startswith(f"{name}="))


@pytest.mark.parametrize(
    "secret_key",
    [
        pytest.param("test-secret", id="11 bytes"),
        pytest.param("é" * 15 + "!", id="31 bytes in 16 characters"),
        pytest.param(example_setting("FLOWRUNS_SECRET_KEY"), id="the example's placeholder"),
        pytest.param("changeme-changeme-changeme-changeme", id="a placeholder word"),
    ],
)
def test_a_short_or_placeholder_secret_key_is_refused_at_start(
    settings: Settings, secret_key: str
) -> None:
    settings.secret_key = secret_key
    with pytest.raises(InvalidSetting) as refused:
        create_app(settings)
    message = str(refused.value)
    assert message.startswith("FLOWRUNS_SECRET_KEY ")
    assert "\n" not in message
    assert secret_key not in message  # a key is never echoed, not even a bad one
    assert not (settings.data_dir / "flowruns.db").exists()  # refused before the database opens


def test_an_empty_secret_file_in_the_data_directory_is_refused_at_start(settings: Settings) -> None:
    settings.secret_key = None
    settings.data_dir.mkdir()
    (settings.data_dir / "secret.key").write_text("\n")
    with pytest.raises(InvalidSetting, match=r"secret\.key is 0 bytes long"):
        create_app(settings)


def test_a_secret_key_of_32_bytes_is_enough(settings: Settings) -> None:
    settings.secret_key = secrets.token_urlsafe(24)
    assert len(settings.secret_key) == 32
    with TestClient(create_app(settings), headers=bearer(settings)) as client:
        assert client.get(f"{HUB}/runs").status_code == 200


def test_a_remembered_token_does_not_outlive_its_expiry(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    verifier = TokenVerifier(settings)
    token = mint_token(settings.data_dir, tenant=DEFAULT_TENANT, ttl_seconds=100)
    principal = verifier.verify(token)
    verifier.remember(token, principal)
    assert verifier.cached(token) == principal
    # The moment the token expires, the cache forgets it (verifying again then refuses it).
    later = principal.expires
    monkeypatch.setattr(time, "time", lambda: later)
    assert verifier.cached(token) is None


def test_outside_the_service_root_no_token_is_needed(client: TestClient) -> None:
    del client.headers["Authorization"]
    assert client.get("/healthz").status_code == 200
    assert_error(client.get(f"{HUB}/runs"), 401, "InvalidAuthenticationToken")
    assert_error(client.get("/beta/external"), 401, "InvalidAuthenticationToken")
    # The documents are the exception below /beta (docs/security.md#tokens).
    assert client.get("/beta").status_code == 200
    basic = client.get(f"{HUB}/runs", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert_error(basic, 401, "InvalidAuthenticationToken")


def test_without_auth_every_request_acts_in_the_default_tenant(settings: Settings) -> None:
    with TestClient(create_app(settings), headers=bearer(settings)) as client:
        run = client.post(f"{HUB}/runs", json={"@odata.type": forged.OUTGOING, "displayName": "a"})
        assert run.status_code == 201
    settings.auth = False
    with TestClient(create_app(settings)) as client:
        assert client.get(f"{HUB}/runs/{run.json()['id']}").status_code == 200


def test_the_rate_limit_answers_429_with_retry_after_per_client(settings: Settings) -> None:
    settings.rate_limit_per_second = 0.1
    settings.rate_limit_burst = 3
    with TestClient(create_app(settings)) as client:
        first = forged.bearer_header(forged.signed(settings, forged.claims(appid="first")))
        for _ in range(3):
            assert client.get(f"{HUB}/runs", headers=first).status_code == 200
        limited = client.get(f"{HUB}/runs", headers=first)
        assert_error(limited, 429, "tooManyRequests")
        assert 1 <= int(limited.headers["Retry-After"]) <= 10
        # Another client of the same tenant has its own bucket; health checks have none.
        second = forged.bearer_header(forged.signed(settings, forged.claims(appid="second")))
        assert client.get(f"{HUB}/runs", headers=second).status_code == 200
        assert client.get("/healthz").status_code == 200


def test_the_redis_rate_limit_is_shared_by_servers(settings: Settings) -> None:
    settings.rate_limit_per_second = 0.1
    settings.rate_limit_burst = 4
    settings.redis_url = "redis://127.0.0.1:6379/0"
    settings.redis_prefix = f"flowruns-test-{uuid.uuid4().hex}:"
    headers = bearer(settings)
    with (
        TestClient(create_app(settings)) as one,
        TestClient(create_app(settings)) as two,
    ):
        statuses = [
            server.get(f"{HUB}/runs", headers=headers).status_code
            for server in (one, two, one, two, one, two)
        ]
    assert statuses == [200, 200, 200, 200, 429, 429]


def test_an_unreachable_redis_lets_requests_through(settings: Settings) -> None:
    settings.redis_url = "redis://127.0.0.1:1/0"
    with TestClient(create_app(settings), headers=bearer(settings)) as client:
        assert client.get(f"{HUB}/runs").status_code == 200


def test_a_request_without_a_token_is_told_how_to_get_one(client: TestClient) -> None:
    response = client.get(f"{HUB}/runs", headers={"Authorization": ""})
    assert response.status_code == 401
    message = response.json()["error"]["message"]
    assert message.startswith("Access token is empty.")  # Microsoft Graph's words, then how
    assert "FLOWRUNS_TOKEN" in message
    assert "`flowruns token`" in message
