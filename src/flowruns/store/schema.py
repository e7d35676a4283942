"""Tables derived from the model.

Each entity set's root type gets one table holding every property of every type derived from
it (single-table inheritance, with the type's name in ``type``). Property names become
snake_case columns; enums are stored as their integer values so that they sort as OData says;
date-times as integer ticks (see :mod:`flowruns.edm.datetimes`); complex values and collections
as JSON (JSONB on PostgreSQL). Every table and index leads with ``tenant_id`` so the schema can be
distributed by tenant.

Strings compare and sort by code point on both engines: SQLite's default BINARY collation does,
and on PostgreSQL every text column is declared ``COLLATE "C"`` (byte order of UTF-8, which is
code-point order) rather than taking the database's locale.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKeyConstraint,
    Index,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    false,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql import operators
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement, UnaryExpression
from sqlalchemy.types import TypeEngine

from flowruns.edm.industrydata import (
    ACCESSES,
    DATASETS,
    EXPECTATIONS,
    FRESHNESS,
    HEALTH,
    INCIDENTS,
    PROCESSES,
    RUNS,
    run_status,
)
from flowruns.edm.model import ComplexType, EntityType, EnumType, Primitive, Property

metadata = MetaData()


def _string(length: int | None = None) -> TypeEngine[str]:
    """A string column (``TEXT`` without a length) that sorts by code point on every engine."""
    if length is None:
        return Text().with_variant(Text(collation="C"), "postgresql")
    return String(length).with_variant(String(length, collation="C"), "postgresql")


TENANT = _string(36)
GUID = _string(36)
JSON_TYPE = JSON().with_variant(JSONB(), "postgresql")


def column_name(property_name: str) -> str:
    """``startDateTime`` → ``start_date_time``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", property_name).lower()


def _sql_type(prop: Property) -> TypeEngine[Any]:
    if prop.collection or isinstance(prop.type, ComplexType):
        return JSON_TYPE
    if isinstance(prop.type, EnumType):
        return SmallInteger()
    if prop.type is Primitive.DATE_TIME_OFFSET or prop.type is Primitive.INT64:
        return BigInteger()
    if prop.type is Primitive.BOOLEAN:
        return Boolean()
    if prop.type is Primitive.DOUBLE:
        return Float()
    if prop.key:
        return GUID
    return _string()


@dataclass(frozen=True)
class PropertyColumn:
    """Where a property lives in a table, and how its value is stored."""

    property: Property
    column: Column[object]

    def to_db(self, value: object) -> object:
        if value is not None and isinstance(self.property.type, EnumType):
            assert isinstance(value, str)
            return self.property.type.value_of(value)
        return value


def _all_properties(root: EntityType) -> list[Property]:
    """The stored properties of ``root`` and its subtypes."""
    seen: dict[str, Property] = {}
    for t in root.subtypes():
        for p in t.properties:
            if p.stored:
                seen.setdefault(p.name, p)
    return list(seen.values())


def _property_columns(root: EntityType) -> list[Column[object]]:
    # A property of a derived type is null in the rows of every other type.
    shared = {p.name for p in root.properties if not p.nullable}
    return [
        Column(column_name(p.name), _sql_type(p), nullable=p.name not in shared)
        for p in _all_properties(root)
        if not p.key and p.name != "eTag"
    ]


def _identity_columns() -> list[Column[Any]]:
    """The columns every entity table starts with: tenant, key, stored type, version."""
    return [
        Column("tenant_id", TENANT, nullable=False),
        Column("id", GUID, nullable=False),
        Column("type", _string(64), nullable=False),
        Column("etag", _string(32), nullable=False),
    ]


class NullsFirst(UnaryExpression[Any]):
    """An index column whose nulls come first in ascending order, as flowruns orders them
    (store/queries.py: first ascending, last descending), so one index serves both directions.

    SQLite orders nulls first already and takes no ``NULLS FIRST`` in an index; PostgreSQL puts
    them last unless told.
    """

    inherit_cache = True

    def __init__(self, column: ColumnElement[Any]) -> None:
        super().__init__(column, modifier=operators.nulls_first_op)


@compiles(NullsFirst, "sqlite")
def _sqlite_nulls_first(element: NullsFirst, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.element, **kw)


