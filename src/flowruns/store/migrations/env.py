"""How Alembic runs flowruns' migrations: on the connection :mod:`flowruns.store.migrate` hands it.

Run from the command line (``alembic -c alembic.ini …``, for writing a new revision), it connects
to ``FLOWRUNS_DATABASE_URL`` instead.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection

from flowruns.store.database import make_engine
from flowruns.store.migrations import compare_type
from flowruns.store.schema import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=compare_type,
        # SQLite alters a table by copying it; batch mode writes migrations that way.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


given: Connection | None = context.config.attributes.get("connection")
if given is not None:
    _run(given)
else:
    engine = make_engine(os.environ["FLOWRUNS_DATABASE_URL"])
    with engine.connect() as opened:
        _run(opened)
    engine.dispose()
