"""A dataset's accesses by the run's status: the downstream of failed writes answered by seeks.

Revision ID: 0015
Revises: 0014

"Which runs read a dataset that a failed run wrote before they started" probes, for each run, the
writes of its inputs' datasets; ``ix_dataset_accesses_dataset`` (dataset, direction, start) made
each probe read every write of the dataset up to the read and test its status, so its cost grew
with the history. ``ix_dataset_accesses_status`` holds the status before the start.
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_dataset_accesses_status",
        "dataset_accesses",
        ["tenant_id", "dataset_id", "direction", "run_status", "run_start_date_time"],
    )


def downgrade() -> None:
    op.drop_index("ix_dataset_accesses_status", table_name="dataset_accesses")
