"""Which database errors mean "the database cannot serve now" (503 and a retry) rather than "the
statement was wrong" (a bug: 500): decided from the drivers' own codes, on real errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from flowruns.store.database import make_engine, unavailable, unavailable_reason


def _error_of(url: str, statement: str) -> SQLAlchemyError:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text(statement))
    except SQLAlchemyError as error:
        return error
    finally:
        engine.dispose()
    raise AssertionError(f"{statement} did not fail")


def test_a_statement_the_database_refuses_is_not_an_outage(
    tmp_path: Path, database_url: str | None
) -> None:
    url = database_url or f"sqlite:///{tmp_path / 'x.db'}"
    # On SQLite these are OperationalErrors, the class of the outages too: the code decides.
    assert not unavailable(_error_of(url, "SELECT * FROM no_such_table"))
    assert not unavailable(_error_of(url, "SELEC 1"))
    assert not unavailable(ValueError("not a database error"))


def test_a_file_that_cannot_be_opened_is_an_outage(tmp_path: Path) -> None:
    error = _error_of(f"sqlite:///{tmp_path / 'missing' / 'x.db'}", "SELECT 1")
    assert unavailable(error)
    assert unavailable_reason(error) == "unable to open database file"


def test_no_pooled_connection_free_in_time_is_an_outage(tmp_path: Path) -> None:
    engine = create_engine(
        f"sqlite:///{tmp_path / 'x.db'}", pool_size=1, max_overflow=0, pool_timeout=0.01
    )
    with engine.connect(), pytest.raises(SQLAlchemyError) as raised, engine.connect():
        pass
    engine.dispose()
    assert unavailable(raised.value)
