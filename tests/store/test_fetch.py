"""Statements run on the driver's cursor (``queries.fetch``): the rows Connection.execute reads,
its errors, on SQLite within the bound of the reads in the event loop, and writes that return
what they wrote and stand or fall with their transaction."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    BigInteger,
    DateTime,
    Integer,
    Select,
    bindparam,
    func,
    literal,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError

from flowruns.api.app import open_database
from flowruns.settings import DEFAULT_TENANT, Settings
from flowruns.store.bounded import TooMuchWork, bounded
from flowruns.store.database import Database, make_engine, sqlite_url
from flowruns.store.queries import fetch
from flowruns.store.schema import lineage_runs

_ROWS = union_all(
    *(
        select(
            literal(n, Integer()).label("n"),
            literal(kind, Integer()).label("kind"),
            literal(at, DateTime()).label("at"),
        )
        for n, kind, at in (
            (1, 0, datetime(2026, 1, 2, 3, 4, 5)),
            (2, 1, datetime(2026, 1, 2, 3, 4, 6)),
            (3, 2, datetime(2026, 1, 2, 3, 4, 7)),
        )
    )
).subquery("v")
# Values given on each call, and values of the statement's own: an IN list, a literal, a date.
_READ = (
    select(_ROWS.c.n, _ROWS.c.at, (_ROWS.c.n > bindparam("above")).label("above"))
    .where(
        _ROWS.c.kind.in_((0, 2)),
        _ROWS.c.n < bindparam("below", type_=BigInteger()),
        _ROWS.c.at > literal(datetime(2000, 1, 1)),
    )
    .order_by(_ROWS.c.n)
)


def test_rows_are_those_connection_execute_reads(settings: Settings) -> None:
    db = open_database(settings)
    try:
        for parameters in ({"above": 0, "below": 10}, {"above": 1, "below": 3}):
            with db.reading() as transaction:
                expected = [tuple(row) for row in transaction.execute(_READ, parameters)]
                assert [tuple(row) for row in fetch(transaction, _READ, parameters)] == expected
                # Again: the statement compiled once serves the next call.
                assert [tuple(row) for row in fetch(transaction, _READ, parameters)] == expected
        assert expected == [(1, datetime(2026, 1, 2, 3, 4, 5), False)]
    finally:
        db.dispose()


def test_errors_are_sqlalchemys(settings: Settings) -> None:
    db = open_database(settings)
    broken = select(func.no_such_function(bindparam("x")))
    try:
        with pytest.raises(DBAPIError), db.reading() as transaction:
            fetch(transaction, broken, {"x": 1})
    finally:
        db.dispose()


def _count_to(limit: int) -> Select[Any]:
    n = select(literal(1).label("i")).cte("n", recursive=True)
    n = n.union_all(select(n.c.i + 1).where(n.c.i < limit))
    return select(func.count()).select_from(n)


def test_a_read_on_the_drivers_cursor_is_bounded_as_any_other(tmp_path: Path) -> None:
    engine = make_engine(sqlite_url(tmp_path))
    long, short = _count_to(100_000), _count_to(300)
    try:
        with pytest.raises(TooMuchWork), bounded(engine, 0), engine.connect() as connection:
            fetch(connection, long, {})
        with bounded(engine, 60), engine.connect() as connection:
            assert fetch(connection, long, {}) == [(100_000,)]
        # Each read's bound is its own, however often the same statement runs.
        for _ in range(300):
            with bounded(engine, 60), engine.connect() as connection:
                assert fetch(connection, short, {}) == [(300,)]
    finally:
        engine.dispose()


def test_the_dates_given_are_converted_as_sqlalchemy_converts_them(settings: Settings) -> None:
    read = (
        select(_ROWS.c.n).where(_ROWS.c.at == bindparam("at", type_=DateTime())).order_by(_ROWS.c.n)
    )
    db = open_database(settings)
    try:
        with db.reading() as transaction:
            at = datetime(2026, 1, 2, 3, 4, 6)
            assert [tuple(r) for r in fetch(transaction, read, {"at": at})] == [(2,)]
    finally:
        db.dispose()


_LOCK = (
    sqlite_insert(lineage_runs)
    .on_conflict_do_update(
        index_elements=[lineage_runs.c.tenant_id, lineage_runs.c.run_id],
        set_={"events": lineage_runs.c.events + 1},
    )
    .returning(lineage_runs.c.run_id, lineage_runs.c.events, lineage_runs.c.facets)
)
_SAVE = update(lineage_runs).where(
    lineage_runs.c.tenant_id == bindparam("key_tenant"),
    lineage_runs.c.run_id == bindparam("key_run"),
)
_RUN_ID = "1f0c5c64-6a1a-4d4b-9a53-0e6c1d1b1a01"


def _stored(db: Database) -> list[tuple[Any, ...]]:
    with db.reading() as transaction:
        read = select(lineage_runs.c.run_id, lineage_runs.c.events, lineage_runs.c.facets)
        return [tuple(row) for row in transaction.execute(read)]


def test_writes_return_what_they_wrote_and_commit_with_their_transaction(
    settings: Settings,
) -> None:
    db = open_database(settings)
    lock = _LOCK if db.engine.dialect.name == "sqlite" else postgresql_lock()
    new = {"tenant_id": DEFAULT_TENANT, "run_id": _RUN_ID, "events": 0, "facets": {"a": "é"}}
    try:
        with db.writing() as transaction:
            assert [tuple(r) for r in fetch(transaction, lock, new)] == [(_RUN_ID, 0, {"a": "é"})]
            # The same statement again, on the row now there: its conflict clause.
            assert [tuple(r) for r in fetch(transaction, lock, new)] == [(_RUN_ID, 1, {"a": "é"})]
        saved = {"key_tenant": DEFAULT_TENANT, "key_run": _RUN_ID, "facets": {"b": [1, 2]}}
        with db.writing() as transaction:
            assert fetch(transaction, _SAVE, saved) == []  # no RETURNING: no rows
        assert _stored(db) == [(_RUN_ID, 1, {"b": [1, 2]})]
        # A write block that fails leaves nothing of what it wrote on the driver's cursor.
        with pytest.raises(RuntimeError):
            _fail_after_writing(db, {**saved, "facets": {"c": 3}})
        assert _stored(db) == [(_RUN_ID, 1, {"b": [1, 2]})]
    finally:
        db.dispose()


def _fail_after_writing(db: Database, saved: dict[str, Any]) -> None:
    with db.writing() as transaction:
        fetch(transaction, _SAVE, saved)
        raise RuntimeError("the request failed after its first statement")


def postgresql_lock() -> Any:
    """``_LOCK`` in PostgreSQL's syntax."""
    return (
        postgresql_insert(lineage_runs)
        .on_conflict_do_update(
            index_elements=[lineage_runs.c.tenant_id, lineage_runs.c.run_id],
            set_={"events": lineage_runs.c.events + 1},
        )
        .returning(lineage_runs.c.run_id, lineage_runs.c.events, lineage_runs.c.facets)
    )
