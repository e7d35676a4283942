"""An index of runs by end time, for any filter ordered by ``endDateTime``.

Revision ID: 0009
Revises: 0008

Nulls sort first ascending and last descending in flowruns' order; PostgreSQL indexes put
them last ascending unless told, so there the column is ``NULLS FIRST`` and the index serves
both directions (SQLite orders nulls first already and takes no ``NULLS`` clause in an index).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    end: str | sa.TextClause = "end_date_time"
    if op.get_bind().dialect.name == "postgresql":
        end = sa.text("end_date_time NULLS FIRST")
    op.create_index("ix_runs_end", "runs", ["tenant_id", end, "id"])


def downgrade() -> None:
    op.drop_index("ix_runs_end", table_name="runs")
