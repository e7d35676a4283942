"""A process's health on its own row, indexed, and each change of it in the change log.

Revision ID: 0012
Revises: 0011

A page of processes ordered or filtered by health (the dashboard's worst first: ``health/state
desc,displayName asc,id asc``) read each process's state from its expectation's row, one lookup
per process of the tenant, and sorted them all: no index of one table held both the state and
the name. ``processes.health_state`` is a copy of the expectation's ``state`` (null without
one), kept by the triggers that also record each change of it as a change of the process
(``HEALTH_TRIGGERS`` in ``flowruns.store.changes``), and ``ix_processes_health`` holds the
order itself. Existing rows get their copy here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from flowruns.store import changes

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("processes", sa.Column("health_state", sa.SmallInteger()))
    op.execute(
        "UPDATE processes SET health_state = (SELECT e.state FROM expectations AS e "
        "WHERE e.tenant_id = processes.tenant_id AND e.id = processes.id)"
    )
    # SQLite puts nulls last descending already and takes no NULLS clause in an index.
    nulls = " NULLS LAST" if op.get_bind().dialect.name == "postgresql" else ""
    state = sa.text(f"health_state DESC{nulls}")
    op.create_index("ix_processes_health", "processes", ["tenant_id", state, "display_name", "id"])
    changes.install_health_triggers(op.get_bind())


def downgrade() -> None:
    changes.uninstall_health_triggers(op.get_bind())
    op.drop_index("ix_processes_health", table_name="processes")
    op.drop_column("processes", "health_state")
