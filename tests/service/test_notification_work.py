"""The background work of notifications takes no write transaction while there is nothing to do:
on SQLite every write transaction takes the one writer of the process."""

from __future__ import annotations

from sqlalchemy import Connection, event

from flowruns.api.app import open_database
from flowruns.edm.datetimes import now_ticks
from flowruns.service import dispatching, notifications
from flowruns.settings import Settings
from flowruns.store.database import is_writing


def test_nobody_subscribed_and_nothing_owed_takes_no_write_transaction(settings: Settings) -> None:
    db = open_database(settings)
    commits: list[Connection] = []

    def committed(connection: Connection) -> None:
        if is_writing(connection):
            commits.append(connection)

    event.listen(db.engine, "commit", committed)
    try:
        now = now_ticks()
        dispatched = dispatching.dispatch(db, now, now + 10_000_000, [])
        assert dispatched.claimed == []
        assert not dispatched.more
        assert notifications.lifecycle(db, now) == 0
        assert notifications.claim(db, now, 30.0, 10, []) == []
        assert commits == []
    finally:
        db.dispose()
