"""Lineage as data: datasets (``datasets``) and each run's access to each (``dataset_accesses``),
dataset changes recorded in the change log, and the triggers that keep an access's copy of its
run and a dataset's freshness current.

Revision ID: 0013
Revises: 0011

The OpenLineage events already stored are replayed into datasets and accesses, as their
ingestion would now record them.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from flowruns.edm.datetimes import now_ticks
from flowruns.store import changes, datasets
from flowruns.store.schema import NullsFirst

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None


def _string(length: int | None = None) -> sa.types.TypeEngine[str]:
    if length is None:
        return sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(JSONB(), "postgresql")


def _identity() -> list[sa.Column[Any]]:
    return [
        sa.Column("tenant_id", _string(36), nullable=False),
        sa.Column("id", _string(36), nullable=False),
        sa.Column("type", _string(64), nullable=False),
        sa.Column("etag", _string(32), nullable=False),
    ]


# The values of a successful write (directions: input 0, output 1; statuses: completed 2,
# completedWithWarnings 4), as the partial index of successful writes keeps them.
_SUCCESSFUL_WRITE = "direction = 1 AND run_status IN (2, 4)"


def upgrade() -> None:
    table = op.create_table(
        "datasets",
        *_identity(),
        sa.Column("namespace", _string(), nullable=False),
        sa.Column("name", _string(), nullable=False),
        sa.Column("facets", _json(), nullable=True),
        sa.Column("created_date_time", sa.BigInteger(), nullable=False),
        sa.Column("last_modified_date_time", sa.BigInteger(), nullable=False),
        sa.Column("last_written_date_time", sa.BigInteger(), nullable=True),
        sa.Column("last_written_run_id", _string(), nullable=True),
        sa.Column("facet_stamps", _json(), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
    )
    op.create_index(
        "ux_datasets_namespace_name", "datasets", ["tenant_id", "namespace", "name"], unique=True
    )
    op.create_index("ix_datasets_name", "datasets", ["tenant_id", "name", "id"])
    op.create_index(
        "ix_datasets_last_written",
        "datasets",
        [table.c.tenant_id, NullsFirst(table.c.last_written_date_time), table.c.id],
    )
    op.create_table(
        "dataset_accesses",
        *_identity(),
        sa.Column("direction", sa.SmallInteger(), nullable=False),
        sa.Column("dataset_id", _string(), nullable=False),
        sa.Column("namespace", _string(), nullable=False),
        sa.Column("name", _string(), nullable=False),
        sa.Column("run_id", _string(), nullable=False),
        sa.Column("run_status", sa.SmallInteger(), nullable=False),
        sa.Column("run_start_date_time", sa.BigInteger(), nullable=False),
        sa.Column("run_end_date_time", sa.BigInteger(), nullable=True),
        sa.Column("row_count", sa.BigInteger(), nullable=True),
        sa.Column("byte_count", sa.BigInteger(), nullable=True),
        sa.Column("file_count", sa.BigInteger(), nullable=True),
        sa.Column("facets", _json(), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.ForeignKeyConstraint(["tenant_id", "run_id"], ["runs.tenant_id", "runs.id"]),
        sa.ForeignKeyConstraint(["tenant_id", "dataset_id"], ["datasets.tenant_id", "datasets.id"]),
    )
    op.create_index(
        "ux_dataset_accesses_run",
        "dataset_accesses",
        ["tenant_id", "run_id", "direction", "name", "namespace"],
        unique=True,
    )
    op.create_index(
        "ix_dataset_accesses_dataset",
        "dataset_accesses",
        ["tenant_id", "dataset_id", "direction", "run_start_date_time", "id"],
    )
    op.create_index(
        "ix_dataset_accesses_name",
        "dataset_accesses",
        ["tenant_id", "name", "direction", "run_start_date_time", "id", "run_id"],
    )
    written = sa.text(_SUCCESSFUL_WRITE)
    op.create_index(
        "ix_dataset_accesses_written",
        "dataset_accesses",
        ["tenant_id", "dataset_id", "run_end_date_time"],
        sqlite_where=written,
        postgresql_where=written,
    )
    changes.install_table_triggers(op.get_bind(), "datasets")
    datasets.install(op.get_bind())
    datasets.backfill(op.get_bind(), now_ticks())


def downgrade() -> None:
    datasets.uninstall(op.get_bind())
    changes.uninstall_table_triggers(op.get_bind(), "datasets")
    op.drop_table("dataset_accesses")
    op.drop_table("datasets")
