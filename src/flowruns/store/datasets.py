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

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, delete, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from flowruns.edm.industrydata import dataset_access_direction, run_status
from flowruns.records import Record
from flowruns.store import entities
from flowruns.store.database import is_writing
from flowruns.store.dialect import dialect_of
from flowruns.store.entities import ACCESS_TABLE, DATASET_TABLE
from flowruns.store.schema import dataset_accesses, datasets

OUTPUT = dataset_access_direction.value_of("output")
_SUCCESSFUL = ", ".join(str(run_status.value_of(s)) for s in ("completed", "completedWithWarnings"))


def _latest(row: str, column: str) -> str:
    """SQL for ``column`` of the latest successful write of the dataset of access ``row``."""
    return (
        f"(SELECT a.{column} FROM dataset_accesses a WHERE a.tenant_id = {row}.tenant_id "
        f"AND a.dataset_id = {row}.dataset_id AND a.direction = {OUTPUT} "
        f"AND a.run_status IN ({_SUCCESSFUL}) AND a.run_end_date_time IS NOT NULL "
        "ORDER BY a.run_end_date_time DESC, a.run_id DESC LIMIT 1)"
    )


def _refresh(row: str, differs: str, etag: str) -> str:
    """SQL that sets the freshness of the dataset of access ``row`` (a new ETag when it
    changes)."""
    end, run = _latest(row, "run_end_date_time"), _latest(row, "run_id")
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


# Each trigger and the table it is on.
TRIGGERS = {
    "dataset_accesses_run": "runs",
    "datasets_written_insert": "dataset_accesses",
    "datasets_written_update": "dataset_accesses",
    "datasets_written_delete": "dataset_accesses",
}
_INSTALL = {"sqlite": _sqlite_statements, "postgresql": _postgresql_statements}


def install(connection: Connection) -> None:
    """Create the triggers that keep accesses and freshness current (the tables exist)."""
    for statement in _INSTALL[dialect_of(connection).name]():
        connection.execute(text(statement))


def uninstall(connection: Connection) -> None:
    """Drop what :func:`install` created."""
    postgresql = dialect_of(connection).name == "postgresql"
    for trigger, table in TRIGGERS.items():
        connection.exec_driver_sql(
            f"DROP TRIGGER {trigger}" + (f" ON {table}" if postgresql else "")
        )
    if postgresql:
        connection.exec_driver_sql("DROP FUNCTION dataset_accesses_run(), datasets_written()")


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


def find_or_add(connection: Connection, tenant: str, new: Record) -> tuple[Record, bool]:
    """The tenant's dataset of ``new``'s namespace and name, and whether it is ``new``, inserted
    now (its triggers record the creation in the change log)."""
    namespace, name = new.values["namespace"], new.values["name"]
    existing = find(connection, tenant, namespace, name)
    if existing is not None:
        return existing, False
    row = {
        DATASET_TABLE.columns[n].column.name: DATASET_TABLE.columns[n].to_db(v)
        for n, v in new.values.items()
    }
    row.update(tenant_id=tenant, id=new.id, type=new.type.name, etag=new.etag)
    inserted = connection.execute(
        _insert(connection)
        .values(row)
        .on_conflict_do_nothing(index_elements=["tenant_id", "namespace", "name"])
        .returning(datasets.c.id)
    ).first()
    found = find(connection, tenant, namespace, name)
    assert found is not None
    return found, inserted is not None


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
    connection: Connection, tenant: str, run_id: str, direction: str, dataset_id: str
) -> Record | None:
    a = dataset_accesses.c
    statement = select(dataset_accesses).where(
        a.tenant_id == tenant,
        a.run_id == run_id,
        a.direction == dataset_access_direction.value_of(direction),
        a.dataset_id == dataset_id,
    )
    row = connection.execute(statement).first()
    return None if row is None else entities.to_record(ACCESS_TABLE, row)


def accesses_of_run(connection: Connection, tenant: str, run_id: str) -> list[Record]:
    a = dataset_accesses.c
    statement = select(dataset_accesses).where(a.tenant_id == tenant, a.run_id == run_id)
    return [entities.to_record(ACCESS_TABLE, row) for row in connection.execute(statement)]


def delete_accesses(connection: Connection, tenant: str, access_ids: Sequence[str]) -> None:
    a = dataset_accesses.c
    connection.execute(
        delete(dataset_accesses).where(a.tenant_id == tenant, a.id.in_(sorted(access_ids)))
    )
