"""The change log: what changed, per tenant, in the order readers may learn it.

**Recorded by the database.** Triggers on ``runs``, ``processes`` and ``run_group_members``
write a row to ``changes`` for every insert, every update that gives the row a new ETag (a
heartbeat, which only moves ``touched``, is no change) and every delete, in the changing
transaction: whatever code path writes (the API, cascades, the stale-run rule, ``demo seed``,
``db copy``) is recorded, nothing that rolled back is. A membership added or removed is
recorded as a change of its run group. Each row names the tenant, the entity's table and id,
and its stored type (so ``runGroups`` can follow its own rows, and a deleted entity's type is
still known).

**Keys readers never see go backwards.** A change's key is ``(txn, position)``.

- On PostgreSQL, ``txn`` is the id of the writing transaction (``pg_current_xact_id()``) and
  ``position`` a sequence number. Transactions commit in another order than they take ids, so
  a reader is only ever handed the changes of transactions older than the oldest one that
  was still in flight when its snapshot was taken (``pg_current_snapshot()``), leaving out
  only those whose sessions are connected to another database: that is the *horizon*, as a
  key ``(id, 0)``. Every transaction of this database below it has ended — committed (and
  visible in the snapshot) or rolled back — and every transaction that will still write has a
  larger id. So the log below the horizon never changes again, and a reader that has read up
  to it misses nothing later. The price: a long write transaction of this database holds the
  horizon (and so every delta reader) back until it ends.
- On SQLite one transaction writes at a time (``BEGIN IMMEDIATE``), and the triggers take each
  position from the ``change_log`` counter inside that writing transaction, under its write
  lock: positions are handed out in commit order. ``txn`` is 0 and the horizon is the counter
  as the reader's snapshot sees it, plus one.

**Retention.** :func:`prune` removes a tenant's oldest changes in key order, in bounded
batches, and records the key of the newest one removed in ``change_baselines``: a reader that
has not read up to it can no longer be told what it missed (410 ``syncStateNotFound``).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import (
    CTE,
    BigInteger,
    ColumnElement,
    Connection,
    Select,
    and_,
    bindparam,
    case,
    false,
    insert,
    select,
    text,
    true,
    tuple_,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased
from sqlalchemy.sql.selectable import NamedFromClause

from flowruns.edm.industrydata import DATASETS, INCIDENTS, PROCESSES, RUN_GROUPS, RUNS
from flowruns.store import queries, rendering
from flowruns.store.dialect import Dialect, dialect_of
from flowruns.store.entities import TableSpec
from flowruns.store.rendering import Rendering
from flowruns.store.schema import change_baselines, change_log, changes
from flowruns.store.triggers import Triggers, all_on

Key = tuple[int, int]
"""A change's place in the log: (transaction id, position)."""

ENTITY_SETS = (RUNS.table, PROCESSES.table, INCIDENTS.table, DATASETS.table)
# The tables the log recorded when it was introduced (revision 0006); later revisions add the
# triggers of their own tables (install_table_triggers).
FIRST_ENTITY_SETS = (RUNS.table, PROCESSES.table)
PRUNE_BATCH = 5000

_COLUMNS = "tenant_id, entity_set, txn, position, entity_id, type, changed, kind"
# A change's kind, as ``changes.kind`` stores it: what change notifications call it.
CREATED, UPDATED, DELETED = 0, 1, 2
KINDS = ("created", "updated", "deleted")
# The time now in ticks, in each engine's SQL (the health and freshness triggers read it too).
SQLITE_NOW = "CAST((julianday('now') - 2440587.5) * 864000000000 AS INTEGER)"
PG_NOW = "(extract(epoch from clock_timestamp()) * 10000000)::bigint"
_PG_TXN = "pg_current_xact_id()::text::bigint"
_PG_POSITION = "nextval('change_positions')"