class DescNullsLast(UnaryExpression[Any]):
    """An index column in descending order with its nulls last, as flowruns orders a descending
    key. SQLite puts nulls last descending already and takes no ``NULLS LAST`` in an index;
    PostgreSQL puts them first unless told."""

    inherit_cache = True

    def __init__(self, column: ColumnElement[Any]) -> None:
        super().__init__(column.desc(), modifier=operators.nulls_last_op)


@compiles(DescNullsLast, "sqlite")
def _sqlite_desc_nulls_last(element: DescNullsLast, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.element, **kw)


runs = Table(
    RUNS.table,
    metadata,
    *_identity_columns(),
    Column("touched", BigInteger, nullable=False),
    Column("process_id", GUID),
    *_property_columns(RUNS.type),
    # Whether the run read a dataset that a failed run wrote before it started: kept by the
    # triggers of store/downstream.py for queries (QUERY_ONLY), not a member of the run.
    Column("read_after_failed_write", Boolean, nullable=False, server_default=false()),
    PrimaryKeyConstraint("tenant_id", "id"),
    ForeignKeyConstraint(["tenant_id", "process_id"], ["processes.tenant_id", "processes.id"]),
)
# Columns that queries read and records never do: a record is read without them (so that code
# that reads records works on a database of an earlier revision, as a migration's does).
QUERY_ONLY = frozenset({"read_after_failed_write"})
Index("ix_runs_start", runs.c.tenant_id, runs.c.start_date_time, runs.c.id)
Index("ix_runs_status_start", runs.c.tenant_id, runs.c.status, runs.c.start_date_time, runs.c.id)
Index("ix_runs_type_start", runs.c.tenant_id, runs.c.type, runs.c.start_date_time, runs.c.id)
# The runs downstream of a failure in the runs' order (store/downstream.py). The flag is a key
# column as well as the index's condition: with two equal columns against ix_runs_start's one,
# SQLite's planner (without statistics) picks this index whatever the order they were created in.
_READ_AFTER_FAILED_WRITE = runs.c.read_after_failed_write == true()
Index(
    "ix_runs_read_after_failed_write",
    runs.c.tenant_id,
    runs.c.read_after_failed_write,
    runs.c.start_date_time,
    runs.c.id,
    sqlite_where=_READ_AFTER_FAILED_WRITE,
    postgresql_where=_READ_AFTER_FAILED_WRITE,
)
# Two filters at once, still in the default order: "failed outgoing runs", "failed runs of
# this process" (see "Index-backed questions" in docs/api.md).
Index(
    "ix_runs_type_status_start",
    runs.c.tenant_id,
    runs.c.type,
    runs.c.status,
    runs.c.start_date_time,
    runs.c.id,
)
Index(
    "ix_runs_process_status_start",
    runs.c.tenant_id,
    runs.c.process_id,
    runs.c.status,
    runs.c.start_date_time,
    runs.c.id,
)
Index(
    "ix_runs_process_start", runs.c.tenant_id, runs.c.process_id, runs.c.start_date_time, runs.c.id
)
# Runs in order of end time, either way, with the key as tie-breaker: a filter the other indexes
# do not serve (a statistics member, say) ordered by endDateTime stops after a page of matches
# instead of sorting every run of the tenant.
Index("ix_runs_end", runs.c.tenant_id, NullsFirst(runs.c.end_date_time), runs.c.id)
# The stale-run check looks for running runs untouched since a cutoff, in every tenant. Only
# running rows are indexed, so the index stays as small as the set of runs in flight.
_RUNNING = runs.c.status == run_status.value_of("running")
Index(
    "ix_runs_running_touched",
    runs.c.tenant_id,
    runs.c.touched,
    sqlite_where=_RUNNING,
    postgresql_where=_RUNNING,
)

# Runs counted per UTC day of start, type and status, kept by triggers on ``runs``; ``$apply``
# answers day-level questions from it (see store/rollup.py). A day is stored as the ticks of
# its midnight in a column named like the runs' own, so filters and keys compile the same
# against both tables. A count is the sum over its slots: concurrent PostgreSQL writers add to
# different slots rather than queueing for one row (store/rollup.py).
run_days = Table(
    "run_days",
    metadata,
    Column("tenant_id", TENANT, nullable=False),
    Column("start_date_time", BigInteger, nullable=False),
    Column("type", _string(64), nullable=False),
    Column("status", SmallInteger, nullable=False),
    Column("slot", SmallInteger, nullable=False),
    Column("runs", BigInteger, nullable=False),
    PrimaryKeyConstraint("tenant_id", "start_date_time", "type", "status", "slot"),
)

