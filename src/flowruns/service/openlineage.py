"""OpenLineage ingestion: each event kept, and its run's state replayed from all its events.

One event is one write transaction. A job or dataset event is only kept. A run event:

1. locks its run's ingestion row (made when missing), so the events of one run are applied one
   at a time and each replay sees every event committed before it;
2. is kept, once: an event received again changes nothing;
3. its run's events are replayed (:mod:`flowruns.service.lineage_replay`), and the run — whose
   id is the event's ``runId`` — is created or changed to match, linked to its job's process
   (an ``openLineageJob``, found or created by the job's namespace and name). An event that
   sorts after every event of its run, as emitters send them, is folded into where the last
   replay stopped, which the run's ingestion row keeps; only a late event reads all the run's
   events back and replays them;
4. a ``parent`` facet makes the parent run a run group holding this run: a parent no event has
   named yet is created as a placeholder group, which the parent's own events later fill.

The replay decides the run's status and times, with two exceptions that keep "finished is
final" for what did not come from events: a run an API write finished stays as that write left
it, and a run the stale-run rule failed (``runTimedOut``) stays failed until a terminal event
replaces the failure — emitters send no heartbeats, so the timeout was only a guess. Members
of ``statistics`` the facets give replace those of the same name; the others stay.
"""

from __future__ import annotations

import uuid
from typing import Any

from flowruns.edm.datetimes import now_ticks
from flowruns.edm.industrydata import (
    FINISHED_STATUSES,
    RUNS,
    open_lineage_job,
    outgoing_flow_run,
    run_group,
)
from flowruns.records import ProcessLink, Record, new_etag
from flowruns.service.lineage_replay import Event, Fold, Job, RunState
from flowruns.service.openlineage_events import LineageEvent, read_event
from flowruns.service.stale import RUN_TIMED_OUT
from flowruns.store import datasets, entities, lineage
from flowruns.store.database import Database, Transaction
from flowruns.store.entities import RUN_TABLE, Scope

# The member of a run's ``applied`` that holds where the replay of its events stands
# (:meth:`Fold.kept`), so that the next event in order is folded in without reading them back.
_FOLD = "fold"
# The member of a run's ``applied`` naming the statistics members its events gave.
_STATISTICS = "statisticsMembers"


def receive(db: Database, tenant: str, raw: bytes) -> Record | None:
    """Read the event in ``raw`` (a 400 naming what is wrong with it, nothing stored), keep it
    and apply it: :func:`read_event`, then :func:`ingest`."""
    return ingest(db, tenant, read_event(raw))


def ingest(db: Database, tenant: str, event: LineageEvent) -> Record | None:
    """Keep ``event`` and apply it; the run it changed (None for a job or dataset event)."""
    now = now_ticks()
    with db.writing() as connection:
        if event.run_id is None:
            lineage.add_event(
                connection,
                tenant,
                digest=event.digest,
                kind=event.kind,
                run_id=None,
                event_type=None,
                event_time=event.time,
                received=now,
                event=event.body,
            )
            datasets.from_event(connection, tenant, event.body, [event.time, event.digest], now)
            return None
        run = lineage.lock_run(connection, tenant, event.run_id)
        added = lineage.add_event(
            connection,
            tenant,
            digest=event.digest,
            kind=event.kind,
            run_id=event.run_id,
            event_type=event.event_type,
            event_time=event.time,
            received=now,
            event=event.body,
        )
        # No event named the run before, not even as a parent: it is most likely new.
        fresh = added and run.events == 0 and run.job_name is None
        record = None if fresh else _run(connection, tenant, event.run_id)
        if not added and record is not None:
            return record
        fold, events = _fold(connection, tenant, run, event, added)
        state = fold.state()
        created = _create(connection, tenant, run, state, now) if fresh else None
        if created is not None:
            record = created
        else:
            if fresh:
                record = _run(connection, tenant, event.run_id)
            record = _apply(connection, tenant, run, record, state, now, run.facets != state.facets)
        run.job_namespace, run.job_name = state.job.namespace, state.job.name
        run.events = events
        run.facets = state.facets
        assert run.applied is not None
        run.applied[_FOLD] = fold.kept()
        if state.parent is not None and state.parent.run_id != run.run_id:
            run.parent_run_id = state.parent.run_id
            _join_parent(connection, tenant, state, record, now)
        lineage.save_run(connection, tenant, run)
        datasets.from_event(connection, tenant, event.body, [event.time, event.digest], now)
        datasets.sync_run(connection, tenant, record, state.facets, now, event.body)
        return record