def _sqlite_record(table: str, row: str, id_column: str, type_expr: str, kind: int) -> str:
    """A trigger body that takes the next position and records ``row``'s entity."""
    return (
        "UPDATE change_log SET position = position + 1; "
        f"INSERT INTO changes ({_COLUMNS}) SELECT {row}.tenant_id, '{table}', 0, position, "
        f"{row}.{id_column}, {type_expr}, {SQLITE_NOW}, {kind} FROM change_log;"
    )


def _sqlite_table_statements(table: str) -> list[str]:
    new = _sqlite_record(table, "NEW", "id", "NEW.type", CREATED)
    changed = _sqlite_record(table, "NEW", "id", "NEW.type", UPDATED)
    old = _sqlite_record(table, "OLD", "id", "OLD.type", DELETED)
    return [
        f"CREATE TRIGGER changes_{table}_insert AFTER INSERT ON {table} BEGIN {new} END",
        f"CREATE TRIGGER changes_{table}_update AFTER UPDATE OF etag ON {table} "
        f"WHEN OLD.etag IS NOT NEW.etag BEGIN {changed} END",
        f"CREATE TRIGGER changes_{table}_delete AFTER DELETE ON {table} BEGIN {old} END",
    ]


def _sqlite_statements(tables: Sequence[str]) -> list[str]:
    statements = [s for table in tables for s in _sqlite_table_statements(table)]
    group = f"'{RUN_GROUPS.type.name}'"
    added = _sqlite_record(RUNS.table, "NEW", "group_id", group, UPDATED)
    removed = _sqlite_record(RUNS.table, "OLD", "group_id", group, UPDATED)
    statements += [
        f"CREATE TRIGGER changes_members_insert AFTER INSERT ON run_group_members "
        f"BEGIN {added} END",
        f"CREATE TRIGGER changes_members_delete AFTER DELETE ON run_group_members "
        f"BEGIN {removed} END",
    ]
    return statements


_PG_FUNCTIONS = f"""
CREATE FUNCTION changes_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO changes ({_COLUMNS})
  SELECT tenant_id, TG_TABLE_NAME, {_PG_TXN}, {_PG_POSITION}, id, type, {PG_NOW}, {CREATED}
  FROM new_rows;
  RETURN NULL;
END $$;
CREATE FUNCTION changes_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    INSERT INTO changes ({_COLUMNS}) VALUES
      (OLD.tenant_id, TG_TABLE_NAME, {_PG_TXN}, {_PG_POSITION}, OLD.id, OLD.type, {PG_NOW},
       {DELETED});
  ELSE
    INSERT INTO changes ({_COLUMNS}) VALUES
      (NEW.tenant_id, TG_TABLE_NAME, {_PG_TXN}, {_PG_POSITION}, NEW.id, NEW.type, {PG_NOW},
       {UPDATED});
  END IF;
  RETURN NULL;
END $$;
CREATE FUNCTION changes_members() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO changes ({_COLUMNS})
  SELECT tenant_id, '{RUNS.table}', {_PG_TXN}, {_PG_POSITION}, group_id,
         '{RUN_GROUPS.type.name}', {PG_NOW}, {UPDATED}
  FROM (SELECT DISTINCT tenant_id, group_id FROM member_rows) AS m;
  RETURN NULL;
END $$
"""


def _postgresql_table_statements(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER changes_{table}_insert AFTER INSERT ON {table} "
        "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
        "EXECUTE FUNCTION changes_inserted()",
        f"CREATE TRIGGER changes_{table}_update AFTER UPDATE OF etag ON {table} "
        "FOR EACH ROW WHEN (OLD.etag IS DISTINCT FROM NEW.etag) "
        "EXECUTE FUNCTION changes_changed()",
        f"CREATE TRIGGER changes_{table}_delete AFTER DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION changes_changed()",
    ]


