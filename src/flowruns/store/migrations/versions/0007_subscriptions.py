"""Change notifications: each change's kind in the log, subscriptions and the delivery queue.

Revision ID: 0007
Revises: 0006

Changes logged before this revision read as updates (``kind`` 1): the log did not say.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from flowruns.store import changes

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _string(length: int | None = None) -> sa.types.TypeEngine[str]:
    if length is None:
        return sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade() -> None:
    # Not in batch mode: SQLite adds a column with a default in place, keeping the triggers.
    op.add_column(
        "changes", sa.Column("kind", sa.SmallInteger(), nullable=False, server_default="1")
    )
    changes.reinstall_triggers(op.get_bind(), changes.FIRST_ENTITY_SETS)
    op.create_table(
        "subscriptions",
        sa.Column("tenant_id", _string(36), nullable=False),
        sa.Column("id", _string(36), nullable=False),
        sa.Column("resource", _string(), nullable=False),
        sa.Column("entity_set", _string(16), nullable=False),
        sa.Column("change_type", _string(64), nullable=False),
        sa.Column("notification_url", _string(), nullable=False),
        sa.Column("lifecycle_notification_url", _string(), nullable=True),
        sa.Column("client_state", _string(128), nullable=True),
        sa.Column("expiration_date_time", sa.BigInteger(), nullable=False),
        sa.Column("application_id", _string(256), nullable=False),
        sa.Column("creator_id", _string(256), nullable=False),
        sa.Column("latest_supported_tls_version", _string(16), nullable=True),
        sa.Column("notification_content_type", _string(64), nullable=True),
        sa.Column("token_expires", sa.BigInteger(), nullable=False),
        sa.Column("reauthorization_sent", sa.SmallInteger(), nullable=False),
        sa.Column("cursor_txn", sa.BigInteger(), nullable=False),
        sa.Column("cursor_position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
    )
    op.create_table(
        "notifications",
        sa.Column("tenant_id", _string(36), nullable=False),
        sa.Column("id", _string(36), nullable=False),
        sa.Column("url", _string(), nullable=False),
        sa.Column(
            "items", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("lifecycle", sa.SmallInteger(), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("due", sa.BigInteger(), nullable=False),
        sa.Column("attempts", sa.SmallInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
    )
    op.create_index("ix_notifications_due", "notifications", ["due"])


def downgrade() -> None:
    op.drop_index("ix_notifications_due", "notifications")
    op.drop_table("notifications")
    op.drop_table("subscriptions")