def _fold(
    connection: Transaction, tenant: str, run: lineage.LineageRun, event: LineageEvent, added: bool
) -> tuple[Fold, int]:
    """The fold of the run's events with ``event``, and how many they are.

    A new event that sorts after every event of its run is folded into what the last replay
    stored (as the emitters send them, nearly every event); the run's first event is all there
    is; any other event (a late one) replays all the run's events, read back.
    """
    assert event.event_type is not None
    new = Event(event.digest, event.event_type, event.time, event.body)
    if added and run.events == 0:
        return Fold.of([new]), 1
    kept = (run.applied or {}).get(_FOLD)
    if added and kept is not None and run.job_namespace is not None and run.job_name is not None:
        fold = Fold.resume(run.facets, Job(run.job_namespace, run.job_name), kept)
        if fold.follows(new):
            fold.add(new)
            return fold, run.events + 1
    stored = lineage.run_events(connection, tenant, run.run_id)
    fold = Fold.of(Event(e.digest, e.event_type or "OTHER", e.event_time, e.event) for e in stored)
    return fold, len(stored)


def _run(connection: Transaction, tenant: str, run_id: str) -> Record | None:
    return entities.get(connection, Scope(tenant, RUNS.type), run_id)


def _process(connection: Transaction, tenant: str, job: Job) -> str:
    """The id of the job's process, created when the tenant has none."""
    values: dict[str, Any] = {
        "displayName": job.name[:256],
        "readinessStatus": None,
        "jobNamespace": job.namespace,
        "jobName": job.name,
    }
    new = Record(type=open_lineage_job, id=str(uuid.uuid4()), etag=new_etag(), values=values)
    return lineage.find_or_add_job(connection, tenant, new)


def _decided(
    current: dict[str, Any], applied: dict[str, Any] | None, state: RunState
) -> dict[str, Any]:
    """The status, times and blocking error the run takes: the replay's, unless the run was
    finished by something other than events (see the module's docstring)."""
    replayed = state.run_values()
    own = {name: current[name] for name in replayed}
    finished_elsewhere = own["status"] in FINISHED_STATUSES and own != {
        name: (applied or {}).get(name) for name in replayed
    }
    if not finished_elsewhere:
        return replayed
    timed_out = (own["blockingError"] or {}).get("code") == RUN_TIMED_OUT
    if timed_out and state.status in FINISHED_STATUSES:
        return replayed
    return own


def _apply(
    connection: Transaction,
    tenant: str,
    run: lineage.LineageRun,
    record: Record | None,
    state: RunState,
    now: int,
    facets_changed: bool,
) -> Record:
    """Create or change the run to match ``state``; remember what the replay decided. New
    facets are a change of the run too (a new ETag), since they are read with it."""
    # A run keeps the process it is linked to: look the job's up only for a run without one.
    linked = record.process_id if record is not None else None
    process_id = linked if linked is not None else _process(connection, tenant, state.job)
    if record is None:
        record = _new_run(run, state, process_id, now)
        entities.insert_record(connection, RUN_TABLE, tenant, record)
    else:
        target = _decided(record.values, run.applied, state)
        # Facet members replace those of the same name; a member the events gave before and
        # no longer give (the errors a later data-quality facet no longer reports) goes, and
        # the writer's own members stay.
        given = (run.applied or {}).get(_STATISTICS, ())
        statistics = {
            k: v for k, v in record.values["statistics"].items() if k not in given
        } | state.statistics
        target["statistics"] = statistics
        if run.applied is None or run.applied.get("displayName") != state.display_name:
            target["displayName"] = state.display_name
        changes = {k: v for k, v in target.items() if record.values.get(k) != v}
        link = ProcessLink(process_id) if record.process_id is None else None
        etag = new_etag() if changes or link is not None or facets_changed else None
        entities.update_record(
            connection,
            RUN_TABLE,
            tenant,
            record.id,
            changes,
            etag=etag,
            process=link,
            touched=now,
        )
        record.values.update(changes)
        record.etag = etag or record.etag
        record.process_id = record.process_id or process_id
        record.touched = now
    run.applied = _applied(state)
    return record