def _postgresql_statements(tables: Sequence[str]) -> list[str]:
    statements = ["CREATE SEQUENCE change_positions", _PG_FUNCTIONS]
    statements += [s for table in tables for s in _postgresql_table_statements(table)]
    statements += [
        "CREATE TRIGGER changes_members_insert AFTER INSERT ON run_group_members "
        "REFERENCING NEW TABLE AS member_rows FOR EACH STATEMENT "
        "EXECUTE FUNCTION changes_members()",
        "CREATE TRIGGER changes_members_delete AFTER DELETE ON run_group_members "
        "REFERENCING OLD TABLE AS member_rows FOR EACH STATEMENT "
        "EXECUTE FUNCTION changes_members()",
    ]
    return statements


def triggers_of(tables: Sequence[str]) -> dict[str, str]:
    """Each trigger of the log on ``tables`` (and on the group members) and the table it is on."""
    return {
        **{
            f"changes_{table}_{event}": table
            for table in tables
            for event in ("insert", "update", "delete")
        },
        "changes_members_insert": "run_group_members",
        "changes_members_delete": "run_group_members",
    }


TRIGGERS = triggers_of(ENTITY_SETS)
_INSTALL = {"sqlite": _sqlite_statements, "postgresql": _postgresql_statements}


def install(connection: Connection, tables: Sequence[str] = ENTITY_SETS) -> None:
    """Create the triggers (and on PostgreSQL the sequence) that keep the change log of
    ``tables``, and the log's one row with a new epoch (the tables exist already)."""
    install_triggers(connection, tables)
    connection.execute(insert(change_log).values(epoch=secrets.token_hex(16), position=0))


def install_triggers(connection: Connection, tables: Sequence[str] = ENTITY_SETS) -> None:
    """Create the triggers (and on PostgreSQL the sequence and functions) of the log."""
    for statement in _INSTALL[dialect_of(connection).name](tables):
        connection.execute(text(statement))


def install_table_triggers(connection: Connection, table: str) -> None:
    """Record the changes of one more table in an existing log."""
    if dialect_of(connection).name == "postgresql":
        statements = _postgresql_table_statements(table)
    else:
        statements = _sqlite_table_statements(table)
    for statement in statements:
        connection.execute(text(statement))


def reinstall_triggers(connection: Connection, tables: Sequence[str] = ENTITY_SETS) -> None:
    """Replace the triggers of an existing log on ``tables`` by those of this release (which
    record each change's kind): on PostgreSQL their functions, on SQLite the triggers."""
    if dialect_of(connection).name == "postgresql":
        replaced = _PG_FUNCTIONS.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")
        connection.execute(text(replaced))
        return
    for trigger in triggers_of(tables):
        connection.exec_driver_sql(f"DROP TRIGGER {trigger}")
    for statement in _sqlite_statements(tables):
        connection.execute(text(statement))


def uninstall(connection: Connection, tables: Sequence[str] = ENTITY_SETS) -> None:
    """Drop what :func:`install` created but the log's row."""
    triggers = triggers_of(tables)
    if dialect_of(connection).name == "sqlite":
        statements = [f"DROP TRIGGER {trigger}" for trigger in triggers]
    else:
        statements = [f"DROP TRIGGER {trigger} ON {table}" for trigger, table in triggers.items()]
        statements += [
            "DROP FUNCTION changes_inserted(), changes_changed(), changes_members()",
            "DROP SEQUENCE change_positions",
        ]
    for statement in statements:
        connection.exec_driver_sql(statement)


def uninstall_table_triggers(connection: Connection, table: str) -> None:
    """Stop recording the changes of ``table`` (what :func:`install_table_triggers` did)."""
    postgresql = dialect_of(connection).name == "postgresql"
    for event in ("insert", "update", "delete"):
        on = f" ON {table}" if postgresql else ""
        connection.exec_driver_sql(f"DROP TRIGGER changes_{table}_{event}{on}")


