"""The statements of process health: a process's expectation row (its members, its health and
where its evaluation stands), the rows due for evaluation, a process's recent runs and open
incidents.

The evaluation picks due rows across tenants and locks them (``SKIP LOCKED`` on PostgreSQL, the
one write lock on SQLite), so each process is evaluated by one server process at a time and
its incidents are opened once.

**A run's change makes its process due.** Triggers on ``runs`` (an insert, an update that gives
the row a new ETag) bring the ``due`` of the run's process's expectation forward to at most
:data:`RUN_CHANGE_DELAY_SECONDS` from now, in the writing transaction, whatever code path writes; a
heartbeat (no new ETag) does not. The delay gathers the changes of a busy process into one
evaluation (a process written every few seconds is evaluated every 20, not after each write)
while a run's change is still judged well within 30 seconds. A process is otherwise evaluated
only when something is scheduled for it (an expected start, the end of a grace, of a pause or of
a run's maximum duration), so a pass takes the processes something happened to, not every
process. A process without an expectation has no row to update: the trigger costs its writes
one lookup by key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, Select, Table, delete, insert, select, update

from flowruns.edm.datetimes import TICKS_PER_SECOND
from flowruns.edm.industrydata import health_state
from flowruns.odata import semantic as s
from flowruns.records import Record
from flowruns.store import entities, queries
from flowruns.store.changes import PG_NOW, SQLITE_NOW
from flowruns.store.dialect import dialect_of
from flowruns.store.entities import (
    EXPECTATION_TABLE,
    INCIDENT_TABLE,
    RUN_TABLE,
    Scope,
    TableSpec,
    to_record,
)
from flowruns.store.schema import expectations, incidents, processes, runs
from flowruns.store.triggers import Triggers, all_on


@dataclass(frozen=True)
class Evaluation:
    """Where a process's evaluation stands, beside its expectation."""

    state: str
    changed: int
    next_expected: int | None
    since: int
    judged: int
    due: int

    def columns(self) -> dict[str, Any]:
        return {
            "state": health_state.value_of(self.state),
            "changed_date_time": self.changed,
            "next_expected_date_time": self.next_expected,
            "since": self.since,
            "judged": self.judged,
            "due": self.due,
        }


@dataclass(frozen=True)
class Watched:
    """A process with an expectation, as the evaluation reads it."""

    tenant: str
    expectation: Record
    evaluation: Evaluation
    process_name: str


def _watched(row: Row[Any]) -> Watched:
    m = row._mapping
    evaluation = Evaluation(
        state=health_state.members[m["state"]],
        changed=m["changed_date_time"],
        next_expected=m["next_expected_date_time"],
        since=m["since"],
        judged=m["judged"],
        due=m["due"],
    )
    record = to_record(EXPECTATION_TABLE, row)
    return Watched(m["tenant_id"], record, evaluation, m["process_name"])


def _with_name() -> Any:
    return select(expectations, processes.c.display_name.label("process_name")).join(
        processes,
        (processes.c.tenant_id == expectations.c.tenant_id) & (processes.c.id == expectations.c.id),
    )


def locked(
    connection: Connection, statement: Select[Any], table: Table, *, skip_locked: bool = False
) -> list[Row[Any]]:
    """The rows of ``statement``, each locked in ``table`` until the write transaction ends
    (``FOR UPDATE``; with ``skip_locked`` those another transaction holds are passed over). On
    SQLite the one write lock does it: the transaction holds it already."""
    if dialect_of(connection).concurrent_writers:
        statement = statement.with_for_update(of=table, skip_locked=skip_locked)
    return list(connection.execute(statement))


def get(connection: Connection, tenant: str, process_id: str) -> Watched | None:
    """The process's expectation and evaluation, locked in a write transaction."""
    e = expectations.c
    found = locked(
        connection, _with_name().where(e.tenant_id == tenant, e.id == process_id), expectations
    )
    return _watched(found[0]) if found else None


def due(connection: Connection, now: int, limit: int) -> list[Watched]:
    """Up to ``limit`` processes of any tenant due for evaluation at ``now``, locked; those
    another server process holds are passed over."""
    e = expectations.c
    statement = _with_name().where(e.due <= now).order_by(e.due).limit(limit)
    return [_watched(row) for row in locked(connection, statement, expectations, skip_locked=True)]


def save_row(
    connection: Connection,
    spec: TableSpec,
    tenant: str,
    expectation: Record,
    evaluated: dict[str, Any],
    *,
    created: bool,
) -> None:
    """Write an expectation (a process's, or with ``spec`` a dataset's) and the columns of its
    evaluation."""
    row = entities.row_values(spec, expectation.values)
    row.update(evaluated, etag=expectation.etag)
    if created:
        row.update(tenant_id=tenant, id=expectation.id, type=expectation.type.name)
        connection.execute(insert(spec.table).values(**row))
        return
    update_row(connection, spec.table, tenant, expectation.id, row)


def update_row(
    connection: Connection, table: Table, tenant: str, key: str, values: dict[str, Any]
) -> None:
    """Write the columns ``values`` of the expectation row ``key``."""
    connection.execute(
        update(table).where(table.c.tenant_id == tenant, table.c.id == key).values(**values)
    )


def save(
    connection: Connection,
    tenant: str,
    expectation: Record,
    evaluation: Evaluation,
    *,
    created: bool,
) -> None:
    """Write a process's expectation and its evaluation."""
    evaluated = evaluation.columns()
    save_row(connection, EXPECTATION_TABLE, tenant, expectation, evaluated, created=created)


@dataclass(frozen=True)
class Scheduled:
    """What a process's expected starts so far are read from: its schedule (with its time
    zone), since when they count, and the health the evaluation last found."""

    schedule: str | None
    time_zone: str | None
    since: int
    state: str
    next_expected: int | None


