"""Entities by key: reading, inserting, changing and deleting rows of the entity tables.

Callers speak in properties and scopes (a tenant, an entity type, ``process_id``,
``group_id``); this module turns them into SQLAlchemy Core statements, always bound to one
tenant. Queries over many rows (filters, orders, pages, expansions) are
:mod:`flowruns.store.queries`; ``$apply`` is :mod:`flowruns.store.aggregating`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    ColumnElement,
    Connection,
    Insert,
    Row,
    Select,
    Table,
    Text,
    Update,
    and_,
    bindparam,
    case,
    cast,
    delete,
    exists,
    insert,
    or_,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.sql.expression import FromClause

from flowruns.edm.industrydata import (
    ACCESS_NAVIGATIONS,
    ACCESSES,
    DATASETS,
    EXPECTATIONS,
    FRESHNESS,
    HEALTH,
    INCIDENTS,
    PROCESSES,
    RUNS,
    dataset_access_direction,
)
from flowruns.edm.model import EntityType, EnumType
from flowruns.records import ProcessLink, Record
from flowruns.store.database import is_writing
from flowruns.store.dialect import dialect_of
from flowruns.store.schema import (
    ACCESS_COLUMNS,
    DATASET_COLUMNS,
    EXPECTATION_COLUMNS,
    FRESHNESS_COLUMNS,
    HEALTH_COLUMNS,
    INCIDENT_COLUMNS,
    PROCESS_COLUMNS,
    QUERY_ONLY,
    RUN_COLUMNS,
    PropertyColumn,
    dataset_accesses,
    dataset_expectations,
    datasets,
    expectations,
    incidents,
    processes,
    run_group_members,
    runs,
)


class TableSpec:
    """An entity table and the properties its columns hold."""

    def __init__(
        self,
        table: Table,
        columns: dict[str, PropertyColumn],
        root: EntityType,
        *,
        stored_as: str | None = None,
    ) -> None:
        """``stored_as``: the type name the rows carry, when they are another type's rows seen
        as ``root`` (a process's health is read from its expectation's row)."""
        self.table = table
        self.columns = columns
        self.root = root
        # Rows are read by position (``select(table)`` lists the columns in table order): per
        # stored type name, the type and, for each property its rows carry, the property name,
        # the column's position and the enum members to map a stored value back to a name.
        self.read = read_columns(table)
        at = {c.name: i for i, c in enumerate(self.read)}
        # For pages written straight out: JSON columns as their stored text, which the response
        # embeds unchanged (orjson.Fragment) instead of decoding and encoding it again.
        self.json_as_text = as_text(table)
        self.json_properties = frozenset(
            name for name, pc in columns.items() if isinstance(pc.column.type, JSON)
        )
        self.positions = (at["type"], at["id"], at["etag"], at.get("process_id"), at.get("touched"))
        # What identifies a row's entity without its values: what a rendered page's
        # expansions read (see identity_record).
        self.identity = [table.c.type, table.c.id, table.c.etag] + (
            [table.c.process_id] if "process_id" in at else []
        )
        # The keys of the entities an access leads to (its run and dataset), by property name.
        self.links: list[tuple[str, Column[Any]]] = [
            (name, columns[name].column) for name in ("runId", "datasetId") if name in columns
        ]
        self.identity += [column for _, column in self.links]
        # The condition on ``type`` that keeps the rows of each type and its subtypes: none
        # for the root, whose table holds nothing else.
        self.type_filters = {
            t.name: None if t is root else tuple(sorted(d.name for d in t.subtypes()))
            for t in root.subtypes()
        }
        self.readers: dict[str, tuple[EntityType, list[tuple[str, int, tuple[str, ...] | None]]]]
        self.readers = {
            t.name: (
                t,
                [
                    (p.name, at[columns[p.name].column.name], _members(columns[p.name]))
                    for p in t.properties
                    if p.name in columns and not p.key
                ],
            )
            for t in root.subtypes()
        }
        if stored_as is not None:
            self.readers[stored_as] = self.readers[root.name]


def read_columns(table: FromClause) -> list[ColumnElement[Any]]:
    """The columns of ``table`` (an entity table or an alias of one) a record is read from, in
    the table's order: all but those only queries read (``schema.QUERY_ONLY``)."""
    return [c for c in table.columns if c.name not in QUERY_ONLY]


