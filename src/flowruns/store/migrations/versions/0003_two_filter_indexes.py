"""Indexes for two filters at once in the default order: type and status, process and status.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_INDEXES = {
    "ix_runs_type_status_start": ["tenant_id", "type", "status", "start_date_time", "id"],
    "ix_runs_process_status_start": ["tenant_id", "process_id", "status", "start_date_time", "id"],
}


def upgrade() -> None:
    for name, columns in _INDEXES.items():
        op.create_index(name, "runs", columns)


def downgrade() -> None:
    for name in _INDEXES:
        op.drop_index(name, table_name="runs")
