"""The statements of lineage as data: datasets found or created once by (namespace, name), their
facets merged by name, and each run's access to each dataset. Every statement is bound to one
tenant.

**Kept by the database.** An access copies its run's status and times, so that "the runs that
wrote X last week" is one range of an index on accesses; triggers keep the copy current when
the run changes, in the same transaction, whichever code path changes it (the API, OpenLineage
ingestion, the stale-run check). A dataset's freshness (``lastWrittenDateTime``,
``lastWrittenRunId``: the latest successful run that wrote it) is kept by triggers on the
accesses the same way, read from a partial index of successful writes; when it changes the
dataset gets a new ETag, which the change log records.

Find-or-create is an insert that skips a row already there (``ON CONFLICT DO NOTHING``)
followed by a read, as for an OpenLineage job's process (store/lineage.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, exists, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from flowruns.edm.industrydata import (
    dataset,
    dataset_access,
    dataset_access_direction,
    run_status,
)
from flowruns.records import Record, new_etag
from flowruns.store import entities
from flowruns.store.database import is_writing
from flowruns.store.dialect import dialect_of
from flowruns.store.entities import ACCESS_TABLE, DATASET_TABLE, RUN_TABLE
from flowruns.store.schema import dataset_accesses, datasets, lineage_events, lineage_runs, runs
from flowruns.store.triggers import Triggers, all_on

OUTPUT = dataset_access_direction.value_of("output")
_SUCCESSFUL = ", ".join(str(run_status.value_of(s)) for s in ("completed", "completedWithWarnings"))


def _latest(tenant: str, dataset_id: str, column: str) -> str:
    """SQL for ``column`` of the latest successful write of the dataset ``dataset_id`` (SQL
    expressions, as is ``tenant``)."""
    return (
        f"(SELECT a.{column} FROM dataset_accesses a WHERE a.tenant_id = {tenant} "
        f"AND a.dataset_id = {dataset_id} AND a.direction = {OUTPUT} "
        f"AND a.run_status IN ({_SUCCESSFUL}) AND a.run_end_date_time IS NOT NULL "
        "ORDER BY a.run_end_date_time DESC, a.run_id DESC LIMIT 1)"
    )


def _refresh(row: str, differs: str, etag: str) -> str:
    """SQL that sets the freshness of the dataset of access ``row`` (a new ETag when it
    changes)."""
    key = (f"{row}.tenant_id", f"{row}.dataset_id")
    end, run = _latest(*key, "run_end_date_time"), _latest(*key, "run_id")
    return (
        f"UPDATE datasets SET last_written_date_time = {end}, last_written_run_id = {run}, "
        f"etag = {etag} WHERE tenant_id = {row}.tenant_id AND id = {row}.dataset_id "
        f"AND (last_written_date_time {differs} {end} OR last_written_run_id {differs} {run});"
    )


_RUN_COLUMNS = ("status", "start_date_time", "end_date_time")
_COPY = (
    "UPDATE dataset_accesses SET run_status = NEW.status, "
    "run_start_date_time = NEW.start_date_time, run_end_date_time = NEW.end_date_time "
    "WHERE tenant_id = NEW.tenant_id AND run_id = NEW.id;"
)
_WRITTEN = "run_status, run_end_date_time"


def _sqlite_statements() -> list[str]:
    etag = "lower(hex(randomblob(8)))"
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in _RUN_COLUMNS)
    new, old = _refresh("NEW", "IS NOT", etag), _refresh("OLD", "IS NOT", etag)
    return [
        f"CREATE TRIGGER dataset_accesses_run AFTER UPDATE OF {', '.join(_RUN_COLUMNS)} ON runs "
        f"WHEN {changed} BEGIN {_COPY} END",
        "CREATE TRIGGER datasets_written_insert AFTER INSERT ON dataset_accesses "
        f"WHEN NEW.direction = {OUTPUT} BEGIN {new} END",
        f"CREATE TRIGGER datasets_written_update AFTER UPDATE OF {_WRITTEN} ON dataset_accesses "
        f"WHEN NEW.direction = {OUTPUT} BEGIN {new} END",
        "CREATE TRIGGER datasets_written_delete AFTER DELETE ON dataset_accesses "
        f"WHEN OLD.direction = {OUTPUT} BEGIN {old} END",
    ]


def _postgresql_statements() -> list[str]:
    etag = "left(md5(random()::text), 16)"
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in _RUN_COLUMNS)
    refresh = _refresh("r", "IS DISTINCT FROM", etag)
    return [
        "CREATE FUNCTION dataset_accesses_run() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        f"BEGIN {_COPY} RETURN NULL; END $$",
        "CREATE FUNCTION datasets_written() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        "DECLARE r record;\n"
        "BEGIN IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;\n"
        f"IF r.direction = {OUTPUT} THEN {refresh} END IF; RETURN NULL; END $$",
        f"CREATE TRIGGER dataset_accesses_run AFTER UPDATE OF {', '.join(_RUN_COLUMNS)} ON runs "
        f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION dataset_accesses_run()",
        "CREATE TRIGGER datasets_written_insert AFTER INSERT ON dataset_accesses "
        "FOR EACH ROW EXECUTE FUNCTION datasets_written()",
        f"CREATE TRIGGER datasets_written_update AFTER UPDATE OF {_WRITTEN} ON dataset_accesses "
        "FOR EACH ROW EXECUTE FUNCTION datasets_written()",
        "CREATE TRIGGER datasets_written_delete AFTER DELETE ON dataset_accesses "
        "FOR EACH ROW EXECUTE FUNCTION datasets_written()",
    ]


# The triggers that keep accesses and freshness current.
TRIGGERS = Triggers(
    on={
        "dataset_accesses_run": "runs",
        **all_on(
            "dataset_accesses",
            "datasets_written_insert",
            "datasets_written_update",
            "datasets_written_delete",
        ),
    },
    create={"sqlite": _sqlite_statements(), "postgresql": _postgresql_statements()},
    functions=("dataset_accesses_run", "datasets_written"),
)
install, uninstall = TRIGGERS.install, TRIGGERS.uninstall


def refresh(connection: Connection, tenant: str, dataset_ids: Iterable[str]) -> None:
    """Set the freshness of the tenant's datasets ``dataset_ids`` from their accesses, as the
    triggers would have: after a bulk load that went in without them (:func:`uninstall`), which
    computes each dataset's freshness once rather than at every write."""
    postgresql = dialect_of(connection).name == "postgresql"
    etag = "left(md5(random()::text), 16)" if postgresql else "lower(hex(randomblob(8)))"
    differs = "IS DISTINCT FROM" if postgresql else "IS NOT"
    key = ("datasets.tenant_id", "datasets.id")
    end, run = _latest(*key, "run_end_date_time"), _latest(*key, "run_id")
    statement = text(
        f"UPDATE datasets SET last_written_date_time = {end}, last_written_run_id = {run}, "
        f"etag = {etag} WHERE tenant_id = :tenant AND id = :id "
        f"AND (last_written_date_time {differs} {end} OR last_written_run_id {differs} {run})"
    )
    for dataset_id in dataset_ids:
        connection.execute(statement, {"tenant": tenant, "id": dataset_id})


