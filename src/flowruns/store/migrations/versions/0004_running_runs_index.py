"""A partial index of running runs by last touch, for the stale-run check.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# runStatus 'running' is stored as 0.
_RUNNING = sa.text("status = 0")


def upgrade() -> None:
    op.create_index(
        "ix_runs_running_touched",
        "runs",
        ["tenant_id", "touched"],
        sqlite_where=_RUNNING,
        postgresql_where=_RUNNING,
    )


def downgrade() -> None:
    op.drop_index("ix_runs_running_touched", table_name="runs")
