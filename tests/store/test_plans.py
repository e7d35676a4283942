"""Which questions an index answers in the order asked: the page a client reads stops after a
page of matches instead of sorting every run of the tenant (docs/api.md, "Index-backed
questions"). Read off each engine's plan of the statement a page request runs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, event
from starlette.testclient import TestClient

from flowruns.api.app import create_app, open_database
from flowruns.settings import Settings
from flowruns.store import rendering
from flowruns.store.database import Database
from tests.api.steps import create_run
from tests.conftest import HUB, bearer

_FINISHED = {"status": "completed", "startDateTime": "2026-11-01T00:00:00Z"}


@pytest.fixture
def served(settings: Settings) -> Iterator[tuple[TestClient, Database]]:
    database = open_database(settings)
    app = create_app(settings, database)
    with TestClient(app, headers=bearer(settings)) as client:
        yield client, database
    database.dispose()


def _page_statement(client: TestClient, engine: Engine, params: dict[str, str]) -> Any:
    seen: list[tuple[str, Any]] = []

    def record(_c: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if rendering.ROWS in statement:  # the page's statement, not a background task's
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.get(f"{HUB}/runs", params=params).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen[-1]


def _plan(engine: Engine, statement: str, parameters: Any) -> str:
    with engine.connect() as connection, connection.begin():
        if engine.dialect.name == "postgresql":
            # A handful of rows: without these the planner rightly reads the table and sorts.
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            connection.exec_driver_sql("SET LOCAL enable_sort = off")
            rows = connection.exec_driver_sql("EXPLAIN " + statement, parameters).all()
            return "\n".join(row[0] for row in rows)
        rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
        return "\n".join(row[-1] for row in rows)


@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_a_filter_ordered_by_end_time_reads_the_runs_in_that_order_from_an_index(
    served: tuple[TestClient, Database], direction: str
) -> None:
    client, database = served
    for number in range(3):
        create_run(
            client,
            f"run {number}",
            **_FINISHED,
            endDateTime=f"2026-11-0{number + 2}T00:00:00Z",
            statistics={"recordsFailed": number},
        )
    create_run(client, "still running", statistics={"recordsFailed": 5})
    params = {"$filter": "statistics/recordsFailed gt 0", "$orderby": f"endDateTime {direction}"}
    names = [r["displayName"] for r in client.get(f"{HUB}/runs", params=params).json()["value"]]
    # Nulls first ascending, last descending.
    expected = ["still running", "run 1", "run 2"]
    assert names == (expected if direction == "asc" else expected[::-1])

    plan = _plan(database.engine, *_page_statement(client, database.engine, params))
    assert "ix_runs_end" in plan
    if database.engine.dialect.name == "postgresql":
        assert "Sort" not in plan
    else:
        # The one sort left is of the page's rows, outside the subquery that cuts the page.
        assert plan.count("USE TEMP B-TREE FOR ORDER BY") == 1
