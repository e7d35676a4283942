"""A process's health in the change log: each change of it recorded as a change of the process.

Revision ID: 0012
Revises: 0011

A reader of processes (``processes/delta()``, change notifications, the dashboard's live views)
learns that a process's health changed, incident or not; see ``HEALTH_TRIGGERS`` in
``flowruns.store.changes``.

No index of the health state comes with it: a page of processes ordered or filtered by health
reads each process's state by its key, which the expectation's primary key already answers, and
its order mixes the state with the process's own name, which no index of one table holds. An
index of (tenant, key, state) was measured at 10,000 processes: SQLite's planner keeps the
primary key, and PostgreSQL's index-only scan of it was no faster (58 ms against 52 ms).
"""

from __future__ import annotations

from alembic import op

from flowruns.store import changes

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    changes.install_health_triggers(op.get_bind())


def downgrade() -> None:
    changes.uninstall_health_triggers(op.get_bind())
