"""The statements of OpenLineage ingestion: events kept once, the per-run row that serialises
the writers of one run, the job's process found or created once, and a run turned into a run
group. Every statement is bound to one tenant.

Find-or-create is an insert that skips a row already there (``ON CONFLICT DO NOTHING`` on both
engines) followed by a read: two writers creating the same row at once both end up reading the
one that was committed, and the second never fails on the key.

The statements an event runs every time are built once per engine, with their values as
parameters, and run through :func:`~flowruns.store.queries.fetch` (on SQLite, compiled once and
executed on the driver's cursor): building and hashing a new statement for every event cost
more than running it, and executing one through SQLAlchemy about twice what SQLite took.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import Connection, Table, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert, Update
from sqlalchemy.sql.selectable import Select

from flowruns.records import Record
from flowruns.store.entities import PROCESS_TABLE, RUN_TABLE, TableSpec
from flowruns.store.queries import fetch
from flowruns.store.schema import lineage_events, lineage_runs, processes, runs


def _insert(engine: str, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An insert that can skip a row whose key is taken, in the engine's own syntax."""
    if engine == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


@dataclass(frozen=True)
class _Statements:
    """One engine's statements, each run with its values as parameters."""

    lock_run: Insert
    save_run: Update
    read_run: Select[Any]
    add_event: Insert
    run_events: Select[Any]
    find_job: Select[Any]
    add_job: Insert
    add_run: Insert


@cache
def _statements(engine: str) -> _Statements:
    runs_c, events_c, jobs_c = lineage_runs.c, lineage_events.c, processes.c
    # Made when missing, and locked either way: on a row already there the update changes
    # nothing but takes the row's lock (PostgreSQL), as SELECT … FOR UPDATE would.
    lock = _insert(engine, lineage_runs)
    lock_run = lock.on_conflict_do_update(
        index_elements=[runs_c.tenant_id, runs_c.run_id], set_={"events": runs_c.events}
    ).returning(*lineage_runs.c)
    this_run = (runs_c.tenant_id == bindparam("key_tenant"), runs_c.run_id == bindparam("key_run"))
    return _Statements(
        lock_run=lock_run,
        save_run=update(lineage_runs).where(*this_run),
        read_run=select(lineage_runs).where(*this_run),
        add_event=_insert(engine, lineage_events)
        .on_conflict_do_nothing(index_elements=["tenant_id", "digest"])
        # RETURNING says whether the row went in: through psycopg, the row count of this
        # statement read 0 even for an inserted row.
        .returning(events_c.digest),
        run_events=select(
            events_c.digest, events_c.event_type, events_c.event_time, events_c.event
        ).where(events_c.tenant_id == bindparam("tenant"), events_c.run_id == bindparam("run")),
        find_job=select(jobs_c.id).where(
            jobs_c.tenant_id == bindparam("tenant"),
            jobs_c.job_namespace == bindparam("namespace"),
            jobs_c.job_name == bindparam("name"),
        ),
        add_job=_insert(engine, processes).on_conflict_do_nothing(
            index_elements=["tenant_id", "job_namespace", "job_name"]
        ),
        add_run=_insert(engine, runs)
        .on_conflict_do_nothing(index_elements=["tenant_id", "id"])
        .returning(runs.c.id),
    )


def _of(connection: Connection) -> _Statements:
    return _statements(connection.dialect.name)


@dataclass(frozen=True)
class StoredEvent:
    """One run event as stored: its key, type, time and the event itself."""

    digest: str
    event_type: str | None
    event_time: int
    event: dict[str, Any]


@dataclass
class LineageRun:
    """What ingestion keeps of a run beside its row in ``runs``."""

    run_id: str
    job_namespace: str | None
    job_name: str | None
    parent_run_id: str | None
    events: int
    facets: dict[str, Any]
    applied: dict[str, Any] | None


def lock_run(connection: Connection, tenant: str, run_id: str) -> LineageRun:
    """The run's ingestion row, made when missing and locked until the transaction ends: the
    writers of one run's events take turns, so each replays every event committed before it."""
    (row,) = fetch(
        connection,
        _of(connection).lock_run,
        {"tenant_id": tenant, "run_id": run_id, "events": 0, "facets": {}},
    )
    return _lineage_run(row)