def _create(
    connection: Transaction, tenant: str, run: lineage.LineageRun, state: RunState, now: int
) -> Record | None:
    """The run, created from its first event, when its job has a process and the tenant has
    no run of its id yet (one written through the API may have it); else None, and nothing
    is written."""
    process_id = lineage.find_job(connection, tenant, state.job.namespace, state.job.name)
    if process_id is None:
        return None
    record = _new_run(run, state, process_id, now)
    if not lineage.add_run(connection, tenant, record):
        return None
    run.applied = _applied(state)
    return record


def _new_run(run: lineage.LineageRun, state: RunState, process_id: str, now: int) -> Record:
    values = {
        "displayName": state.display_name,
        **state.run_values(),
        "statistics": dict(state.statistics),
    }
    return Record(
        type=outgoing_flow_run,
        id=run.run_id,
        etag=new_etag(),
        values=values,
        process_id=process_id,
        touched=now,
    )


def _applied(state: RunState) -> dict[str, Any]:
    """What the replay decided, as the run's ingestion row remembers it."""
    return {
        **state.run_values(),
        "displayName": state.display_name,
        _STATISTICS: sorted(state.statistics),
    }


def _join_parent(
    connection: Transaction, tenant: str, state: RunState, child: Record, now: int
) -> None:
    """Make the parent run a run group holding ``child``; a placeholder group when no event of
    the parent came yet."""
    assert state.parent is not None
    parent_id = state.parent.run_id
    parent_run = lineage.lock_run(connection, tenant, parent_id)
    group = _run(connection, tenant, parent_id)
    if group is None:
        values = {
            "displayName": state.parent.job.name[:256],
            "status": "running",
            "startDateTime": state.start,
            "endDateTime": None,
            "blockingError": None,
            "statistics": {},
        }
        group = Record(
            type=run_group,
            id=parent_id,
            etag=new_etag(),
            values=values,
            process_id=_process(connection, tenant, state.parent.job),
            touched=now,
        )
        entities.insert_record(connection, RUN_TABLE, tenant, group)
        parent_run.job_namespace = state.parent.job.namespace
        parent_run.job_name = state.parent.job.name
        lineage.save_run(connection, tenant, parent_run)
    elif group.type is not run_group:
        if parent_run.events == 0 and parent_run.applied is None:
            return  # a run written through the API, not from events: its type stays
        lineage.set_run_type(connection, tenant, parent_id, run_group.name)
    changes: dict[str, Any] = {}
    if parent_run.events == 0 and state.start < group.values["startDateTime"]:
        # A placeholder starts with its earliest child, until its own events say otherwise.
        changes["startDateTime"] = state.start
    added = entities.add_member(connection, tenant, parent_id, child.id)
    if added or changes or group.type is not run_group:
        entities.update_record(
            connection, RUN_TABLE, tenant, parent_id, changes, etag=new_etag(), touched=now
        )


def facets_of(db: Database, tenant: str, run_id: str) -> dict[str, Any] | None:
    """The facets of a run recorded from events (run, job, inputs, outputs), or None."""
    with db.reading() as connection:
        run = lineage.read_run(connection, tenant, run_id)
    return None if run is None or run.events == 0 else run.facets
