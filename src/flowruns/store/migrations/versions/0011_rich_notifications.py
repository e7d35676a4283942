"""Rich notifications and notification formats: what a subscription asks for, and how each
queued notification is sent.

Revision ID: 0011
Revises: 0009

Only nullable columns are added: subscriptions created before this revision send Graph's basic
notifications, as they did, and rows queued before it are Graph's.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _string(length: int | None = None) -> sa.types.TypeEngine[str]:
    if length is None:
        return sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


_SUBSCRIPTION_COLUMNS = (
    ("include_resource_data", sa.SmallInteger()),
    ("encryption_certificate", _string()),
    ("encryption_certificate_id", _string()),
    ("notification_format", _string(16)),
    ("creator_reads", _string()),
)
_QUEUE_COLUMNS = (
    ("format", _string(16)),
    ("applications", _string()),
    ("subscription_id", _string(36)),
)


def upgrade() -> None:
    # Not in batch mode: SQLite adds a nullable column in place.
    for name, type_ in _SUBSCRIPTION_COLUMNS:
        op.add_column("subscriptions", sa.Column(name, type_, nullable=True))
    for name, type_ in _QUEUE_COLUMNS:
        op.add_column("notifications", sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    for name, _ in _QUEUE_COLUMNS:
        op.drop_column("notifications", name)
    for name, _ in _SUBSCRIPTION_COLUMNS:
        op.drop_column("subscriptions", name)