def _sqlite_health_record(row: str, state: str) -> str:
    return (
        f"UPDATE {PROCESSES.table} SET health_state = {state} "
        f"WHERE tenant_id = {row}.tenant_id AND id = {row}.id; "
        "UPDATE change_log SET position = position + 1; "
        f"INSERT INTO changes ({_COLUMNS}) SELECT p.tenant_id, '{PROCESSES.table}', 0, "
        f"change_log.position, p.id, p.type, {SQLITE_NOW}, {UPDATED} "
        f"FROM change_log, {PROCESSES.table} AS p "
        f"WHERE p.tenant_id = {row}.tenant_id AND p.id = {row}.id;"
    )


_SQLITE_HEALTH = [
    "CREATE TRIGGER changes_health_insert AFTER INSERT ON expectations "
    f"BEGIN {_sqlite_health_record('NEW', 'NEW.state')} END",
    "CREATE TRIGGER changes_health_update AFTER UPDATE OF state ON expectations "
    f"WHEN OLD.state IS NOT NEW.state BEGIN {_sqlite_health_record('NEW', 'NEW.state')} END",
    "CREATE TRIGGER changes_health_delete AFTER DELETE ON expectations "
    f"BEGIN {_sqlite_health_record('OLD', 'NULL')} END",
]


def _pg_health_record(row: str, state: str) -> str:
    return (
        f"UPDATE {PROCESSES.table} SET health_state = {state} "
        f"WHERE tenant_id = {row}.tenant_id AND id = {row}.id; "
        f"INSERT INTO changes ({_COLUMNS}) SELECT p.tenant_id, '{PROCESSES.table}', {_PG_TXN}, "
        f"{_PG_POSITION}, p.id, p.type, {PG_NOW}, {UPDATED} FROM {PROCESSES.table} AS p "
        f"WHERE p.tenant_id = {row}.tenant_id AND p.id = {row}.id;"
    )


_POSTGRESQL_HEALTH = [
    f"""CREATE FUNCTION changes_health() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    {_pg_health_record("OLD", "NULL")}
  ELSE
    {_pg_health_record("NEW", "NEW.state")}
  END IF;
  RETURN NULL;
END $$""",
    "CREATE TRIGGER changes_health_insert AFTER INSERT ON expectations "
    "FOR EACH ROW EXECUTE FUNCTION changes_health()",
    "CREATE TRIGGER changes_health_update AFTER UPDATE OF state ON expectations "
    "FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state) "
    "EXECUTE FUNCTION changes_health()",
    "CREATE TRIGGER changes_health_delete AFTER DELETE ON expectations "
    "FOR EACH ROW EXECUTE FUNCTION changes_health()",
]


# A process's health is part of what a reader of processes follows (a dashboard shows it), but it
# lives in the expectation's row: a change of it (the row written, its state changed, the row
# removed) is copied to the process's ``health_state`` and recorded as a change of the process
# (revision 0012). A change the process no longer exists for is not recorded: its deletion is.
HEALTH_TRIGGERS = Triggers(
    on=all_on(
        "expectations", "changes_health_insert", "changes_health_update", "changes_health_delete"
    ),
    create={"sqlite": _SQLITE_HEALTH, "postgresql": _POSTGRESQL_HEALTH},
    functions=("changes_health",),
)
install_health_triggers = HEALTH_TRIGGERS.install
uninstall_health_triggers = HEALTH_TRIGGERS.uninstall


@dataclass(frozen=True)
class Horizon:
    """What a reader's snapshot may hand out: every change below ``key``, which will never
    change again, of the log ``epoch``."""

    epoch: str
    key: Key


def _horizon_columns(connection: Connection) -> list[ColumnElement[Any]]:
    """The log's epoch and the horizon's key, from ``change_log``."""
    txn, position = dialect_of(connection).change_horizon(change_log.c.position)
    return [change_log.c.epoch, txn.label("horizon_txn"), position.label("horizon_position")]


def horizon(connection: Connection) -> Horizon:
    """The horizon of the read transaction ``connection`` is in: call it first, so that it
    is taken in the snapshot the rest of the transaction reads."""
    row = connection.execute(select(*_horizon_columns(connection))).one()
    return Horizon(row[0], (int(row[1]), int(row[2])))


