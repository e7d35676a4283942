"""The statements of OpenLineage ingestion: events kept once, the per-run row that serialises
the writers of one run, the job's process found or created once, and a run turned into a run
group. Every statement is bound to one tenant.

Find-or-create is an insert that skips a row already there (``ON CONFLICT DO NOTHING`` on both
engines) followed by a read: two writers creating the same row at once both end up reading the
one that was committed, and the second never fails on the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, Table, select, update
from sqlalchemy.dialects import postgresql, sqlite

from flowruns.records import Record
from flowruns.store.database import is_writing
from flowruns.store.entities import PROCESS_TABLE
from flowruns.store.schema import lineage_events, lineage_runs, processes, runs


def _insert(connection: Connection, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An insert that can skip a row whose key is taken, in the engine's own syntax."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


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
    connection.execute(
        _insert(connection, lineage_runs)
        .values(tenant_id=tenant, run_id=run_id, events=0, facets={})
        .on_conflict_do_nothing(index_elements=["tenant_id", "run_id"])
    )
    c = lineage_runs.c
    statement = select(lineage_runs).where(c.tenant_id == tenant, c.run_id == run_id)
    if is_writing(connection):
        statement = statement.with_for_update()
    row = connection.execute(statement).one()
    return _lineage_run(row)


def _lineage_run(row: Row[Any]) -> LineageRun:
    return LineageRun(
        run_id=row.run_id,
        job_namespace=row.job_namespace,
        job_name=row.job_name,
        parent_run_id=row.parent_run_id,
        events=row.events,
        facets=row.facets,
        applied=row.applied,
    )


def save_run(connection: Connection, tenant: str, run: LineageRun) -> None:
    c = lineage_runs.c
    connection.execute(
        update(lineage_runs)
        .where(c.tenant_id == tenant, c.run_id == run.run_id)
        .values(
            job_namespace=run.job_namespace,
            job_name=run.job_name,
            parent_run_id=run.parent_run_id,
            events=run.events,
            facets=run.facets,
            applied=run.applied,
        )
    )


def read_run(connection: Connection, tenant: str, run_id: str) -> LineageRun | None:
    """The ingestion row of a run, or None for a run no event named."""
    c = lineage_runs.c
    row = connection.execute(
        select(lineage_runs).where(c.tenant_id == tenant, c.run_id == run_id)
    ).first()
    if row is None:
        return None
    return _lineage_run(row)


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
    result = connection.execute(
        _insert(connection, lineage_events)
        .values(
            tenant_id=tenant,
            digest=digest,
            kind=kind,
            run_id=run_id,
            event_type=event_type,
            event_time=event_time,
            received=received,
            event=event,
        )
        .on_conflict_do_nothing(index_elements=["tenant_id", "digest"])
        # RETURNING says whether the row went in: through psycopg, the row count of this
        # statement read 0 even for an inserted row.
        .returning(lineage_events.c.digest)
    )
    return result.first() is not None


def run_events(connection: Connection, tenant: str, run_id: str) -> list[StoredEvent]:
    """Every event kept of a run, in no particular order (the replay orders them)."""
    c = lineage_events.c
    rows = connection.execute(
        select(c.digest, c.event_type, c.event_time, c.event).where(
            c.tenant_id == tenant, c.run_id == run_id
        )
    )
    return [StoredEvent(r.digest, r.event_type, r.event_time, r.event) for r in rows]


def find_or_add_job(connection: Connection, tenant: str, new: Record) -> str:
    """The id of the tenant's process of the job that ``new`` (an ``openLineageJob`` record)
    names by its ``jobNamespace`` and ``jobName``; ``new`` is inserted when there is none (and
    its triggers record the creation in the change log)."""
    c = processes.c
    namespace, name = new.values["jobNamespace"], new.values["jobName"]
    found = select(c.id).where(
        c.tenant_id == tenant, c.job_namespace == namespace, c.job_name == name
    )
    existing = connection.execute(found).scalar()
    if existing is not None:
        return str(existing)
    spec = PROCESS_TABLE
    row = {spec.columns[n].column.name: spec.columns[n].to_db(v) for n, v in new.values.items()}
    row.update(tenant_id=tenant, id=new.id, type=new.type.name, etag=new.etag)
    connection.execute(
        _insert(connection, processes)
        .values(**row)
        .on_conflict_do_nothing(index_elements=["tenant_id", "job_namespace", "job_name"])
    )
    return str(connection.execute(found).scalar_one())


def set_run_type(connection: Connection, tenant: str, run_id: str, type_name: str) -> None:
    """Store the run as another run type (a run becomes a run group once a child names it)."""
    connection.execute(
        update(runs).where(runs.c.tenant_id == tenant, runs.c.id == run_id).values(type=type_name)
    )