def _lineage_run(row: Sequence[Any]) -> LineageRun:
    """The run of a row holding every column of ``lineage_runs``, in the table's order."""
    _, run_id, job_namespace, job_name, parent_run_id, events, facets, applied = row
    return LineageRun(run_id, job_namespace, job_name, parent_run_id, events, facets, applied)


def save_run(connection: Connection, tenant: str, run: LineageRun) -> None:
    fetch(
        connection,
        _of(connection).save_run,
        {
            "key_tenant": tenant,
            "key_run": run.run_id,
            "job_namespace": run.job_namespace,
            "job_name": run.job_name,
            "parent_run_id": run.parent_run_id,
            "events": run.events,
            "facets": run.facets,
            "applied": run.applied,
        },
    )


def read_run(connection: Connection, tenant: str, run_id: str) -> LineageRun | None:
    """The ingestion row of a run, or None for a run no event named."""
    rows = fetch(connection, _of(connection).read_run, {"key_tenant": tenant, "key_run": run_id})
    return _lineage_run(rows[0]) if rows else None


def add_event(
    connection: Connection,
    tenant: str,
    *,
    digest: str,
    kind: str,
    run_id: str | None,
    event_type: str | None,
    event_time: int | None,
    received: int,
    event: dict[str, Any],
) -> bool:
    """Keep an event; False when the same event (by digest) was kept before."""
    added = fetch(
        connection,
        _of(connection).add_event,
        {
            "tenant_id": tenant,
            "digest": digest,
            "kind": kind,
            "run_id": run_id,
            "event_type": event_type,
            "event_time": event_time,
            "received": received,
            "event": event,
        },
    )
    return bool(added)


def run_events(connection: Connection, tenant: str, run_id: str) -> list[StoredEvent]:
    """Every event kept of a run, in no particular order (the replay orders them)."""
    rows = fetch(connection, _of(connection).run_events, {"tenant": tenant, "run": run_id})
    return [StoredEvent(*row) for row in rows]


def find_job(connection: Connection, tenant: str, namespace: str, name: str) -> str | None:
    """The id of the tenant's process of the job ``namespace``, ``name``, or None."""
    job = {"tenant": tenant, "namespace": namespace, "name": name}
    found = fetch(connection, _of(connection).find_job, job)
    return str(found[0][0]) if found else None


def add_run(connection: Connection, tenant: str, record: Record) -> bool:
    """Insert the run ``record`` unless the tenant has a run of its id; whether it did (its
    triggers record the creation in the change log)."""
    row = _row(RUN_TABLE, tenant, record)
    row.update(process_id=record.process_id, touched=record.touched)
    return bool(fetch(connection, _of(connection).add_run, row))


def _row(spec: TableSpec, tenant: str, record: Record) -> dict[str, Any]:
    row = {spec.columns[n].column.name: spec.columns[n].to_db(v) for n, v in record.values.items()}
    row.update(tenant_id=tenant, id=record.id, type=record.type.name, etag=record.etag)
    return row


def find_or_add_job(connection: Connection, tenant: str, new: Record) -> str:
    """The id of the tenant's process of the job that ``new`` (an ``openLineageJob`` record)
    names by its ``jobNamespace`` and ``jobName``; ``new`` is inserted when there is none (and
    its triggers record the creation in the change log)."""
    statements = _of(connection)
    namespace, name = new.values["jobNamespace"], new.values["jobName"]
    job = {"tenant": tenant, "namespace": namespace, "name": name}
    existing = fetch(connection, statements.find_job, job)
    if existing:
        return str(existing[0][0])
    fetch(connection, statements.add_job, _row(PROCESS_TABLE, tenant, new))
    ((found,),) = fetch(connection, statements.find_job, job)
    return str(found)


def set_run_type(connection: Connection, tenant: str, run_id: str, type_name: str) -> None:
    """Store the run as another run type (a run becomes a run group once a child names it)."""
    connection.execute(
        update(runs).where(runs.c.tenant_id == tenant, runs.c.id == run_id).values(type=type_name)
    )
