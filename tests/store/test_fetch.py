"""Reads run on the driver's cursor (``queries.fetch``): the rows Connection.execute reads, its
errors, and on SQLite within the bound of the reads in the event loop."""

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
)
from sqlalchemy.exc import DBAPIError

from flowruns.api.app import open_database
from flowruns.settings import Settings
from flowruns.store.bounded import TooMuchWork, bounded
from flowruns.store.database import make_engine, sqlite_url
from flowruns.store.queries import fetch

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
