"""Dataset freshness: a dataset's freshness expectation (``dataset_expectations``), and incidents
that are a dataset's (``incidents.dataset_id``) rather than a process's.

Revision ID: 0014
Revises: 0013

An incident's ``process_id`` becomes nullable. PostgreSQL alters the column; SQLite cannot
change a column's constraint, so the table is rebuilt as SQLite's documentation describes (a new
table, the rows copied, the old one dropped, the new one renamed), and its indexes and change-log
triggers made again. Existing incidents keep their ids, versions and process.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from flowruns.store import changes, freshness

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def _string(length: int | None = None) -> sa.types.TypeEngine[str]:
    if length is None:
        return sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def _identity() -> list[sa.Column[Any]]:
    return [
        sa.Column("tenant_id", _string(36), nullable=False),
        sa.Column("id", _string(36), nullable=False),
        sa.Column("type", _string(64), nullable=False),
        sa.Column("etag", _string(32), nullable=False),
    ]


_COLUMNS = (
    "tenant_id, id, type, etag, process_id, kind, run_id, opened_date_time, resolved_date_time, "
    "expected_date_time, occurrences, message"
)
_OPEN = "resolved_date_time IS NULL"
# The name PostgreSQL gives the constraint when a new database is made from the declared schema.
_DATASET_FK = "incidents_tenant_id_dataset_id_fkey"


def _incident_indexes(*, process_nullable: bool) -> None:
    op.create_index("ix_incidents_opened", "incidents", ["tenant_id", "opened_date_time", "id"])
    op.create_index(
        "ix_incidents_process_opened",
        "incidents",
        ["tenant_id", "process_id", "opened_date_time", "id"],
    )
    op.create_index(
        "ix_incidents_open",
        "incidents",
        ["tenant_id", "process_id"],
        sqlite_where=sa.text(_OPEN),
        postgresql_where=sa.text(_OPEN),
    )
    if process_nullable:
        op.create_index(
            "ix_incidents_dataset_opened",
            "incidents",
            ["tenant_id", "dataset_id", "opened_date_time", "id"],
        )


def _rebuild_incidents(*, process_nullable: bool) -> None:
    """SQLite: make ``incidents`` again with ``process_id`` nullable (and ``dataset_id``) or, going
    back, as it was; the rows, indexes and change-log triggers carried over."""
    bind = op.get_bind()
    changes.uninstall_table_triggers(bind, "incidents")
    columns: list[Any] = [
        *_identity(),
        sa.Column("process_id", _string(36), nullable=process_nullable),
        sa.Column("kind", sa.SmallInteger(), nullable=False),
    ]
    if process_nullable:
        columns.append(sa.Column("dataset_id", _string(), nullable=True))
    columns += [
        sa.Column("run_id", _string(), nullable=True),
        sa.Column("opened_date_time", sa.BigInteger(), nullable=False),
        sa.Column("resolved_date_time", sa.BigInteger(), nullable=True),
        sa.Column("expected_date_time", sa.BigInteger(), nullable=True),
        sa.Column("occurrences", sa.BigInteger(), nullable=False),
        sa.Column("message", _string(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "process_id"], ["processes.tenant_id", "processes.id"]
        ),
    ]
    if process_nullable:
        columns.append(
            sa.ForeignKeyConstraint(
                ["tenant_id", "dataset_id"], ["datasets.tenant_id", "datasets.id"]
            )
        )
    op.create_table("incidents_rebuilt", *columns)
    op.execute(f"INSERT INTO incidents_rebuilt ({_COLUMNS}) SELECT {_COLUMNS} FROM incidents")
    op.drop_table("incidents")
    op.rename_table("incidents_rebuilt", "incidents")
    _incident_indexes(process_nullable=process_nullable)
    changes.install_table_triggers(bind, "incidents")


def upgrade() -> None:
    op.create_table(
        "dataset_expectations",
        *_identity(),
        sa.Column("written_every", _string(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=True),
        sa.Column("paused_until", sa.BigInteger(), nullable=True),
        sa.Column("owner", _string(), nullable=True),
        sa.Column("tags", _json(), nullable=True),
        sa.Column("last_modified_date_time", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.SmallInteger(), nullable=False),
        sa.Column("changed_date_time", sa.BigInteger(), nullable=True),
        sa.Column("write_due_date_time", sa.BigInteger(), nullable=True),
        sa.Column("since", sa.BigInteger(), nullable=False),
        sa.Column("due", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.ForeignKeyConstraint(["tenant_id", "id"], ["datasets.tenant_id", "datasets.id"]),
    )
    op.create_index("ix_dataset_expectations_due", "dataset_expectations", ["due"])
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("incidents", "process_id", nullable=True)
        op.add_column("incidents", sa.Column("dataset_id", _string(), nullable=True))
        op.create_foreign_key(
            _DATASET_FK,
            "incidents",
            "datasets",
            ["tenant_id", "dataset_id"],
            ["tenant_id", "id"],
        )
        op.create_index(
            "ix_incidents_dataset_opened",
            "incidents",
            ["tenant_id", "dataset_id", "opened_date_time", "id"],
        )
    else:
        _rebuild_incidents(process_nullable=True)
    freshness.install(op.get_bind())


def downgrade() -> None:
    freshness.uninstall(op.get_bind())
    op.execute("DELETE FROM incidents WHERE process_id IS NULL")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_incidents_dataset_opened", table_name="incidents")
        op.drop_constraint(_DATASET_FK, "incidents", type_="foreignkey")
        op.drop_column("incidents", "dataset_id")
        op.alter_column("incidents", "process_id", nullable=False)
    else:
        _rebuild_incidents(process_nullable=False)
    op.drop_index("ix_dataset_expectations_due", table_name="dataset_expectations")
    op.drop_table("dataset_expectations")