@dataclass(frozen=True)
class Change:
    """An entity's latest change in a round, and what the entity is now: whether it still
    exists, whether it is one the round's reader wants (``matching``), and then its JSON
    (as :mod:`flowruns.store.rendering` writes it, with the members the round asked for)."""

    key: Key
    entity_id: str
    type: str
    exists: bool
    matching: bool
    json: str | None


@dataclass(frozen=True)
class Round:
    """What one statement read of the log: the horizon of its snapshot, the key of the
    newest change pruned from the log (if any was), and the changes."""

    horizon: Horizon
    baseline: Key | None
    changes: list[Change]


@dataclass(frozen=True)
class Probe:
    """Whether a round holds any change, with the horizon and the baseline of the snapshot
    that said so."""

    horizon: Horizon
    baseline: Key | None
    changed: bool


def probe(
    connection: Connection,
    tenant: str,
    spec: TableSpec,
    scope_type: str,
    after: Key,
    below: Key,
    *,
    up_to_horizon: bool,
) -> Probe:
    """In one statement, so in one snapshot even outside a transaction: the horizon, the
    baseline of ``tenant``'s table ``spec``, and whether any change of an entity of
    ``scope_type`` (or a type derived from it) lies after ``after`` and before the round's end
    (``below``, or with ``up_to_horizon`` the horizon when that is further): one probe of the
    log's primary key. Most polls find nothing and end here."""
    statement = _probe(dialect_of(connection), spec, scope_type, up_to_horizon)
    parameters = {
        "tenant": tenant,
        "after_txn": after[0],
        "after_position": after[1],
        "below_txn": below[0],
        "below_position": below[1],
    }
    epoch, horizon_txn, horizon_position, baseline_txn, baseline_position, changed = queries.fetch(
        connection, statement, parameters
    )[0]
    return Probe(
        Horizon(epoch, (int(horizon_txn), int(horizon_position))),
        None if baseline_txn is None else (int(baseline_txn), int(baseline_position)),
        bool(changed),
    )


def read_round(
    connection: Connection,
    tenant: str,
    spec: TableSpec,
    scope_type: str,
    render: Rendering,
    kept: ColumnElement[bool] | None,
    after: Key,
    below: Key,
    *,
    up_to_horizon: bool,
    limit: int,
) -> Round:
    """In one snapshot: the horizon, the baseline of ``tenant``'s table ``spec``, and up to
    ``limit`` of its entities (of ``scope_type`` or a type derived from
    it) whose latest change before the round's end comes after ``after``, in the order of
    those changes, each once however often it changed, with the entity's JSON (``render``)
    when it still exists; ``matching`` when it is of those types and ``kept`` (a condition on
    the table, if any) holds.

    The round ends at ``below``, or with ``up_to_horizon`` at the horizon when that is
    further. It is :func:`probe`, then (when it found changes) the statement that reads them,
    each built and compiled once per kind of round (:func:`~flowruns.store.queries.fetch`), the
    second not when ``kept`` is given: call it inside a read transaction."""
    dialect = dialect_of(connection)
    parameters = {
        "tenant": tenant,
        "after_txn": after[0],
        "after_position": after[1],
        "below_txn": below[0],
        "below_position": below[1],
        "limit": limit,
    }
    # First whether anything changed at all: the statement that reads the changes costs
    # several times as much as the probe.
    probed = probe(connection, tenant, spec, scope_type, after, below, up_to_horizon=up_to_horizon)
    if not probed.changed:
        return Round(probed.horizon, probed.baseline, [])
    statement = _round(dialect, spec, scope_type, render.names, up_to_horizon)
    rows: Sequence[Sequence[Any]]
    if kept is None:
        rows = queries.fetch(connection, statement, parameters)
    else:
        kept_column = case((kept, true()), else_=false()).label("kept")
        rows = connection.execute(statement.add_columns(kept_column), parameters).all()
    # By position: the columns of _round, then ``kept``.
    found = []
    for row in rows:
        text, txn, position, entity_id, type_, exists, in_scope = row[:7]
        matching = bool(in_scope) and (kept is None or bool(row[7]))
        json = text if matching else None
        found.append(Change((txn, position), entity_id, type_, bool(exists), matching, json))
    return Round(probed.horizon, probed.baseline, found)


