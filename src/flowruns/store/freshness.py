"""The statements of dataset freshness: a dataset's freshness expectation (its members, the
state the evaluation last found and where it stands), the expectations due for evaluation, and
the trigger that makes a dataset due when its freshness changes.

As for process health (store/health.py), the evaluation picks due rows across tenants and locks
them (``SKIP LOCKED`` on PostgreSQL, the one write lock on SQLite), so each dataset is evaluated
by one server process at a time and its incidents are opened once.

**A successful write makes its dataset due.** The database keeps a dataset's
``last_written_date_time`` (store/datasets.py); a trigger on it brings the ``due`` of the
dataset's expectation forward to at most :data:`WRITE_DELAY_SECONDS` from now, in the writing
transaction, so a stale incident resolves within seconds of the write that ends it, whatever
code path recorded the write. Otherwise a dataset is evaluated when it would go stale, when a
pause ends, and at the latest hourly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, delete, select

from flowruns.edm.datetimes import TICKS_PER_SECOND
from flowruns.edm.industrydata import freshness_state
from flowruns.records import Record
from flowruns.store.changes import PG_NOW, SQLITE_NOW
from flowruns.store.entities import FRESHNESS_TABLE, to_record
from flowruns.store.health import locked, save_row, update_row
from flowruns.store.schema import dataset_expectations, datasets
from flowruns.store.triggers import Triggers, all_on


@dataclass(frozen=True)
class Evaluation:
    """Where a dataset's evaluation stands, beside its expectation's members."""

    state: str
    changed: int
    write_due: int | None
    since: int
    due: int

    def columns(self) -> dict[str, Any]:
        return {
            "state": freshness_state.value_of(self.state),
            "changed_date_time": self.changed,
            "write_due_date_time": self.write_due,
            "since": self.since,
            "due": self.due,
        }


@dataclass(frozen=True)
class Watched:
    """A dataset with a freshness expectation, as the evaluation reads it."""

    tenant: str
    expectation: Record
    evaluation: Evaluation
    name: str
    last_written: int | None
    last_written_run: str | None


def _watched(row: Row[Any]) -> Watched:
    m = row._mapping
    evaluation = Evaluation(
        state=freshness_state.members[m["state"]],
        changed=m["changed_date_time"],
        write_due=m["write_due_date_time"],
        since=m["since"],
        due=m["due"],
    )
    return Watched(
        m["tenant_id"],
        to_record(FRESHNESS_TABLE, row),
        evaluation,
        m["dataset_name"],
        m["dataset_written"],
        m["dataset_written_run"],
    )


def _with_dataset() -> Any:
    e, d = dataset_expectations.c, datasets.c
    return select(
        dataset_expectations,
        d.name.label("dataset_name"),
        d.last_written_date_time.label("dataset_written"),
        d.last_written_run_id.label("dataset_written_run"),
    ).join(datasets, (d.tenant_id == e.tenant_id) & (d.id == e.id))


def get(connection: Connection, tenant: str, dataset_id: str) -> Watched | None:
    """The dataset's expectation and evaluation, locked in a write transaction."""
    e = dataset_expectations.c
    statement = _with_dataset().where(e.tenant_id == tenant, e.id == dataset_id)
    found = locked(connection, statement, dataset_expectations)
    return _watched(found[0]) if found else None


def due(connection: Connection, now: int, limit: int) -> list[Watched]:
    """Up to ``limit`` datasets of any tenant due for evaluation at ``now``, locked; those
    another server process holds are passed over."""
    e = dataset_expectations.c
    statement = _with_dataset().where(e.due <= now).order_by(e.due).limit(limit)
    found = locked(connection, statement, dataset_expectations, skip_locked=True)
    return [_watched(row) for row in found]


def save(
    connection: Connection,
    tenant: str,
    expectation: Record,
    evaluation: Evaluation,
    *,
    created: bool,
) -> None:
    """Write a dataset's expectation and its evaluation."""
    evaluated = evaluation.columns()
    save_row(connection, FRESHNESS_TABLE, tenant, expectation, evaluated, created=created)


def save_evaluation(
    connection: Connection, tenant: str, key: str, evaluation: Evaluation, etag: str | None
) -> None:
    """Write an evaluation; with ``etag`` (the state changed) the expectation's new version."""
    values = evaluation.columns()
    if etag is not None:
        values["etag"] = etag
    update_row(connection, dataset_expectations, tenant, key, values)


def remove(connection: Connection, tenant: str, dataset_id: str) -> None:
    connection.execute(
        delete(dataset_expectations).where(
            dataset_expectations.c.tenant_id == tenant, dataset_expectations.c.id == dataset_id
        )
    )


WRITE_DELAY_SECONDS = 5
_DELAY_TICKS = WRITE_DELAY_SECONDS * TICKS_PER_SECOND
_SQLITE_SOON = f"{SQLITE_NOW} + {_DELAY_TICKS}"
_PG_SOON = f"{PG_NOW} + {_DELAY_TICKS}"
# The trigger that makes a dataset due when its freshness changes.
TRIGGERS = Triggers(
    on=all_on("datasets", "freshness_written"),
    create={
        "sqlite": [
            "CREATE TRIGGER freshness_written AFTER UPDATE OF last_written_date_time ON datasets "
            "WHEN OLD.last_written_date_time IS NOT NEW.last_written_date_time BEGIN "
            f"UPDATE dataset_expectations SET due = {_SQLITE_SOON} "
            f"WHERE tenant_id = NEW.tenant_id AND id = NEW.id AND due > {_SQLITE_SOON}; END",
        ],
        "postgresql": [
            f"""CREATE FUNCTION freshness_written() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE dataset_expectations SET due = {_PG_SOON}
  WHERE tenant_id = NEW.tenant_id AND id = NEW.id AND due > {_PG_SOON};
  RETURN NULL;
END $$""",
            "CREATE TRIGGER freshness_written AFTER UPDATE OF last_written_date_time ON datasets "
            "FOR EACH ROW "
            "WHEN (OLD.last_written_date_time IS DISTINCT FROM NEW.last_written_date_time) "
            "EXECUTE FUNCTION freshness_written()",
        ],
    },
    functions=("freshness_written",),
)
install, uninstall = TRIGGERS.install, TRIGGERS.uninstall
