"""The database engines the suite runs on, and the PostgreSQL database of one test run.

PostgreSQL is found through ``FLOWRUNS_TEST_POSTGRES_URL`` (an account that may create
databases), by default the local server at 127.0.0.1:5432. Each test process creates its own
database under a unique name, empties it before every test that uses it, and drops it at the
end. When the server cannot be reached the PostgreSQL half of the suite is skipped, except
under ``CI``, where it fails: CI must test both engines.

``FLOWRUNS_TEST_ENGINES`` (``sqlite``, ``postgresql`` or both, comma-separated) narrows the
suite to some engines.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from flowruns.store import migrations
from flowruns.store.database import make_engine

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
ENGINES = tuple(
    name.strip()
    for name in os.environ.get("FLOWRUNS_TEST_ENGINES", "sqlite,postgresql").split(",")
    if name.strip()
)
# A locale whose order differs from code-point order ("a" < "B"), so a text column that lacks
# COLLATE "C" fails the ordering tests; servers without ICU get the server's default locale.
_CREATE_LOCALIZED = (
    "CREATE DATABASE {} ENCODING 'UTF8' TEMPLATE template0"
    " LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
)
_CREATE_PLAIN = "CREATE DATABASE {} ENCODING 'UTF8' TEMPLATE template0"
# Every table, children first. DELETE, not TRUNCATE: on a few small tables it takes well under
# a millisecond, where TRUNCATE (new files for every table and index) takes tens.
_EMPTY = "; ".join(
    f"DELETE FROM {table}"
    for table in (
        "run_group_members",
        "dataset_accesses",
        "incidents",
        "dataset_expectations",
        "datasets",
        "idempotency_keys",
        "runs",
        "run_days",
        "expectations",
        "processes",
        "changes",
        "change_baselines",
        "notifications",
        "subscriptions",
        "lineage_events",
        "lineage_runs",
    )
)


def admin_url() -> str:
    return os.environ.get("FLOWRUNS_TEST_POSTGRES_URL") or DEFAULT_ADMIN_URL


def _libpq(url: str) -> str:
    """A SQLAlchemy-style URL as libpq takes it (no ``+driver``)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def connect_admin() -> psycopg.Connection[tuple[object, ...]]:
    """An autocommit connection with the admin URL; skips (or fails under CI) if unreachable."""
    url = admin_url()
    try:
        return psycopg.connect(_libpq(url), autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        where = make_url(url).render_as_string(hide_password=True)
        message = f"PostgreSQL for the tests is not reachable at {where}: {error}".strip()
        if os.environ.get("CI"):
            pytest.fail(f"{message} (CI runs every test on PostgreSQL too)", pytrace=False)
        pytest.skip(f"{message}; set FLOWRUNS_TEST_POSTGRES_URL (see DEVELOPERS.md)")


@dataclass
class TestDatabase:
    """A PostgreSQL database made for this test process."""

    url: str
    connection: psycopg.Connection[tuple[object, ...]]

    __test__ = False  # not a test class, despite its name

    def empty(self) -> None:
        """Delete every row, so each test starts from an empty store."""
        self.connection.execute(_EMPTY)


@contextmanager
def created_database(prefix: str = "flowruns_test") -> Iterator[str]:
    """A new, empty PostgreSQL database (its URL), dropped on exit whoever is connected."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    with connect_admin() as admin:
        try:
            admin.execute(sql.SQL(_CREATE_LOCALIZED).format(sql.Identifier(name)))
        except psycopg.Error:  # before PostgreSQL 15, or built without ICU
            admin.execute(sql.SQL(_CREATE_PLAIN).format(sql.Identifier(name)))
        try:
            yield make_url(admin_url()).set(database=name).render_as_string(hide_password=False)
        finally:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@contextmanager
def postgres_test_database() -> Iterator[TestDatabase]:
    """A database with the current schema, for the tests of one process."""
    with created_database() as url:
        engine = make_engine(url)
        migrations.upgrade(engine)
        engine.dispose()
        with psycopg.connect(_libpq(url), autocommit=True) as connection:
            yield TestDatabase(url, connection)