@cache
def entity_rows(spec: TableSpec) -> NamedFromClause:
    """The entity table as a round's statement joins it, under the name the rendering reads
    its columns from: a round's ``$filter`` is a condition on it."""
    return spec.table.alias(rendering.ROWS)


@dataclass(frozen=True)
class _Range:
    """What both statements of a round share: the log's epoch and horizon (a CTE named
    ``horizon``), the round's end, and the conditions on the tenant's changes of the table
    in the round."""

    log: CTE
    end: ColumnElement[Any]
    conditions: list[ColumnElement[bool]]


def _range(dialect: Dialect, spec: TableSpec, scope_type: str, up_to_horizon: bool) -> _Range:
    txn, position = dialect.change_horizon(change_log.c.position)
    log = select(
        change_log.c.epoch, txn.label("horizon_txn"), position.label("horizon_position")
    ).cte("horizon")
    c = changes.c
    end_txn: ColumnElement[Any] = bindparam("below_txn", type_=BigInteger())
    end_position: ColumnElement[Any] = bindparam("below_position", type_=BigInteger())
    if up_to_horizon:
        # Each a value computed once (not a join), so both engines range over the log by it.
        further = tuple_(log.c.horizon_txn, log.c.horizon_position) > tuple_(end_txn, end_position)
        end_txn, end_position = (
            select(case((further, log.c[name]), else_=given)).scalar_subquery()
            for name, given in (("horizon_txn", end_txn), ("horizon_position", end_position))
        )
    end = tuple_(end_txn, end_position)
    key = tuple_(c.txn, c.position)
    tenant = bindparam("tenant", type_=c.tenant_id.type)
    conditions = [
        c.tenant_id == tenant,
        c.entity_set == spec.table.name,
        key > tuple_(bindparam("after_txn"), bindparam("after_position")),
        key < end,
    ]
    types = spec.type_filters[scope_type]
    if types is not None:
        conditions.append(c.type.in_(types))
    return _Range(log, end, conditions)


@lru_cache(maxsize=64)
def _probe(dialect: Dialect, spec: TableSpec, scope_type: str, up_to_horizon: bool) -> Select[Any]:
    """The log's epoch, the horizon, the baseline, and whether the round holds any change: a
    change in the range is some entity's latest change in it or is followed by one."""
    in_range = _range(dialect, spec, scope_type, up_to_horizon)
    log, b = in_range.log, change_baselines.c
    changed = select(changes.c.position).where(*in_range.conditions).exists()
    # The baseline's row joined once (two scalar subqueries would look it up twice).
    baseline = and_(
        b.tenant_id == bindparam("tenant", type_=b.tenant_id.type),
        b.entity_set == spec.table.name,
    )
    return select(
        log.c.epoch,
        log.c.horizon_txn,
        log.c.horizon_position,
        b.txn.label("baseline_txn"),
        b.position.label("baseline_position"),
        case((changed, 1), else_=0).label("changed"),
    ).select_from(log.outerjoin(change_baselines, baseline))


