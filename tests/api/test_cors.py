"""Browsers on other origins: the operator's allowed origins, preflights without a token, and the
headers a page may send and read (docs/security.md, "Browsers on other origins"). The real
browser's view is in tests/browser/test_cross_origin.py."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from starlette.testclient import TestClient

from flowruns.api.app import create_app
from flowruns.settings import InvalidSetting, Settings, parse_cors_origin
from tests.api.steps import BASE_URL, assert_error, create_run
from tests.conftest import HUB, bearer

APP = "https://app.example.com"
OTHER = "https://evil.example.com"
REQUEST_HEADERS = {
    "authorization",
    "content-type",
    "if-match",
    "if-none-match",
    "prefer",
    "client-request-id",
    "consistencylevel",
    "idempotency-key",
    "odata-version",
    "odata-maxversion",
}
EXPOSED = {
    "etag",
    "location",
    "request-id",
    "client-request-id",
    "odata-version",
    "retry-after",
    "preference-applied",
}


def _listed(value: str) -> set[str]:
    return {item.strip().lower() for item in value.split(",")}


@pytest.fixture
def cors_client(settings: Settings) -> Iterator[TestClient]:
    """The server allowing pages of :data:`APP`, and no token sent unless a test adds one."""
    settings.cors_origins = [APP]
    with TestClient(create_app(settings), base_url=BASE_URL) as test_client:
        yield test_client


def _preflight(client: TestClient, origin: str, method: str = "PATCH") -> httpx2.Response:
    return client.options(
        f"{HUB}/runs/0b3a6a52-7a53-4bd4-8f0c-2c1c1c1c1c1c",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization,content-type,if-match,prefer",
        },
    )


def test_a_preflight_from_an_allowed_origin_is_answered_without_a_token(
    cors_client: TestClient,
) -> None:
    response = _preflight(cors_client, APP)
    assert response.status_code == 204
    headers = response.headers
    assert headers["Access-Control-Allow-Origin"] == APP
    assert {"GET", "POST", "PATCH", "PUT", "DELETE"} <= {
        m.upper() for m in _listed(headers["Access-Control-Allow-Methods"])
    }
    assert _listed(headers["Access-Control-Allow-Headers"]) >= REQUEST_HEADERS
    assert "Origin" in headers["Vary"]
    assert int(headers["Access-Control-Max-Age"]) > 0
    # Not a credentials mode: the token travels in Authorization, never in a cookie.
    assert "Access-Control-Allow-Credentials" not in headers


def test_a_preflight_from_another_origin_is_a_graph_403(cors_client: TestClient) -> None:
    response = _preflight(cors_client, OTHER)
    error = assert_error(response, 403, "accessDenied")
    assert OTHER in error["message"]
    assert "Access-Control-Allow-Origin" not in response.headers


def test_answers_to_an_allowed_origin_name_it_and_expose_the_graph_headers(
    cors_client: TestClient, settings: Settings
) -> None:
    cors_client.headers.update(bearer(settings))
    run = create_run(cors_client, "seen from a browser")
    response = cors_client.get(f"{HUB}/runs/{run['id']}", headers={"Origin": APP})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == APP
    assert _listed(response.headers["Access-Control-Expose-Headers"]) >= EXPOSED
    assert "Origin" in response.headers["Vary"]


def test_an_error_to_an_allowed_origin_is_readable_by_the_page(cors_client: TestClient) -> None:
    """A 401 the page can read says why, instead of an opaque network error."""
    response = cors_client.get(f"{HUB}/runs", headers={"Origin": APP})
    assert_error(response, 401, "InvalidAuthenticationToken")
    assert response.headers["Access-Control-Allow-Origin"] == APP


def test_answers_to_another_origin_carry_no_permission(
    cors_client: TestClient, settings: Settings
) -> None:
    response = cors_client.get(f"{HUB}/runs", headers={"Origin": OTHER, **bearer(settings)})
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers


def test_without_allowed_origins_no_origin_is_allowed(client: TestClient) -> None:
    """The default: nothing configured, a preflight is no preflight (the token wall answers),
    and no answer names an origin."""
    response = client.options(
        f"{HUB}/runs",
        headers={"Origin": APP, "Access-Control-Request-Method": "GET", "Authorization": ""},
    )
    assert response.status_code == 401
    assert "Access-Control-Allow-Origin" not in response.headers
    listed = client.get(f"{HUB}/runs", headers={"Origin": APP})
    assert listed.status_code == 200
    assert "Access-Control-Allow-Origin" not in listed.headers


def test_a_wildcard_allows_every_origin(settings: Settings) -> None:
    settings.cors_origins = ["*"]
    with TestClient(create_app(settings), base_url=BASE_URL) as any_origin:
        response = _preflight(any_origin, OTHER)
        assert response.status_code == 204
        assert response.headers["Access-Control-Allow-Origin"] == OTHER


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("https://app.example.com", "https://app.example.com"),
        ("https://App.Example.com/", "https://app.example.com"),
        ("http://localhost:5173", "http://localhost:5173"),
        ("https://app.example.com:443", "https://app.example.com"),
        ("http://[::1]:8080", "http://[::1]:8080"),
        ("*", "*"),
    ],
)
def test_an_origin_is_kept_as_a_browser_writes_it(given: str, kept: str) -> None:
    assert parse_cors_origin(given) == kept


@pytest.mark.parametrize(
    "given",
    [
        "app.example.com",
        "ftp://app.example.com",
        "https://",
        "https://app.example.com/app",
        "https://app.example.com/?x=1",
        "https://user@app.example.com",
        "https://app.example.com:99999",
        "https://app example.com",
    ],
)
def test_a_value_that_is_no_origin_is_refused(given: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidSetting):
        parse_cors_origin(given)
    monkeypatch.setenv("FLOWRUNS_CORS_ORIGINS", f"{APP},{given}")
    with pytest.raises(InvalidSetting, match="FLOWRUNS_CORS_ORIGINS"):
        Settings.from_env()


def test_the_allowed_origins_reach_the_worker_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWRUNS_CORS_ORIGINS", f" {APP} , http://localhost:5173 ")
    settings = Settings.from_env()
    assert settings.cors_origins == [APP, "http://localhost:5173"]
    monkeypatch.setenv("FLOWRUNS_CORS_ORIGINS", settings.environment()["FLOWRUNS_CORS_ORIGINS"])
    assert Settings.from_env().cors_origins == settings.cors_origins


def test_serve_refuses_a_cors_origin_flag_that_is_no_origin(tmp_path: Path) -> None:
    serve = [sys.executable, "-m", "flowruns", "serve", "--data-dir", str(tmp_path)]
    result = subprocess.run(
        [*serve, "--cors-origin", "app.example.com/x"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "is not an origin" in result.stderr
    assert "Traceback" not in result.stderr
