"""The change log's order as readers see it: a change that commits after a later-numbered one
is never missed (PostgreSQL), and positions are taken under the write lock (SQLite)."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import select, text
from starlette.testclient import TestClient

from flowruns.api.app import open_database
from flowruns.settings import Settings
from flowruns.store import changes
from flowruns.store.schema import changes as change_rows
from tests.api.delta_sync import Mirror, full_read
from tests.api.steps import create_run
from tests.conftest import HUB
from tests.engines import ENGINES

RUNS_DELTA = f"{HUB}/runs/delta()"


def _only(engine: str) -> pytest.MarkDecorator:
    """Run a test on ``engine`` alone (when the suite runs that engine): the ``database_url``
    fixture then gives only that engine's database, and PostgreSQL, when it cannot be reached,
    skips or under ``CI`` fails, as the rest of the suite does."""
    return pytest.mark.parametrize(
        "database_url", [e for e in ENGINES if e == engine], indirect=True
    )


def _rename(connection: object, run_id: str, name: str) -> None:
    """A change made straight in an open write transaction: a new name and ETag."""
    connection.execute(  # type: ignore[attr-defined]
        text("UPDATE runs SET display_name = :name, etag = :etag WHERE id = :id"),
        {"name": name, "etag": f"{abs(hash(name)):016x}"[:16], "id": run_id},
    )


@_only("postgresql")  # transactions commit in another order than they take keys
def test_a_writer_in_flight_holds_readers_back_and_nothing_is_missed(
    client: TestClient, settings: Settings
) -> None:
    assert settings.database_url is not None
    first, second = create_run(client, "first"), create_run(client, "second")
    mirror = Mirror(RUNS_DELTA)
    mirror.sync(client)
    database = open_database(settings)
    try:
        with database.writing() as held:
            # This transaction takes its key first and stays open ...
            _rename(held, first["id"], "first, renamed")
            # ... while another one, keyed after it, commits.
            renamed = {"displayName": "second, renamed"}
            assert client.patch(f"{HUB}/runs/{second['id']}", json=renamed).status_code == 200
            # A reader now must not move past the open transaction: the second change waits.
            assert mirror.sync(client) == []
        # The held transaction committed after the later-keyed one; the next round has both.
        items = mirror.sync(client)
        assert sorted(item["displayName"] for item in items) == [
            "first, renamed",
            "second, renamed",
        ]
        assert mirror.copy == full_read(client, f"{HUB}/runs")
        with database.reading() as transaction:
            rows = transaction.execute(
                select(change_rows.c.entity_id, change_rows.c.position).order_by(
                    change_rows.c.position
                )
            ).all()
        # The commit order differed from the positions: the first change has the lower one.
        last = {row.entity_id: row.position for row in rows}
        assert last[first["id"]] < last[second["id"]]
    finally:
        database.dispose()


@_only("sqlite")  # one writer at a time
def test_positions_are_taken_under_the_write_lock(client: TestClient, settings: Settings) -> None:
    assert settings.database_url is None
    run = create_run(client, "run")
    database = open_database(settings)
    path = settings.data_dir / "flowruns.db"
    try:
        with database.reading() as transaction:
            before = changes.horizon(transaction)
        with database.writing() as held:
            _rename(held, run["id"], "renamed")
            taken = held.execute(
                select(change_rows.c.position).order_by(change_rows.c.position.desc()).limit(1)
            ).scalar_one()
            # The position is the counter's next, taken inside this write transaction ...
            assert (0, taken) == before.key
            # ... which holds the write lock: no other writer can take one meanwhile.
            other = sqlite3.connect(path, timeout=0.05, isolation_level=None)
            try:
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("UPDATE change_log SET position = position + 1")
            finally:
                other.close()
            # And a reader's horizon does not include the uncommitted position.
            with database.reading() as transaction:
                assert changes.horizon(transaction).key == before.key
        with database.reading() as transaction:
            assert changes.horizon(transaction).key == (0, before.key[1] + 1)
    finally:
        database.dispose()
