"""OpenLineage ingestion: the events received (``lineage_events``), the runs known from them
(``lineage_runs``), and the job of an ``openLineageJob`` process, unique per tenant.

Revision ID: 0008
Revises: 0007

The columns are added with a plain ``ALTER TABLE … ADD COLUMN`` on both engines (never SQLite's
table copy, which would drop the change log's triggers on ``processes``).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _string(length: int | None = None) -> sa.types.TypeEngine[str]:
    if length is None:
        return sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.add_column("processes", sa.Column("job_namespace", _string(), nullable=True))
    op.add_column("processes", sa.Column("job_name", _string(), nullable=True))
    op.create_index(
        "ux_processes_job",
        "processes",
        ["tenant_id", "job_namespace", "job_name"],
        unique=True,
    )
    op.create_table(
        "lineage_events",
        sa.Column("tenant_id", _string(36), nullable=False),
        sa.Column("digest", _string(64), nullable=False),
        sa.Column("run_id", _string(36), nullable=True),
        sa.Column("kind", _string(8), nullable=False),
        sa.Column("event_type", _string(8), nullable=True),
        sa.Column("event_time", sa.BigInteger(), nullable=True),
        sa.Column("received", sa.BigInteger(), nullable=False),
        sa.Column("event", _json(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "digest"),
    )
    op.create_index(
        "ix_lineage_events_run", "lineage_events", ["tenant_id", "run_id", "event_time"]
    )
    op.create_table(
        "lineage_runs",
        sa.Column("tenant_id", _string(36), nullable=False),
        sa.Column("run_id", _string(36), nullable=False),
        sa.Column("job_namespace", _string(), nullable=True),
        sa.Column("job_name", _string(), nullable=True),
        sa.Column("parent_run_id", _string(36), nullable=True),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("facets", _json(), nullable=False),
        sa.Column("applied", _json(), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "run_id"),
    )


def downgrade() -> None:
    op.drop_table("lineage_runs")
    op.drop_index("ix_lineage_events_run", table_name="lineage_events")
    op.drop_table("lineage_events")
    op.drop_index("ux_processes_job", table_name="processes")
    # Plain DROP COLUMN on both engines (SQLite 3.35 and later): a table copy would drop the
    # change log's triggers on processes.
    op.drop_column("processes", "job_name")
    op.drop_column("processes", "job_namespace")