def _insert(connection: Connection) -> postgresql.Insert | sqlite.Insert:
    if dialect_of(connection).name == "postgresql":
        return postgresql.insert(datasets)
    return sqlite.insert(datasets)


def find(connection: Connection, tenant: str, namespace: str, name: str) -> Record | None:
    """The tenant's dataset ``namespace``/``name``, locked in a write transaction."""
    statement = select(datasets).where(
        datasets.c.tenant_id == tenant, datasets.c.namespace == namespace, datasets.c.name == name
    )
    if is_writing(connection):
        statement = statement.with_for_update(of=datasets)
    row = connection.execute(statement).first()
    return None if row is None else entities.to_record(DATASET_TABLE, row)


def facet_stamps(connection: Connection, tenant: str, dataset_id: str) -> dict[str, Any]:
    """Per facet of the dataset, the stamp of the event that gave it (see :func:`merge`)."""
    stamps = connection.execute(
        select(datasets.c.facet_stamps).where(
            datasets.c.tenant_id == tenant, datasets.c.id == dataset_id
        )
    ).scalar_one()
    return dict(stamps or {})


def set_facets(
    connection: Connection,
    tenant: str,
    dataset: Record,
    facets: dict[str, Any],
    stamps: dict[str, Any],
    *,
    etag: str,
    now: int,
) -> None:
    """Store the dataset's merged facets and their stamps, as a change of the dataset."""
    connection.execute(
        update(datasets)
        .where(datasets.c.tenant_id == tenant, datasets.c.id == dataset.id)
        .values(facets=facets, facet_stamps=stamps, etag=etag, last_modified_date_time=now)
    )
    dataset.values.update(facets=facets, lastModifiedDateTime=now)
    dataset.etag = etag


