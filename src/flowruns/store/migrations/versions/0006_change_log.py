"""The change log (``changes``, ``change_baselines``, ``change_log``), kept by triggers.

Revision ID: 0006
Revises: 0005

Changes made before this revision are not in the log: the first delta round of a client
reads the current state anyway, and no delta token exists yet.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from flowruns.store import changes

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _string(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade() -> None:
    op.create_table(
        "changes",
        sa.Column("tenant_id", _string(36), nullable=False),
        sa.Column("entity_set", _string(16), nullable=False),
        sa.Column("txn", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("entity_id", _string(36), nullable=False),
        sa.Column("type", _string(64), nullable=False),
        sa.Column("changed", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "entity_set", "txn", "position"),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_changes_entity",
        "changes",
        ["tenant_id", "entity_set", "entity_id", "txn", "position"],
    )
    op.create_table(
        "change_baselines",
        sa.Column("tenant_id", _string(36), nullable=False),
        sa.Column("entity_set", _string(16), nullable=False),
        sa.Column("txn", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "entity_set"),
    )
    op.create_table(
        "change_log",
        sa.Column("epoch", _string(32), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("epoch"),
    )
    changes.install(op.get_bind(), changes.FIRST_ENTITY_SETS)


def downgrade() -> None:
    changes.uninstall(op.get_bind(), changes.FIRST_ENTITY_SETS)
    op.drop_table("change_log")
    op.drop_table("change_baselines")
    op.drop_index("ix_changes_entity", "changes")
    op.drop_table("changes")