def scheduled(connection: Connection, tenant: str, keys: list[str]) -> dict[str, Scheduled]:
    """The schedules of the expectations of the processes ``keys``, by process."""
    e = expectations.c
    statement = select(
        e.id, e.schedule, e.time_zone, e.since, e.state, e.next_expected_date_time
    ).where(e.tenant_id == tenant, e.id.in_(keys))
    return {
        row.id: Scheduled(
            row.schedule,
            row.time_zone,
            row.since,
            health_state.members[row.state],
            row.next_expected_date_time,
        )
        for row in connection.execute(statement)
    }


def save_evaluation(connection: Connection, tenant: str, key: str, evaluation: Evaluation) -> None:
    update_row(connection, expectations, tenant, key, evaluation.columns())


def remove(connection: Connection, tenant: str, process_id: str, *, incidents_too: bool) -> None:
    """Delete a process's expectation (and, when the process goes, its incidents)."""
    connection.execute(
        delete(expectations).where(
            expectations.c.tenant_id == tenant, expectations.c.id == process_id
        )
    )
    if incidents_too:
        connection.execute(
            delete(incidents).where(
                incidents.c.tenant_id == tenant, incidents.c.process_id == process_id
            )
        )


def open_incidents(connection: Connection, tenant: str, owner: tuple[str, str]) -> list[Record]:
    """The open incidents of a process (``owner``: ``("process_id", key)``) or a dataset
    (``("dataset_id", key)``)."""
    column, key = owner
    statement = select(incidents).where(
        incidents.c.tenant_id == tenant,
        incidents.c[column] == key,
        incidents.c.resolved_date_time.is_(None),
    )
    return [to_record(INCIDENT_TABLE, row) for row in connection.execute(statement)]


def add_incident(connection: Connection, tenant: str, incident: Record) -> None:
    entities.insert_record(connection, INCIDENT_TABLE, tenant, incident)


def change_incident(
    connection: Connection, tenant: str, key: str, changes: dict[str, Any], etag: str
) -> None:
    entities.update_record(connection, INCIDENT_TABLE, tenant, key, changes, etag=etag)


def recent_runs(
    connection: Connection, tenant: str, process_id: str, until: int, limit: int
) -> list[Record]:
    """The process's latest ``limit`` runs started by ``until``, newest start first."""
    statement = (
        select(*RUN_TABLE.read)
        .where(
            runs.c.tenant_id == tenant,
            runs.c.process_id == process_id,
            runs.c.start_date_time <= until,
        )
        .order_by(runs.c.start_date_time.desc(), runs.c.id.desc())
        .limit(limit)
    )
    return [to_record(RUN_TABLE, row) for row in connection.execute(statement)]


def starts_from(
    connection: Connection, tenant: str, process_id: str, start: int, limit: int
) -> list[int]:
    """When the process's runs started (or will start) from ``start`` on, in order (at most
    ``limit``)."""
    column = runs.c.start_date_time
    statement = (
        select(column)
        .where(runs.c.tenant_id == tenant, runs.c.process_id == process_id, column >= start)
        .order_by(column)
        .limit(limit)
    )
    return [row[0] for row in connection.execute(statement)]


def satisfies(connection: Connection, tenant: str, run_id: str, rule: s.Expr) -> bool:
    """Whether the run ``run_id`` satisfies the ``$filter`` expression ``rule``."""
    scope = Scope(tenant, RUN_TABLE.root, ids=frozenset({run_id}))
    return queries.count(connection, scope, queries.Query(filter=rule)) > 0


RUN_CHANGE_DELAY_SECONDS = 20
_DELAY_TICKS = RUN_CHANGE_DELAY_SECONDS * TICKS_PER_SECOND
_SQLITE_SOON = f"{SQLITE_NOW} + {_DELAY_TICKS}"
_SQLITE_DUE = (
    f"UPDATE expectations SET due = {_SQLITE_SOON} "
    f"WHERE tenant_id = NEW.tenant_id AND id = NEW.process_id AND due > {_SQLITE_SOON};"
)
_PG_SOON = f"{PG_NOW} + {_DELAY_TICKS}"
# The triggers that make a process due when one of its runs changes.
TRIGGERS = Triggers(
    on=all_on("runs", "health_runs_insert", "health_runs_update"),
    create={
        "sqlite": [
            "CREATE TRIGGER health_runs_insert AFTER INSERT ON runs "
            f"WHEN NEW.process_id IS NOT NULL BEGIN {_SQLITE_DUE} END",
            "CREATE TRIGGER health_runs_update AFTER UPDATE OF etag ON runs "
            "WHEN NEW.process_id IS NOT NULL AND OLD.etag IS NOT NEW.etag "
            f"BEGIN {_SQLITE_DUE} END",
        ],
        "postgresql": [
            f"""CREATE FUNCTION health_run_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE expectations SET due = {_PG_SOON}
  WHERE tenant_id = NEW.tenant_id AND id = NEW.process_id AND due > {_PG_SOON};
  RETURN NULL;
END $$""",
            "CREATE TRIGGER health_runs_insert AFTER INSERT ON runs FOR EACH ROW "
            "WHEN (NEW.process_id IS NOT NULL) EXECUTE FUNCTION health_run_changed()",
            "CREATE TRIGGER health_runs_update AFTER UPDATE OF etag ON runs FOR EACH ROW "
            "WHEN (NEW.process_id IS NOT NULL AND OLD.etag IS DISTINCT FROM NEW.etag) "
            "EXECUTE FUNCTION health_run_changed()",
        ],
    },
    functions=("health_run_changed",),
)
install, uninstall = TRIGGERS.install, TRIGGERS.uninstall