@lru_cache(maxsize=64)
def _round(
    dialect: Dialect,
    spec: TableSpec,
    scope_type: str,
    names: frozenset[str] | None,
    up_to_horizon: bool,
) -> Select[Any]:
    """The statement that reads a round's changes, built once per table, type scope,
    ``$select`` and kind of round: a poll costs little more than executing it."""
    in_range = _range(dialect, spec, scope_type, up_to_horizon)
    c = changes.c
    table = entity_rows(spec)
    later = aliased(changes)
    # A column of ix_changes_entity, not `*`: SQLite then reads the probe from that index
    # (by entity) rather than ranging over the tenant's whole log by primary key.
    superseded = (
        select(later.c.position)
        .where(
            later.c.tenant_id == c.tenant_id,
            later.c.entity_set == c.entity_set,
            later.c.entity_id == c.entity_id,
            tuple_(later.c.txn, later.c.position) > tuple_(c.txn, c.position),
            tuple_(later.c.txn, later.c.position) < in_range.end,
        )
        .exists()
    )
    latest = (
        select(c.txn, c.position, c.entity_id, c.type)
        .where(*in_range.conditions, ~superseded)
        .order_by(c.txn, c.position)
        .limit(bindparam("limit"))
        .subquery("latest")
    )
    in_scope: ColumnElement[bool] = table.c.id.is_not(None)
    types = spec.type_filters[scope_type]
    if types is not None:
        in_scope = and_(in_scope, table.c.type.in_(types))
    tenant = bindparam("tenant", type_=c.tenant_id.type)
    return (
        select(
            rendering.entity_json(dialect, spec, scope_type, names).label("entity_json"),
            latest.c.txn.label("change_txn"),
            latest.c.position.label("change_position"),
            latest.c.entity_id.label("change_entity"),
            latest.c.type.label("change_type"),
            # Integers, not booleans: rows read on SQLite's cursor then need no conversion.
            case((table.c.id.is_not(None), 1), else_=0).label("found"),
            case((in_scope, 1), else_=0).label("in_scope"),
        )
        .select_from(
            latest.outerjoin(
                table, and_(table.c.tenant_id == tenant, table.c.id == latest.c.entity_id)
            )
        )
        .order_by(latest.c.txn, latest.c.position)
    )


def tenants(connection: Connection) -> list[str]:
    """Every tenant with changes in the log, found by skipping through the primary key."""
    rows = connection.execute(
        text(
            "WITH RECURSIVE t(id) AS ("
            " SELECT min(tenant_id) FROM changes"
            " UNION ALL"
            " SELECT (SELECT min(tenant_id) FROM changes WHERE tenant_id > t.id)"
            " FROM t WHERE t.id IS NOT NULL"
            ") SELECT id FROM t WHERE id IS NOT NULL"
        )
    )
    return [row[0] for row in rows]


def prune(connection: Connection, tenant: str, entity_set: str, before: int) -> int:
    """Remove up to :data:`PRUNE_BATCH` of the tenant's oldest changes of ``entity_set`` made
    before ``before`` (ticks), oldest key first, stopping at the first newer one; record the
    newest key removed as the baseline. How many were removed."""
    c = changes.c
    oldest = connection.execute(
        select(c.txn, c.position, c.changed)
        .where(c.tenant_id == tenant, c.entity_set == entity_set)
        .order_by(c.txn, c.position)
        .limit(PRUNE_BATCH)
    ).all()
    expired = 0
    for row in oldest:
        if row.changed >= before:
            break
        expired += 1
    if not expired:
        return 0
    last = oldest[expired - 1]
    newest: Key = (int(last.txn), int(last.position))
    connection.execute(
        changes.delete().where(
            c.tenant_id == tenant,
            c.entity_set == entity_set,
            tuple_(c.txn, c.position) <= tuple_(*newest),
        )
    )
    _raise_baseline(connection, tenant, entity_set, newest)
    return expired


def _raise_baseline(connection: Connection, tenant: str, entity_set: str, key: Key) -> None:
    module = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = module.insert(change_baselines).values(
        tenant_id=tenant, entity_set=entity_set, txn=key[0], position=key[1]
    )
    b = change_baselines.c
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=[b.tenant_id, b.entity_set],
            set_={"txn": statement.excluded.txn, "position": statement.excluded.position},
            where=tuple_(b.txn, b.position)
            < tuple_(statement.excluded.txn, statement.excluded.position),
        )
    )