def find_access(
    connection: Connection, tenant: str, run_id: str, direction: str, target: Record
) -> Record | None:
    """The run's access to the dataset ``target`` in ``direction``, if it has one."""
    a = dataset_accesses.c
    statement = select(dataset_accesses).where(
        a.tenant_id == tenant,
        a.run_id == run_id,
        a.direction == dataset_access_direction.value_of(direction),
        a.name == target.values["name"],
        a.namespace == target.values["namespace"],
    )
    row = connection.execute(statement).first()
    return None if row is None else entities.to_record(ACCESS_TABLE, row)


def find_or_add(connection: Connection, tenant: str, namespace: str, name: str, now: int) -> Record:
    """The tenant's dataset ``namespace``/``name``, created when it has none (its triggers
    record the creation in the change log)."""
    existing = find(connection, tenant, namespace, name)
    if existing is not None:
        return existing
    new = Record(
        type=dataset,
        id=str(uuid.uuid4()),
        etag=new_etag(),
        values={
            "namespace": namespace,
            "name": name,
            "facets": {},
            "createdDateTime": now,
            "lastModifiedDateTime": now,
            "lastWrittenDateTime": None,
            "lastWrittenRunId": None,
        },
    )
    row = {
        DATASET_TABLE.columns[n].column.name: DATASET_TABLE.columns[n].to_db(v)
        for n, v in new.values.items()
    }
    row.update(tenant_id=tenant, id=new.id, type=new.type.name, etag=new.etag)
    connection.execute(
        _insert(connection)
        .values(row)
        .on_conflict_do_nothing(index_elements=["tenant_id", "namespace", "name"])
    )
    found = find(connection, tenant, namespace, name)
    assert found is not None
    return found


def put_access(
    connection: Connection,
    tenant: str,
    run: Record,
    target: Record,
    direction: str,
    given: dict[str, Any],
) -> tuple[Record, bool]:
    """The run's access to ``target`` in ``direction`` with the counts and facets ``given``
    (replacing those of an earlier access), and whether it is new."""
    existing = find_access(connection, tenant, run.id, direction, target)
    if existing is not None:
        changes = {k: v for k, v in given.items() if existing.values.get(k) != v}
        if changes:
            etag = new_etag()
            entities.update_record(
                connection, ACCESS_TABLE, tenant, existing.id, changes, etag=etag
            )
            existing.values.update(changes)
            existing.etag = etag
        return existing, False
    record = Record(
        type=dataset_access,
        id=str(uuid.uuid4()),
        etag=new_etag(),
        values={
            "direction": direction,
            "datasetId": target.id,
            "namespace": target.values["namespace"],
            "name": target.values["name"],
            "runId": run.id,
            "runStatus": run.values["status"],
            "runStartDateTime": run.values["startDateTime"],
            "runEndDateTime": run.values["endDateTime"],
            **given,
        },
    )
    entities.insert_record(connection, ACCESS_TABLE, tenant, record)
    return record, True


# -- OpenLineage ------------------------------------------------------------------------------

# Where each count of an access is in OpenLineage's statistics facets.
_FACET_COUNTS = {"rowCount": "rowCount", "byteCount": "size", "fileCount": "fileCount"}


