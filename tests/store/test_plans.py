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
            # Statistics of the rows there now, not of whatever an earlier test left for
            # autovacuum to count (the tests of a process share a database, emptied in between).
            connection.exec_driver_sql("ANALYZE runs, dataset_accesses, datasets")
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


def _with_accesses(client: TestClient) -> None:
    for number in range(3):
        run = create_run(client, f"run {number}", **_FINISHED)
        inputs, outputs = f"{HUB}/runs/{run['id']}/inputs", f"{HUB}/runs/{run['id']}/outputs"
        assert client.post(inputs, json={"name": f"raw.table{number}"}).status_code == 201
        assert client.post(outputs, json={"name": f"warehouse.table{number}"}).status_code == 201


def test_runs_that_wrote_a_name_are_looked_up_by_key(served: tuple[TestClient, Database]) -> None:
    """``outputs/any(d: d/name eq …)`` reads the writers of the name from their index, and on
    SQLite (no statistics) the runs are then read by primary key and sorted, not walked in
    their order (docs/lineage.md). PostgreSQL, with statistics, does the same on a large
    history (docs/performance.md, "Lineage questions")."""
    client, database = served
    _with_accesses(client)
    params = {"$filter": "outputs/any(d: d/name eq 'warehouse.table1')"}
    assert [r["displayName"] for r in client.get(f"{HUB}/runs", params=params).json()["value"]] == [
        "run 1"
    ]
    if database.engine.dialect.name == "postgresql":
        return  # its statistics choose the way, which three runs do not show
    plan = _plan(database.engine, *_page_statement(client, database.engine, params))
    assert "ix_dataset_accesses_name" in plan
    assert "ix_runs_start" not in plan
    assert "sqlite_autoindex_runs_1" in plan


def test_an_any_without_a_key_probes_each_run_in_order(
    served: tuple[TestClient, Database],
) -> None:
    """An ``any`` whose body fixes no key of the accesses may keep most runs: the runs are read
    in their order and each one's accesses probed by ``ux_dataset_accesses_run``, so a page
    stops after its matches instead of listing every access that matches first."""
    client, database = served
    _with_accesses(client)
    params = {"$filter": "inputs/any(i: i/dataset/writes/any())", "$top": "100"}
    assert client.get(f"{HUB}/runs", params=params).json()["value"] == []
    plan = _plan(database.engine, *_page_statement(client, database.engine, params))
    assert "ix_runs_start" in plan
    assert "ux_dataset_accesses_run" in plan
    if database.engine.dialect.name == "sqlite":
        assert "LIST SUBQUERY" not in plan


def _create_last(engine: Engine, index: str) -> None:
    """Create ``index`` again, after every other: where SQLite's planner weighs two indexes the
    same, it takes the one created first, and a fresh schema creates them in no fixed order."""
    if engine.dialect.name != "sqlite":
        return
    with engine.begin() as connection:
        (sql,) = connection.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?", (index,)
        ).one()
        connection.exec_driver_sql(f"DROP INDEX {index}")
        connection.exec_driver_sql(sql)


@pytest.mark.parametrize("created_last", ["ix_runs_start", "ix_runs_read_after_failed_write"])
def test_the_runs_downstream_of_a_failure_are_a_range_of_their_index(
    served: tuple[TestClient, Database], created_last: str
) -> None:
    """ "Which runs read a dataset that a failed run wrote before they started" is read from
    ``ix_runs_read_after_failed_write`` in the runs' order, with no probe of the accesses: a
    page costs its matches, not the runs between them (store/downstream.py). So whichever of
    it and the default order's index was created first."""
    client, database = served
    _create_last(database.engine, created_last)
    _with_accesses(client)
    downstream = (
        "inputs/any(i: i/dataset/writes/any(w: w/runStatus eq 'failed' "
        "and w/runStartDateTime le i/runStartDateTime))"
    )
    params = {"$filter": downstream, "$top": "100", "$select": "id"}
    assert client.get(f"{HUB}/runs", params=params).status_code == 200
    plan = _plan(database.engine, *_page_statement(client, database.engine, params))
    assert "ix_runs_read_after_failed_write" in plan
    assert "dataset_accesses" not in plan
