"""The schema of the first release, before flowruns versioned its schema.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _guid(name: str, *, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.String(36), nullable=nullable)


def _identity() -> list[sa.Column[str]]:
    return [
        _guid("tenant_id"),
        _guid("id"),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("etag", sa.String(32), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "processes",
        *_identity(),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("readiness_status", sa.SmallInteger(), nullable=True),
        sa.Column("share_name", sa.Text(), nullable=True),
        sa.Column("invitee_user_ids", JSON, nullable=True),
        sa.Column("sharing_state", sa.SmallInteger(), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
    )
    op.create_index("ix_processes_name", "processes", ["tenant_id", "display_name", "id"])

    op.create_table(
        "runs",
        *_identity(),
        sa.Column("touched", sa.BigInteger(), nullable=False),
        _guid("process_id", nullable=True),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("start_date_time", sa.BigInteger(), nullable=False),
        sa.Column("end_date_time", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("blocking_error", JSON, nullable=True),
        sa.Column("statistics", JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "process_id"], ["processes.tenant_id", "processes.id"]
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
    )
    op.create_index("ix_runs_start", "runs", ["tenant_id", "start_date_time", "id"])
    op.create_index(
        "ix_runs_status_start", "runs", ["tenant_id", "status", "start_date_time", "id"]
    )
    op.create_index("ix_runs_type_start", "runs", ["tenant_id", "type", "start_date_time", "id"])
    op.create_index(
        "ix_runs_process_start", "runs", ["tenant_id", "process_id", "start_date_time", "id"]
    )

    op.create_table(
        "run_group_members",
        _guid("tenant_id"),
        _guid("group_id"),
        _guid("run_id"),
        sa.ForeignKeyConstraint(["tenant_id", "group_id"], ["runs.tenant_id", "runs.id"]),
        sa.ForeignKeyConstraint(["tenant_id", "run_id"], ["runs.tenant_id", "runs.id"]),
        sa.PrimaryKeyConstraint("tenant_id", "group_id", "run_id"),
    )
    op.create_index("ix_run_group_members_run", "run_group_members", ["tenant_id", "run_id"])

    op.create_table(
        "idempotency_keys",
        _guid("tenant_id"),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("created", sa.BigInteger(), nullable=False),
        sa.Column("entity", JSON, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "key"),
    )
    op.create_index("ix_idempotency_keys_created", "idempotency_keys", ["tenant_id", "created"])
