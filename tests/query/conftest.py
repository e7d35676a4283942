"""One seeded history per database engine, loaded once and shared by the query tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext

import pytest
from starlette.testclient import TestClient

from flowruns.api.app import create_app
from flowruns.settings import Settings
from tests.conftest import SECRET_KEY, bearer
from tests.engines import ENGINES, created_database
from tests.query.history import read_history, seed_history
from tests.query.reference import Dataset


class History:
    """A server holding the seeded history, and that history as the reference reads it."""

    def __init__(self, client: TestClient, data: Dataset, engine: str) -> None:
        self.client = client
        self.data = data
        self.engine = engine

    def __repr__(self) -> str:  # what Hypothesis prints for a failing example
        return f"History({self.engine})"


@pytest.fixture(scope="session", params=ENGINES)
def history(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[History]:
    """The history on one engine, in a database of its own (the per-test fixtures empty
    theirs before every test, so this one must not share it)."""
    engine: str = request.param
    database: AbstractContextManager[str | None] = (
        nullcontext(None) if engine == "sqlite" else created_database("flowruns_query")
    )
    with database as url:
        data_dir = tmp_path_factory.mktemp(f"history-{engine}")
        settings = Settings(
            data_dir=data_dir,
            database_url=url,
            secret_key=SECRET_KEY,
            rate_limit_per_second=0,  # thousands of reads under make fuzz
        )
        app = create_app(settings)
        with TestClient(app, base_url="http://testserver", headers=bearer(settings)) as client:
            seed_history(client)
            yield History(client, read_history(client), engine)
