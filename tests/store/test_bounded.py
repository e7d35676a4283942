"""Reads bounded in time on SQLite: stopped past their bound, whole within it, and unbounded
again once the block ends."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from flowruns.store import bounded as bounds
from flowruns.store.bounded import TooMuchWork, bounded
from flowruns.store.database import make_engine, sqlite_url
from tests.api.steps import create_run
from tests.conftest import HUB

# A statement of a few hundred thousand instructions (milliseconds): a count to 100,000.
_LONG = text(
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) "
    "SELECT count(*) FROM n"
)


def test_a_statement_past_its_bound_is_stopped_and_the_next_one_is_not(tmp_path: Path) -> None:
    engine = make_engine(sqlite_url(tmp_path))
    try:
        with pytest.raises(TooMuchWork), bounded(engine, 0), engine.connect() as connection:
            connection.execute(_LONG).scalar()
        with bounded(engine, 60), engine.connect() as connection:
            assert connection.execute(_LONG).scalar() == 100_000
        # The pool hands the same connection out again, without the bound.
        with engine.connect() as connection:
            assert connection.execute(_LONG).scalar() == 100_000
    finally:
        engine.dispose()


def test_only_sqlite_reads_are_bounded() -> None:
    engine = make_engine("postgresql://nobody@127.0.0.1:1/none")
    with pytest.raises(ValueError, match="SQLite"), bounded(engine):
        pass


def test_a_read_stopped_in_the_event_loop_is_answered_from_a_thread(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    for number in range(3):
        create_run(client, f"run {number}")
    url = f"{HUB}/runs?$orderby=displayName"
    unbounded = client.get(url)
    monkeypatch.setattr(bounds, "DEFAULT_SECONDS", 0)
    monkeypatch.setattr(bounds, "GRANULARITY", 1)  # every read of these few runs is stopped
    stopped = client.get(url)
    assert stopped.status_code == 200
    assert stopped.json()["value"] == unbounded.json()["value"]
    run = unbounded.json()["value"][0]
    assert client.get(f"{HUB}/runs/{run['id']}").json()["displayName"] == run["displayName"]


def test_a_statement_run_again_and_again_within_its_bound_is_never_stopped(
    tmp_path: Path,
) -> None:
    """The driver reuses prepared statements, and SQLite counts a statement's instructions over
    all its executions: each read's bound is its own."""
    engine = make_engine(sqlite_url(tmp_path))
    short = text(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300) "
        "SELECT count(*) FROM n"
    )
    try:
        for _ in range(300):
            with bounded(engine, 60), engine.connect() as connection:
                assert connection.execute(short).scalar() == 300
    finally:
        engine.dispose()


@pytest.mark.parametrize("database_url", [None])  # SQLite: PostgreSQL reads are never bounded
def test_a_read_that_passed_its_bound_goes_straight_to_a_thread_the_next_time(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    for number in range(3):
        create_run(client, f"run {number}")
    url = f"{HUB}/runs?$orderby=displayName"
    monkeypatch.setattr(bounds, "DEFAULT_SECONDS", 0)
    monkeypatch.setattr(bounds, "GRANULARITY", 1)
    attempts: list[float] = []
    deadline = bounds._Deadline

    def counted(seconds: float) -> bounds._Deadline:
        attempts.append(seconds)
        return deadline(seconds)

    monkeypatch.setattr(bounds, "_Deadline", counted)
    first = client.get(url)
    assert attempts, "the first read is tried in the event loop, under its bound"
    attempts.clear()
    again = client.get(url)
    assert again.json()["value"] == first.json()["value"]
    assert attempts == [], "the same read is not tried under the bound again"
    client.get(f"{HUB}/runs?$orderby=status")
    assert attempts, "another read is still tried under its bound"