def as_text(table: FromClause) -> list[ColumnElement[Any]]:
    """The columns a record is read from (:func:`read_columns`), JSON columns as their stored
    text."""
    return [
        cast(c, Text).label(c.name) if isinstance(c.type, JSON) else c for c in read_columns(table)
    ]


def _members(column: PropertyColumn) -> tuple[str, ...] | None:
    prop_type = column.property.type
    return prop_type.members if isinstance(prop_type, EnumType) else None


RUN_TABLE = TableSpec(runs, RUN_COLUMNS, RUNS.type)
PROCESS_TABLE = TableSpec(processes, PROCESS_COLUMNS, PROCESSES.type)
INCIDENT_TABLE = TableSpec(incidents, INCIDENT_COLUMNS, INCIDENTS.type)
# A process's expectation and its health share one row (keyed by the process): two views of it.
EXPECTATION_TABLE = TableSpec(expectations, EXPECTATION_COLUMNS, EXPECTATIONS.type)
HEALTH_TABLE = TableSpec(
    expectations, HEALTH_COLUMNS, HEALTH.type, stored_as=EXPECTATIONS.type.name
)
DATASET_TABLE = TableSpec(datasets, DATASET_COLUMNS, DATASETS.type)
FRESHNESS_TABLE = TableSpec(dataset_expectations, FRESHNESS_COLUMNS, FRESHNESS.type)
ACCESS_TABLE = TableSpec(dataset_accesses, ACCESS_COLUMNS, ACCESSES.type)
TABLES = (
    RUN_TABLE,
    PROCESS_TABLE,
    INCIDENT_TABLE,
    EXPECTATION_TABLE,
    HEALTH_TABLE,
    DATASET_TABLE,
    FRESHNESS_TABLE,
    ACCESS_TABLE,
)
# The tables whose changes the change log records, by name.
LOGGED_TABLES = {
    spec.table.name: spec for spec in (RUN_TABLE, PROCESS_TABLE, INCIDENT_TABLE, DATASET_TABLE)
}


# The single-valued navigations to entities of another table: the property of the source that
# holds the target's key (a run's or incident's process, an access's run and dataset, an
# incident's dataset).
LINKS = {"process": "processId", "run": "runId", "dataset": "datasetId"}


def link_column(navigation: str) -> str:
    """The column of a source row holding the key the navigation ``navigation`` leads to."""
    # An incident's dataset is in a column of the same name as an access's.
    return (
        "process_id"
        if navigation == "process"
        else ACCESS_TABLE.columns[LINKS[navigation]].column.name
    )


def linked_key(record: Record, navigation: str) -> str | None:
    """The key of the entity the single-valued navigation ``navigation`` of ``record`` leads
    to (None when it leads nowhere)."""
    if navigation == "process":
        return record.process_id
    key = record.values.get(LINKS[navigation])
    return None if key is None else str(key)


def spec_of(entity_type: EntityType) -> TableSpec:
    """The table entities of ``entity_type`` are stored in, and how."""
    return next(spec for spec in TABLES if entity_type.is_a(spec.root))


@dataclass(frozen=True)
class Scope:
    """Which rows a statement sees: ``tenant``'s entities of ``type`` (and of the types derived
    from it), and of those only a process's runs, a run group's members, some statuses, or
    some ids; of dataset accesses, those of one run or dataset (``parent``: the column linking
    them and its value) in one ``direction``."""

    tenant: str
    type: EntityType
    process_id: str | None = None
    group_id: str | None = None
    statuses: frozenset[str] | None = None
    ids: frozenset[str] | None = None
    parent: tuple[str, str] | None = None
    direction: str | None = None

    @cached_property
    def spec(self) -> TableSpec:
        """The table the rows are in."""
        return spec_of(self.type)


