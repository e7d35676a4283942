"""A process's health state: indexed as a page ordered or filtered by it reads it, and each of
its changes recorded in the change log as a change of the process.

Revision ID: 0012
Revises: 0011

A page of processes ordered by health (``health/state desc``, the dashboard's worst first) or
filtered by it reads each process's state from its expectation's row by the process's key; the
index holds the key and the state together, so the read never visits the row itself.
"""

from __future__ import annotations

from alembic import op

from flowruns.store import changes

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_expectations_state", "expectations", ["tenant_id", "id", "state"])
    changes.install_health_triggers(op.get_bind())


def downgrade() -> None:
    changes.uninstall_health_triggers(op.get_bind())
    op.drop_index("ix_expectations_state", table_name="expectations")