def merge_facets(
    connection: Connection,
    tenant: str,
    target: Record,
    facets: dict[str, Any],
    stamp: list[Any],
    now: int,
) -> None:
    """Merge ``facets`` (by name) into the dataset's: each replaces the dataset's facet of its
    name unless that came from a later event (``stamp``: [event time, digest])."""
    if not facets:
        return
    stamps = facet_stamps(connection, tenant, target.id)
    merged = dict(target.values.get("facets") or {})
    changed = False
    for name, facet in facets.items():
        if name in stamps and list(stamps[name]) > stamp:
            continue
        stamps[name] = stamp
        if merged.get(name) != facet:
            merged[name] = facet
            changed = True
    if changed:
        set_facets(connection, tenant, target, merged, stamps, etag=new_etag(), now=now)


def _counts(dataset_json: dict[str, Any], direction: str) -> dict[str, Any]:
    """The counts of an access from the dataset's ``inputStatistics`` or ``outputStatistics``
    facet, wherever the emitter put it (its per-run facets, or its own)."""
    name = f"{direction}Statistics"
    facet = (dataset_json.get(f"{direction}Facets") or {}).get(name)
    if not isinstance(facet, dict):
        facet = (dataset_json.get("facets") or {}).get(name)
    facet = facet if isinstance(facet, dict) else {}
    return {
        name: value if isinstance(value := facet.get(member), int) else None
        for name, member in _FACET_COUNTS.items()
    }


def _named(body: dict[str, Any], side: str) -> list[dict[str, Any]]:
    return [d for d in body.get(side) or () if isinstance(d, dict)]


def from_event(
    connection: Connection, tenant: str, body: dict[str, Any], stamp: list[Any], now: int
) -> None:
    """The datasets an event names (a run or job event's inputs and outputs, a dataset event's
    dataset), found or created, their facets merged."""
    named = [*_named(body, "inputs"), *_named(body, "outputs")]
    if isinstance(body.get("dataset"), dict):
        named.append(body["dataset"])
    for json in named:
        found = find_or_add(connection, tenant, json["namespace"], json["name"], now)
        merge_facets(connection, tenant, found, json.get("facets") or {}, stamp, now)


def sync_run(
    connection: Connection,
    tenant: str,
    run: Record,
    facets: dict[str, Any],
    now: int,
    body: dict[str, Any] | None = None,
) -> None:
    """Record the run's accesses as the replay of all its events gives them (``facets``: the
    replay's ``inputs`` and ``outputs``, merged over the events), each with its counts from the
    statistics facets and its per-run facets: those of the datasets the event ``body`` names,
    or with no body all of them. A dataset an event does not name keeps the access its last
    event gave."""
    for side, direction in (("inputs", "input"), ("outputs", "output")):
        named = (
            None
            if body is None
            else {(d.get("namespace"), d.get("name")) for d in _named(body, side)}
        )
        for json in facets.get(side) or ():
            if named is not None and (json["namespace"], json["name"]) not in named:
                continue
            found = find_or_add(connection, tenant, json["namespace"], json["name"], now)
            given = _counts(json, direction)
            given["facets"] = dict(json.get(f"{direction}Facets") or {})
            put_access(connection, tenant, run, found, direction, given)


def backfill(connection: Connection, now: int) -> None:
    """Record the datasets and accesses of the OpenLineage events already stored, as their
    ingestion would have: every event's datasets and facets, then each run's accesses from the
    replay its ingestion row keeps."""
    events = connection.execute(
        select(
            lineage_events.c.tenant_id,
            lineage_events.c.event_time,
            lineage_events.c.digest,
            lineage_events.c.event,
        )
    )
    for tenant, time, digest, body in events:
        from_event(connection, tenant, body, [time, digest], now)
    known = connection.execute(
        select(lineage_runs.c.tenant_id, lineage_runs.c.run_id, lineage_runs.c.facets).where(
            lineage_runs.c.events > 0,
            exists().where(
                runs.c.tenant_id == lineage_runs.c.tenant_id, runs.c.id == lineage_runs.c.run_id
            ),
        )
    ).all()
    for tenant, run_id, facets in known:
        row = connection.execute(
            select(*RUN_TABLE.read).where(runs.c.tenant_id == tenant, runs.c.id == run_id)
        ).one()
        sync_run(connection, tenant, entities.to_record(RUN_TABLE, row), facets, now)
