"""The schema's revisions (Alembic, in ``versions/``) and bringing a database to the newest.

A database records its revision in ``alembic_version``. One made before flowruns versioned its
schema has the tables but no such record: it is at :data:`BASELINE`, the first revision. A new,
empty database is created straight at the newest revision from :mod:`flowruns.store.schema`
(the migrated schema and the tables declared there are kept identical by the test suite).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Connection, Engine, inspect, text
from sqlalchemy.types import TypeEngine

from flowruns.store import changes, datasets, downstream, freshness, health, rollup
from flowruns.store.schema import metadata

SCRIPTS = "flowruns.store:migrations"
BASELINE = "0001"
# Any fixed number: servers starting together on one PostgreSQL take turns upgrading it.
_UPGRADE_LOCK = 0x666C6F77


class SchemaNotCurrent(RuntimeError):
    """The database's schema is not the one this flowruns needs."""


def config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for flowruns' revisions, running on ``connection``."""
    cfg = Config()
    cfg.set_main_option("script_location", SCRIPTS)
    cfg.attributes["connection"] = connection
    return cfg


def compare_type(
    context: MigrationContext,
    inspected_column: Column[Any],
    metadata_column: Column[Any],
    inspected_type: TypeEngine[Any],
    metadata_type: TypeEngine[Any],
) -> bool | None:
    """Alembic's type comparison plus collation, which Alembic alone does not compare: a
    string column that lost ``COLLATE "C"`` would sort by locale on PostgreSQL."""
    wanted = getattr(metadata_type.dialect_impl(context.dialect), "collation", None)
    if wanted != getattr(inspected_type, "collation", None):
        return True
    return None  # the rest of the comparison is Alembic's own


@functools.cache
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(config())


def head() -> str:
    """The newest revision."""
    revision = _scripts().get_current_head()
    assert revision is not None
    return revision


@dataclass(frozen=True)
class SchemaState:
    """Where a database's schema stands: ``revision`` None means it has no flowruns tables."""

    revision: str | None
    versioned: bool

    @property
    def current(self) -> bool:
        return self.revision == head()

    @property
    def known(self) -> bool:
        """Whether this flowruns has the revision (a newer release may have written it)."""
        return self.revision is None or self.revision in {
            s.revision for s in _scripts().walk_revisions()
        }

    def describe(self) -> str:
        if self.revision is None:
            return "empty (no flowruns tables)"
        if self.current:
            return f"{self.revision} (current)"
        if not self.known:
            return f"{self.revision} (unknown to this flowruns, which stops at {head()})"
        return f"{self.revision} (out of date; the current revision is {head()})"


def state(connection: Connection) -> SchemaState:
    """The schema revision of the database ``connection`` is open on."""
    revision = MigrationContext.configure(connection).get_current_revision()
    if revision is not None:
        return SchemaState(revision, versioned=True)
    if inspect(connection).has_table("runs"):
        return SchemaState(BASELINE, versioned=False)
    return SchemaState(None, versioned=False)


def upgrade(engine: Engine) -> tuple[SchemaState, SchemaState]:
    """Bring the database to the newest revision; the states before and after.

    One transaction: a failed step leaves the database as it was. Concurrent callers take turns
    (an advisory lock on PostgreSQL, the write lock on SQLite), and the later ones find the work
    done.
    """
    with engine.connect() as plain:
        connection = plain.execution_options(flowruns_write=True)
        with connection.begin():
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _UPGRADE_LOCK}
                )
            before = state(connection)
            if not before.known:
                raise SchemaNotCurrent(
                    f"The database schema is at revision {before.describe()}; "
                    "use the flowruns release that wrote it."
                )
            if before.revision is None:
                metadata.create_all(connection)
                rollup.install(connection)
                changes.install(connection)
                changes.install_health_triggers(connection)
                health.install(connection)
                datasets.install(connection)
                downstream.install(connection)
                freshness.install(connection)
                MigrationContext.configure(connection).stamp(_scripts(), "head")
            elif not before.current:
                if not before.versioned:
                    MigrationContext.configure(connection).stamp(_scripts(), BASELINE)
                command.upgrade(config(connection), "head")
            after = state(connection)
    return before, after


def prepare(engine: Engine, *, upgrade_outdated: bool) -> None:
    """Make sure the database has the newest schema before a server or command uses it.

    An empty database gets the schema. One at an older revision is upgraded only with
    ``upgrade_outdated`` (SQLite in flowruns' own data directory); otherwise it is refused
    (:class:`SchemaNotCurrent`), since other servers may still be running on it.
    """
    with engine.connect() as connection:
        found = state(connection)
    if found.current:
        return
    if found.revision is None or (upgrade_outdated and found.known):
        upgrade(engine)
        return
    if not found.known:
        advice = "use the flowruns release that wrote it."
    else:
        advice = "run `flowruns db upgrade` with the same database settings, then start again."
    raise SchemaNotCurrent(f"The database schema is {found.describe()}; {advice}")