def navigation_scope(tenant: str, parent: Record, target: EntityType, navigation: str) -> Scope:
    """The entities of type ``target`` the collection-valued navigation ``navigation`` of
    ``parent`` leads to: a run's or dataset's accesses in one direction, a run group's member
    runs (kept in a table of their own), or a process's runs (linked by a column)."""
    if navigation in ACCESS_NAVIGATIONS:
        column, direction = ACCESS_NAVIGATIONS[navigation]
        return Scope(tenant, target, parent=(column, parent.id), direction=direction)
    if parent.type.is_a(RUN_TABLE.root):
        return Scope(tenant, target, group_id=parent.id)
    if parent.type.is_a(DATASET_TABLE.root):  # a dataset's incidents
        return Scope(tenant, target, parent=("dataset_id", parent.id))
    return Scope(tenant, target, process_id=parent.id)  # a process's runs or incidents


def to_record(
    spec: TableSpec, row: Sequence[Any], *, json_as: Callable[[str], Any] | None = None
) -> Record:
    """A record from a row of ``select(spec.table, …)``, read by column position; with
    ``json_as`` the row holds JSON columns as text, each passed through ``json_as``."""
    type_at, id_at, etag_at, process_at, touched_at = spec.positions
    entity_type, layout = spec.readers[row[type_at]]
    values: dict[str, Any] = {}
    for name, at, members in layout:
        value = row[at]
        values[name] = members[value] if members is not None and value is not None else value
    if json_as is not None:
        for name in spec.json_properties & values.keys():
            text = values[name]
            values[name] = None if text is None else json_as(text)
    return Record(
        type=entity_type,
        id=row[id_at],
        etag=row[etag_at],
        values=values,
        process_id=None if process_at is None else row[process_at],
        touched=None if touched_at is None else row[touched_at],
    )


def identity_record(spec: TableSpec, row: Row[Any], start: int) -> Record:
    """A record without values from the :attr:`TableSpec.identity` columns of ``row``, from
    position ``start`` on: enough to expand it."""
    entity_type = spec.readers[row[start]][0]
    process_id = row[start + 3] if "process_id" in spec.table.c else None
    at = start + len(spec.identity) - len(spec.links)
    values: dict[str, Any] = {name: row[at + i] for i, (name, _) in enumerate(spec.links)}
    return Record(
        type=entity_type,
        id=row[start + 1],
        etag=row[start + 2],
        values=values,
        process_id=process_id,
    )


def scope_filter(
    scope: Scope, table: FromClause | None = None, *, tenant: ColumnElement[Any] | None = None
) -> list[ColumnElement[bool]]:
    """The rows of the scope's table (or of ``table``, with the same columns) it admits;
    ``tenant`` is the tenant column as the statement compares it (the table's by default)."""
    spec = scope.spec
    table = spec.table if table is None else table
    tenant_column = table.c.tenant_id if tenant is None else tenant
    conditions: list[ColumnElement[bool]] = [tenant_column == scope.tenant]
    types = spec.type_filters[scope.type.name]
    if types is not None:
        conditions.append(table.c.type.in_(types))
    if scope.process_id is not None:
        conditions.append(table.c.process_id == scope.process_id)
    if scope.statuses is not None:
        status = spec.columns["status"]
        stored = table.c[status.column.name]
        conditions.append(stored.in_(sorted(status.to_db(s) for s in scope.statuses)))
    if scope.ids is not None:
        conditions.append(table.c.id.in_(sorted(scope.ids)))
    if scope.parent is not None:
        column, key = scope.parent
        conditions.append(table.c[column] == key)
    if scope.direction is not None:
        conditions.append(table.c.direction == dataset_access_direction.value_of(scope.direction))
    if scope.group_id is not None:
        members = run_group_members
        conditions.append(
            exists().where(
                members.c.tenant_id == scope.tenant,
                members.c.group_id == scope.group_id,
                members.c.run_id == table.c.id,
            )
        )
    return conditions


