"""The dashboard's files as the server hands them out: headers, content types, no token needed,
nothing fetched from another origin, nothing that could run API text as code."""

from __future__ import annotations

import fnmatch
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

import pytest
from starlette.testclient import TestClient

from flowruns.api.app import create_app
from flowruns.dashboard.routes import CONTENT_SECURITY_POLICY, load_assets
from flowruns.settings import Settings
from tests.conftest import SECRET_KEY

STATIC = Path(__file__).resolve().parents[2] / "src" / "flowruns" / "dashboard" / "static"
PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
ASSETS = sorted(load_assets())
EXPECTED_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
# XML namespace names look like URLs but are identifiers: nothing is ever fetched from them.
NAMESPACES = {"http://www.w3.org/2000/svg"}
ABSOLUTE_URL = re.compile(r"""[a-z][a-z0-9+.-]*://[^\s"'`)<>]+""", re.IGNORECASE)
# '//host/…' in a string, attribute or url(): a protocol-relative address of another origin.
PROTOCOL_RELATIVE = re.compile(r"""["'(=]\s*//[^/\s"'`]""")
# Ways to turn text into markup or code; the pages build DOM nodes and set textContent instead.
UNSAFE_SINKS = re.compile(
    r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\(|"
    r"setAttribute\(\s*['\"]on|javascript:"
)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The app without any Authorization header: the dashboard needs none."""
    data_dir = tmp_path_factory.mktemp("dashboard") / "data"
    app = create_app(Settings(data_dir=data_dir, secret_key=SECRET_KEY))
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client


def _files() -> list[Path]:
    return sorted(path for path in STATIC.rglob("*") if path.is_file())


def test_the_page_needs_no_token_and_carries_the_security_headers(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    for directive in ("default-src 'none'", "script-src 'self'", "frame-ancestors 'none'"):
        assert directive in CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert '<script type="module" src="/dashboard/app.js"></script>' in response.text


def test_the_api_still_needs_a_token(client: TestClient) -> None:
    assert client.get("/beta/external/industryData/runs").status_code == 401


@pytest.mark.parametrize("name", ASSETS)
def test_every_file_has_its_content_type_and_headers(client: TestClient, name: str) -> None:
    response = client.get(f"/dashboard/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"] == EXPECTED_TYPES[PurePosixPath(name).suffix]
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.content == (STATIC / name).read_bytes()


def test_every_static_file_is_served() -> None:
    assert sorted(path.relative_to(STATIC).as_posix() for path in _files()) == ASSETS


def test_an_unchanged_file_is_not_sent_again(client: TestClient) -> None:
    first = client.get("/dashboard/app.js")
    again = client.get("/dashboard/app.js", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


@pytest.mark.parametrize(
    "path",
    [
        "/dashboard/missing.js",
        "/dashboard/",
        "/dashboard/pages",
        "/dashboard/../routes.py",
        "/dashboard/%2e%2e/routes.py",
        "/dashboard/__init__.py",
    ],
)
def test_anything_else_is_404_in_the_graph_error_shape(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "itemNotFound"


def test_every_reference_between_the_files_resolves(client: TestClient) -> None:
    references = re.compile(r"""(?:\bfrom\s+|\bimport\s*\(?\s*|(?:src|href)=)["']([^"'#]+)["']""")
    checked = 0
    for path in _files():
        if path.suffix not in (".js", ".html"):
            continue
        base = PurePosixPath("/dashboard") / path.relative_to(STATIC).parent.as_posix()
        for target in references.findall(path.read_text()):
            if target.startswith("/"):
                address = target
            else:
                parts: list[str] = []
                for part in (base / target).parts[1:]:
                    if part == "..":
                        parts.pop()
                    elif part != ".":
                        parts.append(part)
                address = "/" + "/".join(parts)
            assert client.get(address).status_code == 200, f"{path.name} refers to {target}"
            checked += 1
    assert checked > 20


@pytest.mark.parametrize("path", _files(), ids=lambda path: path.name)
def test_no_file_reaches_another_origin(path: Path) -> None:
    text = path.read_text()
    urls = set(ABSOLUTE_URL.findall(text)) - NAMESPACES
    assert not urls, f"{path.name} names other origins: {sorted(urls)}"
    assert not PROTOCOL_RELATIVE.search(text), f"{path.name} has a protocol-relative URL"
    assert "@import" not in text


@pytest.mark.parametrize(
    "path", [p for p in _files() if p.suffix in (".js", ".html")], ids=lambda p: p.name
)
def test_no_file_turns_text_into_markup_or_code(path: Path) -> None:
    text = path.read_text()
    assert not UNSAFE_SINKS.search(text), UNSAFE_SINKS.search(text)
    if path.suffix == ".html":
        # The CSP forbids inline code: every script has a src, no element has a style or on*.
        assert re.findall(r"<script(?![^>]*\bsrc=)", text) == []
        assert re.findall(r"\s(?:style|on[a-z]+)=", text) == []
        assert "<style" not in text


def test_the_package_ships_every_static_file() -> None:
    patterns = tomllib.loads(PYPROJECT.read_text())["tool"]["setuptools"]["package-data"]
    package = STATIC.parents[1]
    for path in _files():
        name = path.relative_to(package).as_posix()
        assert any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns["flowruns"]), name
