"""Shared fixtures: a fresh flowruns server (in-process ASGI) on its own database per test.

Every test that takes ``settings`` (or ``client``) runs twice: on SQLite in a temporary data
directory and on PostgreSQL (see :mod:`tests.engines` for how that server is found).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from starlette.testclient import TestClient

from flowruns.api.app import create_app
from flowruns.auth.keys import local_signing_key
from flowruns.auth.scopes import READ_WRITE_PERMISSIONS
from flowruns.auth.tokens import mint_token
from flowruns.settings import DEFAULT_TENANT, Settings
from tests.engines import ENGINES, TestDatabase, created_database, postgres_test_database

ROOT = "/beta"
HUB = f"{ROOT}/external/industryData"
NS = "microsoft.graph.industryData"
# The paging secret of the test servers: FLOWRUNS_SECRET_KEY needs at least 32 bytes.
SECRET_KEY = "flowruns-test-secret-of-at-least-32-bytes"
# The OASIS OData conformance data (ABNF test cases, CSDL schemas) is kept beside the checkout,
# in ../shared/conformance; FLOWRUNS_CONFORMANCE_DIR names another copy.
CONFORMANCE_ENV = "FLOWRUNS_CONFORMANCE_DIR"
CONFORMANCE = Path(__file__).resolve().parents[1].parent / "shared" / "conformance"

# Bounded examples for `make test`; `make fuzz` selects the long profile.
hypothesis_settings.register_profile(
    "ci",
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
hypothesis_settings.register_profile(
    "fuzz",
    max_examples=2_000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def conformance_file(relative: str) -> Path:
    """A file of the conformance data. Missing, the test (or, called at import, the module) is
    skipped with one message naming the file and the setting, and fails under ``CI``, which
    must run them."""
    path = Path(os.environ.get(CONFORMANCE_ENV) or CONFORMANCE) / relative
    if path.is_file():
        return path
    message = (
        f"the OData conformance data is missing: no {path}. It is read from ../shared/conformance "
        f"beside the checkout; set {CONFORMANCE_ENV} to the directory of another copy"
    )
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI runs the conformance tests", pytrace=False)
    pytest.skip(message, allow_module_level=True)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[TestDatabase]:
    """This test process's own PostgreSQL database, dropped when the run ends."""
    with postgres_test_database() as database:
        yield database


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest) -> str | None:
    """The database of one test: None for SQLite in the data directory, else a clean
    PostgreSQL database (emptied before the test)."""
    if request.param == "sqlite":
        return None
    database: TestDatabase = request.getfixturevalue("postgres_database")
    database.empty()
    return database.url


@pytest.fixture(params=ENGINES)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a new database with no tables at all, on each engine in turn."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    request.getfixturevalue("postgres_database")  # skips (or fails) as the other tests do
    with created_database() as url:
        yield url


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None) -> Settings:
    return Settings(data_dir=tmp_path / "data", database_url=database_url, secret_key=SECRET_KEY)


def bearer(
    settings: Settings,
    tenant: str = DEFAULT_TENANT,
    scopes: tuple[str, ...] = READ_WRITE_PERMISSIONS,
    ttl_seconds: int = 3600,
) -> dict[str, str]:
    """An ``Authorization`` header with a token the server of ``settings`` accepts."""
    local_signing_key(settings.data_dir)  # the key that server makes on its first start
    token = mint_token(settings.data_dir, tenant=tenant, scopes=scopes, ttl_seconds=ttl_seconds)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The server over ASGI, sending a read-write token of the default tenant by default."""
    app = create_app(settings)
    with TestClient(app, base_url="http://testserver", headers=bearer(settings)) as test_client:
        yield test_client