def get(connection: Connection, scope: Scope, key: str, *, share: bool = False) -> Record | None:
    """The record ``key`` within ``scope``.

    In a write transaction the row is locked until commit, so what the writer decides from it
    stays true: by default against any other writer of the row; with ``share`` only against its
    deletion (enough for a row that is merely referenced, and it lets such writers overlap).
    """
    spec = scope.spec
    writing = is_writing(connection)
    if (
        scope.process_id is None
        and scope.group_id is None
        and scope.statuses is None
        and scope.ids is None
        and scope.parent is None
    ):
        statement = _lookup(spec, spec.type_filters[scope.type.name], writing, share)
        row = connection.execute(statement, {"tenant": scope.tenant, "key": key}).first()
    else:
        select_one = select(*spec.read).where(*scope_filter(scope), spec.table.c.id == key)
        if writing:
            select_one = select_one.with_for_update(of=spec.table, read=share, key_share=True)
        row = connection.execute(select_one).first()
    return None if row is None else to_record(spec, row)


@lru_cache(maxsize=64)
def _lookup(
    spec: TableSpec, types: tuple[str, ...] | None, writing: bool, share: bool
) -> Select[Any]:
    """The lookup by key, built once: a statement reused with new parameters skips building
    and hashing a new one (about half the cost of reading one row through SQLAlchemy)."""
    table = spec.table
    conditions = [table.c.tenant_id == bindparam("tenant"), table.c.id == bindparam("key")]
    if types is not None:
        conditions.append(table.c.type.in_(types))
    statement = select(*spec.read).where(*conditions)
    if writing:
        statement = statement.with_for_update(of=table, read=share, key_share=True)
    return statement


def get_many(
    connection: Connection, spec: TableSpec, tenant: str, keys: Sequence[str]
) -> dict[str, Record]:
    """The records with the given keys that exist, by key."""
    if not keys:
        return {}
    table = spec.table
    statement = select(*spec.read).where(table.c.tenant_id == tenant, table.c.id.in_(sorted(keys)))
    return {row._mapping["id"]: to_record(spec, row) for row in connection.execute(statement)}


def row_values(spec: TableSpec, values: dict[str, Any]) -> dict[str, Any]:
    """The columns (by name) of ``values`` (by property name), as the table stores them."""
    return {spec.columns[n].column.name: spec.columns[n].to_db(v) for n, v in values.items()}


def insert_record(connection: Connection, spec: TableSpec, tenant: str, record: Record) -> None:
    row = row_values(spec, record.values)
    row.update(tenant_id=tenant, id=record.id, type=record.type.name, etag=record.etag)
    if spec is RUN_TABLE:
        row.update(process_id=record.process_id, touched=record.touched)
    elif spec is INCIDENT_TABLE:
        row.update(process_id=record.process_id)
    # The row goes as the statement's parameters: building ``.values(**row)`` for each insert
    # cost more than running it.
    connection.execute(_insert(spec.table), row)


@cache
def _insert(table: Table) -> Insert:
    return insert(table)


@cache
def _update(table: Table) -> Update:
    """An UPDATE of one row by key (``key_tenant``, ``key_id``); the columns it sets are the
    other parameters it is run with."""
    return update(table).where(
        table.c.tenant_id == bindparam("key_tenant"), table.c.id == bindparam("key_id")
    )