processes = Table(
    PROCESSES.table,
    metadata,
    *_identity_columns(),
    *_property_columns(PROCESSES.type),
    # The process's health state, a copy of its expectation's ``state`` (null without one) that
    # the health triggers of store/changes.py keep, so that an order or filter by health reads
    # the process's own row and an index serves it (see MIRRORED).
    Column("health_state", SmallInteger),
    PrimaryKeyConstraint("tenant_id", "id"),
)
Index("ix_processes_name", processes.c.tenant_id, processes.c.display_name, processes.c.id)
# The dashboard's Processes page: worst health first, then by name (``health/state desc,
# displayName asc,id asc``), and any one health by name.
Index(
    "ix_processes_health",
    processes.c.tenant_id,
    DescNullsLast(processes.c.health_state),
    processes.c.display_name,
    processes.c.id,
)
# An OpenLineage job is one process per tenant: ingestion finds it, or creates it once, by its
# (namespace, name). Other processes leave both null, which a unique index never compares.
Index(
    "ux_processes_job",
    processes.c.tenant_id,
    processes.c.job_namespace,
    processes.c.job_name,
    unique=True,
)

run_group_members = Table(
    "run_group_members",
    metadata,
    Column("tenant_id", TENANT, nullable=False),
    Column("group_id", GUID, nullable=False),
    Column("run_id", GUID, nullable=False),
    PrimaryKeyConstraint("tenant_id", "group_id", "run_id"),
    ForeignKeyConstraint(["tenant_id", "group_id"], ["runs.tenant_id", "runs.id"]),
    ForeignKeyConstraint(["tenant_id", "run_id"], ["runs.tenant_id", "runs.id"]),
)
Index("ix_run_group_members_run", run_group_members.c.tenant_id, run_group_members.c.run_id)


idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("tenant_id", TENANT, nullable=False),
    Column("key", _string(255), nullable=False),
    Column("request_hash", _string(64), nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("entity", JSON_TYPE, nullable=False),
    PrimaryKeyConstraint("tenant_id", "key"),
)
Index("ix_idempotency_keys_created", idempotency_keys.c.tenant_id, idempotency_keys.c.created)


