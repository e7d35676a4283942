"""Process health: each process's expectation and health (``expectations``) and the incidents
its evaluation opens and resolves (``incidents``), recorded in the change log.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from flowruns.store import changes, health

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _string(length: int | None = None) -> sa.types.TypeEngine[str]:
    if length is None:
        return sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(JSONB(), "postgresql")


def _identity() -> list[sa.Column[Any]]:
    return [
        sa.Column("tenant_id", _string(36), nullable=False),
        sa.Column("id", _string(36), nullable=False),
        sa.Column("type", _string(64), nullable=False),
        sa.Column("etag", _string(32), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "expectations",
        *_identity(),
        sa.Column("schedule", _string(), nullable=True),
        sa.Column("time_zone", _string(), nullable=True),
        sa.Column("grace", _string(), nullable=True),
        sa.Column("max_duration", _string(), nullable=True),
        sa.Column("duration_anomaly", sa.Float(), nullable=True),
        sa.Column("success_rule", _string(), nullable=True),
        sa.Column("failure_streak", sa.BigInteger(), nullable=True),
        sa.Column("paused", sa.Boolean(), nullable=True),
        sa.Column("paused_until", sa.BigInteger(), nullable=True),
        sa.Column("owner", _string(), nullable=True),
        sa.Column("tags", _json(), nullable=True),
        sa.Column("last_modified_date_time", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.SmallInteger(), nullable=False),
        sa.Column("changed_date_time", sa.BigInteger(), nullable=True),
        sa.Column("next_expected_date_time", sa.BigInteger(), nullable=True),
        sa.Column("since", sa.BigInteger(), nullable=False),
        sa.Column("judged", sa.BigInteger(), nullable=False),
        sa.Column("due", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.ForeignKeyConstraint(["tenant_id", "id"], ["processes.tenant_id", "processes.id"]),
    )
    op.create_index("ix_expectations_due", "expectations", ["due"])
    op.create_index("ix_expectations_owner", "expectations", ["tenant_id", "owner", "state"])
    op.create_table(
        "incidents",
        *_identity(),
        sa.Column("process_id", _string(36), nullable=False),
        sa.Column("kind", sa.SmallInteger(), nullable=False),
        sa.Column("run_id", _string(), nullable=True),
        sa.Column("opened_date_time", sa.BigInteger(), nullable=False),
        sa.Column("resolved_date_time", sa.BigInteger(), nullable=True),
        sa.Column("expected_date_time", sa.BigInteger(), nullable=True),
        sa.Column("occurrences", sa.BigInteger(), nullable=False),
        sa.Column("message", _string(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "process_id"], ["processes.tenant_id", "processes.id"]
        ),
    )
    op.create_index("ix_incidents_opened", "incidents", ["tenant_id", "opened_date_time", "id"])
    op.create_index(
        "ix_incidents_process_opened",
        "incidents",
        ["tenant_id", "process_id", "opened_date_time", "id"],
    )
    open_only = sa.text("resolved_date_time IS NULL")
    op.create_index(
        "ix_incidents_open",
        "incidents",
        ["tenant_id", "process_id"],
        sqlite_where=open_only,
        postgresql_where=open_only,
    )
    changes.install_table_triggers(op.get_bind(), "incidents")
    health.install(op.get_bind())


def downgrade() -> None:
    health.uninstall(op.get_bind())
    changes.uninstall_table_triggers(op.get_bind(), "incidents")
    op.drop_table("incidents")
    op.drop_table("expectations")
