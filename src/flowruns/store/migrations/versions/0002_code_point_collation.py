"""Strings compare and sort by code point on PostgreSQL too: every text column COLLATE "C".

SQLite's BINARY collation already sorts by code point, so there this revision changes nothing.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# (table, column, type) of every string column of revision 0001.
_IDENTITY = [
    ("tenant_id", sa.String(36)),
    ("id", sa.String(36)),
    ("type", sa.String(64)),
    ("etag", sa.String(32)),
]
_COLUMNS = {
    "processes": [*_IDENTITY, ("display_name", sa.Text()), ("share_name", sa.Text())],
    "runs": [*_IDENTITY, ("process_id", sa.String(36)), ("display_name", sa.Text())],
    "run_group_members": [
        ("tenant_id", sa.String(36)),
        ("group_id", sa.String(36)),
        ("run_id", sa.String(36)),
    ],
    "idempotency_keys": [
        ("tenant_id", sa.String(36)),
        ("key", sa.String(255)),
        ("request_hash", sa.String(64)),
    ],
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in _COLUMNS.items():
        for name, type_ in columns:
            collated = type_.copy()
            assert isinstance(collated, sa.String)
            collated.collation = "C"
            op.alter_column(table, name, type_=collated, existing_type=type_)
