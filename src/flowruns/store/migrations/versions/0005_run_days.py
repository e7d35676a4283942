"""Runs counted per day, type and status (``run_days``), kept by triggers.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from flowruns.store import rollup

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _string(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "run_days",
        sa.Column("tenant_id", _string(36), nullable=False),
        sa.Column("start_date_time", sa.BigInteger(), nullable=False),
        sa.Column("type", _string(64), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("slot", sa.SmallInteger(), nullable=False),
        sa.Column("runs", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "start_date_time", "type", "status", "slot"),
    )
    connection = op.get_bind()
    rollup.recount(connection)
    rollup.install(connection)


def downgrade() -> None:
    connection = op.get_bind()
    rollup.uninstall(connection)
    op.drop_table("run_days")