# The change log (see store/changes.py): one row per change of a run, run group, membership
# (recorded as a change of its group) or process, written by triggers in the changing
# transaction. A change's key is (txn, position): on PostgreSQL the id of the writing
# transaction and a sequence number; on SQLite (one writer at a time) 0 and a counter.
changes = Table(
    "changes",
    metadata,
    Column("tenant_id", TENANT, nullable=False),
    Column("entity_set", _string(16), nullable=False),  # the entity's table: runs, processes
    Column("txn", BigInteger, nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("entity_id", GUID, nullable=False),
    Column("type", _string(64), nullable=False),
    Column("changed", BigInteger, nullable=False),  # ticks, for retention
    # What happened: created (0), updated (1) or deleted (2), for change notifications.
    Column("kind", SmallInteger, nullable=False, server_default="1"),
    PrimaryKeyConstraint("tenant_id", "entity_set", "txn", "position"),
    sqlite_with_rowid=False,  # stored in its key's order: one b-tree fewer to write per change
)
# Whether an entity changed again later: its changes by key, without reading the table.
Index(
    "ix_changes_entity",
    changes.c.tenant_id,
    changes.c.entity_set,
    changes.c.entity_id,
    changes.c.txn,
    changes.c.position,
)

# Per tenant and entity table: the key of the newest change pruned, below which a delta token
# can no longer be answered (410 syncStateNotFound).
change_baselines = Table(
    "change_baselines",
    metadata,
    Column("tenant_id", TENANT, nullable=False),
    Column("entity_set", _string(16), nullable=False),
    Column("txn", BigInteger, nullable=False),
    Column("position", BigInteger, nullable=False),
    PrimaryKeyConstraint("tenant_id", "entity_set"),
)

# One row: the log's epoch (random per database, so a token of another database — say the
# source of a `db copy` — is told apart) and, on SQLite, the last position handed out.
change_log = Table(
    "change_log",
    metadata,
    Column("epoch", _string(32), nullable=False),
    Column("position", BigInteger, nullable=False),
    PrimaryKeyConstraint("epoch"),
)

# OpenLineage ingestion (service/openlineage.py). Every event received, once: a digest of its
# canonical JSON is its key, so an event sent again is the same row. Run events carry their
# run's id; job and dataset events (static lineage) have none.
lineage_events = Table(
    "lineage_events",
    metadata,
    Column("tenant_id", TENANT, nullable=False),
    Column("digest", _string(64), nullable=False),
    Column("run_id", GUID),
    Column("kind", _string(8), nullable=False),  # run, job, dataset
    Column("event_type", _string(8)),
    Column("event_time", BigInteger),
    Column("received", BigInteger, nullable=False),
    Column("event", JSON_TYPE, nullable=False),
    PrimaryKeyConstraint("tenant_id", "digest"),
)
Index(
    "ix_lineage_events_run",
    lineage_events.c.tenant_id,
    lineage_events.c.run_id,
    lineage_events.c.event_time,
)

# Per run known from events: its job, its parent, its facets as the replay of its events
# leaves them (stored beside the run, not in its statistics), and the run state the last
# replay applied, which tells a later replay what only the events decided.
lineage_runs = Table(
    "lineage_runs",
    metadata,
    Column("tenant_id", TENANT, nullable=False),
    Column("run_id", GUID, nullable=False),
    Column("job_namespace", _string()),
    Column("job_name", _string()),
    Column("parent_run_id", GUID),
    Column("events", BigInteger, nullable=False),
    Column("facets", JSON_TYPE, nullable=False),
    Column("applied", JSON_TYPE),
    PrimaryKeyConstraint("tenant_id", "run_id"),
)


# Change notifications (service/notifications.py, docs/notifications.md). A subscription names
# the collection it follows (``entity_set``: the table, for reading the change log) and how far
# the dispatcher has read that log for it (``cursor_txn``, ``cursor_position``).
subscriptions = Table(
    "subscriptions",
    metadata,
    Column("tenant_id", TENANT, nullable=False),
    Column("id", GUID, nullable=False),
    Column("resource", _string(), nullable=False),
    Column("entity_set", _string(16), nullable=False),
    Column("change_type", _string(64), nullable=False),
    Column("notification_url", _string(), nullable=False),
    Column("lifecycle_notification_url", _string()),
    Column("client_state", _string(128)),
    Column("expiration_date_time", BigInteger, nullable=False),
    Column("application_id", _string(256), nullable=False),
    Column("creator_id", _string(256), nullable=False),
    Column("latest_supported_tls_version", _string(16)),
    Column("notification_content_type", _string(64)),
    # When the token that created (or last reauthorized) it expires, in ticks; whether the
    # reauthorizationRequired lifecycle notification for that token was written.
    Column("token_expires", BigInteger, nullable=False),
    Column("reauthorization_sent", SmallInteger, nullable=False),
    Column("cursor_txn", BigInteger, nullable=False),
    Column("cursor_position", BigInteger, nullable=False),
    # Rich notifications (Graph's includeResourceData and the certificate that encrypts them),
    # the format of flowruns' vocabulary (null: Graph's), and what the token that created (or
    # last reauthorized) it may read (entity set names, space-separated): the entity a
    # notification carries is read under those permissions.
    Column("include_resource_data", SmallInteger),
    Column("encryption_certificate", _string()),
    Column("encryption_certificate_id", _string()),
    Column("notification_format", _string(16)),
    Column("creator_reads", _string()),
    PrimaryKeyConstraint("tenant_id", "id"),
)

# The delivery queue: the notifications a dispatch owes one receiver (``url``), up to a
# thousand to a row (one POST), written in the transaction that moves the subscriptions'
# cursors. Claimed across tenants by ``due`` (the one index that does not lead with the
# tenant: every server process asks "what is due now?", whatever the tenant); a claim moves
# ``due`` past the claim's lease, so the rows of a process that died are claimed again once
# it runs out.
notifications = Table(
    "notifications",
    metadata,
    Column("tenant_id", TENANT, nullable=False),
    Column("id", GUID, nullable=False),
    Column("url", _string(), nullable=False),
    Column("items", JSON_TYPE, nullable=False),
    Column("lifecycle", SmallInteger, nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("due", BigInteger, nullable=False),
    Column("attempts", SmallInteger, nullable=False),
    # How the row's items are sent (null: Graph's collection, one POST); for rich
    # notifications, the applications (a JSON array) its validation tokens are for; for a row
    # of a format (one notification), the subscription it is for.
    Column("format", _string(16)),
    Column("applications", _string()),
    Column("subscription_id", GUID),
    PrimaryKeyConstraint("tenant_id", "id"),
)
Index("ix_notifications_due", notifications.c.due)

# Process health (service/health.py, docs/monitoring.md). One row per process with an
# expectation, keyed by the process: the expectation's members, the health the evaluation last
# found (``state``, ``changed_date_time``, ``next_expected_date_time``), and where the evaluation
# stands: ``since`` (no expected start before it opens an incident: the expectation's last
# change, or the end of a pause), ``judged`` (every expected start up to it has been judged),
# and ``due`` (when the process is next evaluated).
expectations = Table(
    EXPECTATIONS.table,
    metadata,
    *_identity_columns(),
    *_property_columns(EXPECTATIONS.type),
    *_property_columns(HEALTH.type),
    Column("since", BigInteger, nullable=False),
    Column("judged", BigInteger, nullable=False),
    Column("due", BigInteger, nullable=False),
    PrimaryKeyConstraint("tenant_id", "id"),
    ForeignKeyConstraint(["tenant_id", "id"], ["processes.tenant_id", "processes.id"]),
)
# The evaluation asks, across tenants, "which processes are due now?" (like the delivery
# queue, the one kind of index that does not lead with the tenant).
Index("ix_expectations_due", expectations.c.due)
# Health filters: "every unhealthy process of this owner".
Index("ix_expectations_owner", expectations.c.tenant_id, expectations.c.owner, expectations.c.state)

# An incident is a process's (``process_id``) or a dataset's (``dataset_id``, a stale one).
incidents = Table(
    INCIDENTS.table,
    metadata,
    *_identity_columns(),
    Column("process_id", GUID),
    *_property_columns(INCIDENTS.type),
    PrimaryKeyConstraint("tenant_id", "id"),
    ForeignKeyConstraint(["tenant_id", "process_id"], ["processes.tenant_id", "processes.id"]),
    ForeignKeyConstraint(["tenant_id", "dataset_id"], ["datasets.tenant_id", "datasets.id"]),
)
Index("ix_incidents_opened", incidents.c.tenant_id, incidents.c.opened_date_time, incidents.c.id)
Index(
    "ix_incidents_process_opened",
    incidents.c.tenant_id,
    incidents.c.process_id,
    incidents.c.opened_date_time,
    incidents.c.id,
)
Index(
    "ix_incidents_dataset_opened",
    incidents.c.tenant_id,
    incidents.c.dataset_id,
    incidents.c.opened_date_time,
    incidents.c.id,
)
# The open incidents of the tenant: what a dashboard asks first.
_OPEN = incidents.c.resolved_date_time.is_(None)
Index(
    "ix_incidents_open",
    incidents.c.tenant_id,
    incidents.c.process_id,
    sqlite_where=_OPEN,
    postgresql_where=_OPEN,
)

# Lineage as data (store/datasets.py, docs/lineage.md). A dataset is one row per (tenant,
# namespace, name); ``facet_stamps`` keeps, per facet, the (event time, digest) of the event that
# gave it, so facets merge by name the same whatever order events come in.
datasets = Table(
    DATASETS.table,
    metadata,
    *_identity_columns(),
    *_property_columns(DATASETS.type),
    Column("facet_stamps", JSON_TYPE),
    PrimaryKeyConstraint("tenant_id", "id"),
)
Index(
    "ux_datasets_namespace_name",
    datasets.c.tenant_id,
    datasets.c.namespace,
    datasets.c.name,
    unique=True,
)
Index("ix_datasets_name", datasets.c.tenant_id, datasets.c.name, datasets.c.id)
# Freshness: "the datasets not written since …", oldest first.
Index(
    "ix_datasets_last_written",
    datasets.c.tenant_id,
    NullsFirst(datasets.c.last_written_date_time),
    datasets.c.id,
)

# A dataset's freshness expectation (service/freshness.py, docs/lineage.md#freshness), keyed by
# the dataset: its members, the state the evaluation last found, ``since`` (no staleness counts
# before it: the expectation's last change, or the end of a pause) and ``due`` (when the dataset
# is next evaluated; brought forward by the trigger on the dataset's freshness).
dataset_expectations = Table(
    FRESHNESS.table,
    metadata,
    *_identity_columns(),
    *_property_columns(FRESHNESS.type),
    Column("since", BigInteger, nullable=False),
    Column("due", BigInteger, nullable=False),
    PrimaryKeyConstraint("tenant_id", "id"),
    ForeignKeyConstraint(["tenant_id", "id"], ["datasets.tenant_id", "datasets.id"]),
)
Index("ix_dataset_expectations_due", dataset_expectations.c.due)

# One row per run, dataset and direction; the run's status and times are copied in (and kept
# current by triggers on ``runs``, store/datasets.py) so that "which runs wrote X last week" is
# one index range.
dataset_accesses = Table(
    ACCESSES.table,
    metadata,
    *_identity_columns(),
    *_property_columns(ACCESSES.type),
    PrimaryKeyConstraint("tenant_id", "id"),
    ForeignKeyConstraint(["tenant_id", "run_id"], ["runs.tenant_id", "runs.id"]),
    ForeignKeyConstraint(["tenant_id", "dataset_id"], ["datasets.tenant_id", "datasets.id"]),
)
# A run's inputs or outputs; one access per run, direction and dataset (whose name and
# namespace are unique): what an ``any`` over a run's accesses that fixes no key of them probes
# for each run (``inputs/any(i: i/dataset/writes/any(…))``, store/compiler.py).
Index(
    "ux_dataset_accesses_run",
    dataset_accesses.c.tenant_id,
    dataset_accesses.c.run_id,
    dataset_accesses.c.direction,
    dataset_accesses.c.name,
    dataset_accesses.c.namespace,
    unique=True,
)
# A dataset's writes or reads, newest run first.
Index(
    "ix_dataset_accesses_dataset",
    dataset_accesses.c.tenant_id,
    dataset_accesses.c.dataset_id,
    dataset_accesses.c.direction,
    dataset_accesses.c.run_start_date_time,
    dataset_accesses.c.id,
)
# A dataset's writes or reads by the run's status, then start: "did a failed run write it before
# this read?" (``i/dataset/writes/any(w: w/runStatus eq 'failed' and w/runStartDateTime le …)``)
# is one seek, whatever the number of the dataset's writes.
Index(
    "ix_dataset_accesses_status",
    dataset_accesses.c.tenant_id,
    dataset_accesses.c.dataset_id,
    dataset_accesses.c.direction,
    dataset_accesses.c.run_status,
    dataset_accesses.c.run_start_date_time,
)
# The same by name, with the run's key: the runs that wrote a name
# (``outputs/any(d: d/name eq …)``) read from this index alone.
Index(
    "ix_dataset_accesses_name",
    dataset_accesses.c.tenant_id,
    dataset_accesses.c.name,
    dataset_accesses.c.direction,
    dataset_accesses.c.run_start_date_time,
    dataset_accesses.c.id,
    dataset_accesses.c.run_id,
)
# A dataset's successful writes by end: its freshness, read when a run changes.
_SUCCESSFUL_WRITE = (dataset_accesses.c.direction == 1) & dataset_accesses.c.run_status.in_(
    [run_status.value_of("completed"), run_status.value_of("completedWithWarnings")]
)
Index(
    "ix_dataset_accesses_written",
    dataset_accesses.c.tenant_id,
    dataset_accesses.c.dataset_id,
    dataset_accesses.c.run_end_date_time,
    sqlite_where=_SUCCESSFUL_WRITE,
    postgresql_where=_SUCCESSFUL_WRITE,
)


def property_columns(table: Table, root: EntityType) -> dict[str, PropertyColumn]:
    """The columns of ``table`` keyed by the property name they store.

    ``eTag`` is the row's version column, which every entity table has.
    """
    return {
        p.name: PropertyColumn(p, table.c["etag" if p.name == "eTag" else column_name(p.name)])
        for p in _all_properties(root)
    }


# Columns of a contained entity copied on its parent's row, by (table, column): the compiler
# reads the copy (store/compiler.py).
MIRRORED = {("expectations", "state"): processes.c.health_state}

RUN_COLUMNS = property_columns(runs, RUNS.type)
PROCESS_COLUMNS = property_columns(processes, PROCESSES.type)
EXPECTATION_COLUMNS = property_columns(expectations, EXPECTATIONS.type)
HEALTH_COLUMNS = property_columns(expectations, HEALTH.type)
INCIDENT_COLUMNS = property_columns(incidents, INCIDENTS.type)
DATASET_COLUMNS = property_columns(datasets, DATASETS.type)
FRESHNESS_COLUMNS = property_columns(dataset_expectations, FRESHNESS.type)
ACCESS_COLUMNS = property_columns(dataset_accesses, ACCESSES.type)