def update_record(
    connection: Connection,
    spec: TableSpec,
    tenant: str,
    key: str,
    changes: dict[str, Any],
    *,
    etag: str | None = None,
    process: ProcessLink | None = None,
    touched: int | None = None,
) -> None:
    """Write ``changes`` (by property name), and ``etag``, the run's ``process`` link and
    ``touched`` where given."""
    row = row_values(spec, changes)
    if etag is not None:
        row["etag"] = etag
    if process is not None:
        row["process_id"] = process.process_id
    if touched is not None:
        row["touched"] = touched
    if row:
        connection.execute(_update(spec.table), {**row, "key_tenant": tenant, "key_id": key})


def delete_runs(connection: Connection, tenant: str, keys: Sequence[str]) -> None:
    """Delete runs with their group memberships, both as member and as group, and their
    dataset accesses."""
    accesses = dataset_accesses
    connection.execute(
        delete(accesses).where(accesses.c.tenant_id == tenant, accesses.c.run_id.in_(keys))
    )
    members = run_group_members
    connection.execute(
        delete(members).where(
            members.c.tenant_id == tenant,
            or_(members.c.run_id.in_(keys), members.c.group_id.in_(keys)),
        )
    )
    connection.execute(delete(runs).where(runs.c.tenant_id == tenant, runs.c.id.in_(keys)))


def delete_process(connection: Connection, tenant: str, key: str) -> None:
    connection.execute(
        delete(processes).where(processes.c.tenant_id == tenant, processes.c.id == key)
    )


def run_ids_of_process(
    connection: Connection, tenant: str, process_id: str
) -> tuple[list[str], bool]:
    """The ids of a process's runs, and whether any of them is still running."""
    status = RUN_COLUMNS["status"]
    rows = connection.execute(
        select(runs.c.id, runs.c.status).where(
            runs.c.tenant_id == tenant, runs.c.process_id == process_id
        )
    ).all()
    running = status.to_db("running")
    return [r.id for r in rows], any(r.status == running for r in rows)


def add_member(connection: Connection, tenant: str, group_id: str, run_id: str) -> bool:
    """Link ``run_id`` into the group; False when it already was a member."""
    members = run_group_members
    present = connection.execute(
        select(true()).where(
            members.c.tenant_id == tenant,
            members.c.group_id == group_id,
            members.c.run_id == run_id,
        )
    ).first()
    if present is not None:
        return False
    connection.execute(insert(members).values(tenant_id=tenant, group_id=group_id, run_id=run_id))
    return True


def remove_member(connection: Connection, tenant: str, group_id: str, run_id: str) -> bool:
    members = run_group_members
    result = connection.execute(
        delete(members).where(
            members.c.tenant_id == tenant,
            members.c.group_id == group_id,
            members.c.run_id == run_id,
        )
    )
    return result.rowcount > 0


def fail_stale_runs(
    connection: Connection, *, cutoff: int, now: int, error: dict[str, Any], limit: int
) -> int:
    """Fail up to ``limit`` running runs of any tenant last touched before ``cutoff``; how many.

    One statement: the rows are chosen and changed together, and each is checked again as it
    is changed, so a run touched meanwhile stays running. On PostgreSQL the rows another
    transaction holds are skipped (``SKIP LOCKED``): that one is failing or touching them.
    """
    status = RUN_COLUMNS["status"]
    running = status.to_db("running")
    stale = and_(runs.c.status == running, runs.c.touched < cutoff)
    dialect = dialect_of(connection)
    chosen = dialect.skip_locked(select(runs.c.tenant_id, runs.c.id).where(stale).limit(limit))
    start = runs.c.start_date_time
    statement = (
        update(runs)
        .where(tuple_(runs.c.tenant_id, runs.c.id).in_(chosen), stale)
        .values(
            status=status.to_db("failed"),
            end_date_time=case((start > now, start), else_=now),
            blocking_error=error,
            etag=dialect.random_etag(),
            touched=now,
        )
    )
    return connection.execute(statement).rowcount
