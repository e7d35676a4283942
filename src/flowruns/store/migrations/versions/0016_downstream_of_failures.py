"""The runs downstream of a failure kept with each run: ``runs.read_after_failed_write``, its
partial index in the runs' order, and the triggers that keep it (store/downstream.py).

Revision ID: 0016
Revises: 0015

"Which runs read a dataset that a failed run wrote before they started" probed the runs newest
first until a page of them matched, so a page cost what the matches' rarity cost. Kept with each
run, it is a range of ``ix_runs_read_after_failed_write``. The column is computed for the runs
already there before the triggers keep it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from flowruns.store import downstream

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_FLAGGED = "read_after_failed_write = true"
_FLAGGED_SQLITE = "read_after_failed_write = 1"


def upgrade() -> None:
    # Not in batch mode: SQLite adds a column with a default in place, keeping the triggers.
    op.add_column(
        "runs",
        sa.Column(
            "read_after_failed_write", sa.Boolean(), nullable=False, server_default=sa.false()
        ),
    )
    downstream.refresh(op.get_bind())
    op.create_index(
        "ix_runs_read_after_failed_write",
        "runs",
        ["tenant_id", "read_after_failed_write", "start_date_time", "id"],
        sqlite_where=sa.text(_FLAGGED_SQLITE),
        postgresql_where=sa.text(_FLAGGED),
    )
    downstream.install(op.get_bind())


def downgrade() -> None:
    downstream.uninstall(op.get_bind())
    op.drop_index("ix_runs_read_after_failed_write", table_name="runs")
    op.drop_column("runs", "read_after_failed_write")
