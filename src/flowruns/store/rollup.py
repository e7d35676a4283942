"""Runs counted per UTC day of their start, type and status: an aggregate index.

A dashboard asks "how many runs per day and status over the last 30 days" and "how many runs
per status". Counted from the runs themselves, that is a scan of every run in the range —
170,000 rows for 30 days of a million-run history, ~200 ms. The ``run_days`` table keeps the
answer counted in advance: per (tenant, day, type, status) the number of runs, so such a
question reads at most a few thousand rows instead (18 per day with the model's three run types
and six statuses). Processes are not a dimension: with one, the table grows with the number of
processes (a million runs of 200 processes over 180 days counted 300,000 rows, and a 30-day
chart took 30 ms instead of 2); a process's own runs are found by index anyway.

**Kept by the database.** Triggers on ``runs`` add and subtract as rows are inserted, deleted or
change one of those columns, in the same transaction as the change, whichever code path writes
(the API, the stale-run check, ``demo seed``, ``db copy``). On PostgreSQL inserts are counted
once per statement from the statement's new rows, so a ``COPY`` of a million runs adds one
grouped upsert rather than a million; updates and deletes are counted per row, and only when
they touch a counted column (a statistics update costs nothing here).

**Slots.** A count is the sum of its rows over ``slot``. On PostgreSQL each connection adds to
its own slot (1-1000, from its backend process id): otherwise every writer of a tenant would
update the one row of today's running runs and hold its lock until commit, and writers would
commit one at a time (eight writers measured 0.36 of their throughput without counts; with
slots, see docs/performance.md). A slot's count may go below zero — a run counted in one slot
is finished through another connection — only the sum means anything. :func:`fold` moves the
slots' counts into slot 0, which only it writes, so the table stays about one row per count.
SQLite has one writer at a time and counts in slot 0 alone.

**Used when it gives the same answer.** An ``$apply`` is answered from ``run_days`` only if
every expression in it is *day-exact*: determined by the run's start day, type and status alone
(:func:`answers`). ``date(startDateTime)``, ``year``/``month``/``day`` of it,
``startDateTime ge`` or ``lt`` a UTC midnight, ``status``, type tests and casts qualify;
``hour(startDateTime)``, ``startDateTime gt`` a midnight, ``displayName``, ``statistics`` and
the process do not. The counts are read summed over slots, each day under the runs' own column
name (the ticks of its midnight), so the one expression compiler compiles the same typed tree
against them as against the runs; only ``$count`` changes, from counting rows to summing their
counts (and counts back at zero are left out, so they never form a group).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Connection, func, select, text
from sqlalchemy.sql.expression import FromClause

from flowruns.odata import semantic as s
from flowruns.odata.aggregation import Aggregate, Aggregation
from flowruns.odata.literals import TICKS_PER_DAY
from flowruns.store.entities import Scope
from flowruns.store.schema import run_days, runs

SLOTS = 1000


def _day(start: str) -> str:
    """SQL for the first tick of the UTC day of ``start`` (a column): floor division, right for
    the (rare) start before 1970 too."""
    d = TICKS_PER_DAY
    return f"({start} - (({start} % {d}) + {d}) % {d})"


_COUNTED = ("start_date_time", "type", "status")
_KEY = "tenant_id, start_date_time, type, status, slot"

_SQLITE_ADD = f"""
INSERT INTO run_days ({_KEY}, runs) VALUES (NEW.tenant_id, {{day}}, NEW.type, NEW.status, 0, 1)
ON CONFLICT ({_KEY}) DO UPDATE SET runs = runs + 1;
"""
_SQLITE_SUBTRACT = """
UPDATE run_days SET runs = runs - 1
WHERE tenant_id = OLD.tenant_id AND start_date_time = {day} AND type = OLD.type
  AND status = OLD.status AND slot = 0;
"""


def _sqlite_statements() -> list[str]:
    add = _SQLITE_ADD.format(day=_day("NEW.start_date_time"))
    subtract = _SQLITE_SUBTRACT.format(day=_day("OLD.start_date_time"))
    changed = " OR ".join(_changed(column, "IS NOT") for column in _COUNTED)
    return [
        f"CREATE TRIGGER run_days_insert AFTER INSERT ON runs BEGIN {add} END",
        f"CREATE TRIGGER run_days_delete AFTER DELETE ON runs BEGIN {subtract} END",
        f"CREATE TRIGGER run_days_update AFTER UPDATE OF {', '.join(_COUNTED)} ON runs "
        f"WHEN {changed} BEGIN {subtract} {add} END",
    ]


def _changed(column: str, differs: str) -> str:
    """Whether an update changed a counted column (``differs``: the dialect's null-safe
    inequality); for the start, whether it changed its day."""
    if column == "start_date_time":
        return f"{_day('OLD.start_date_time')} {differs} {_day('NEW.start_date_time')}"
    return f"OLD.{column} {differs} NEW.{column}"


# This connection's slot, 1-1000 (slot 0 is the folded counts'); connections rarely share one.
_PG_SLOT = f"(1 + pg_backend_pid() % {SLOTS})"
_PG_INSERTED = f"""
CREATE FUNCTION run_days_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO run_days AS d ({_KEY}, runs)
  SELECT tenant_id, {{day}}, type, status, {_PG_SLOT}, count(*) FROM new_runs
  GROUP BY 1, 2, 3, 4
  ORDER BY 1, 2, 3, 4
  ON CONFLICT ({_KEY}) DO UPDATE SET runs = d.runs + EXCLUDED.runs;
  RETURN NULL;
END $$
"""
_PG_CHANGED = f"""
CREATE FUNCTION run_days_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO run_days AS d ({_KEY}, runs)
  VALUES (OLD.tenant_id, {{old_day}}, OLD.type, OLD.status, {_PG_SLOT}, -1)
  ON CONFLICT ({_KEY}) DO UPDATE SET runs = d.runs - 1;
  IF TG_OP = 'UPDATE' THEN
    INSERT INTO run_days AS d ({_KEY}, runs)
    VALUES (NEW.tenant_id, {{new_day}}, NEW.type, NEW.status, {_PG_SLOT}, 1)
    ON CONFLICT ({_KEY}) DO UPDATE SET runs = d.runs + 1;
  END IF;
  RETURN NULL;
END $$
"""


def _postgresql_statements() -> list[str]:
    changed = " OR ".join(_changed(column, "IS DISTINCT FROM") for column in _COUNTED)
    return [
        _PG_INSERTED.format(day=_day("start_date_time")),
        _PG_CHANGED.format(
            old_day=_day("OLD.start_date_time"), new_day=_day("NEW.start_date_time")
        ),
        "CREATE TRIGGER run_days_insert AFTER INSERT ON runs REFERENCING NEW TABLE AS new_runs "
        "FOR EACH STATEMENT EXECUTE FUNCTION run_days_inserted()",
        "CREATE TRIGGER run_days_delete AFTER DELETE ON runs "
        "FOR EACH ROW EXECUTE FUNCTION run_days_changed()",
        f"CREATE TRIGGER run_days_update AFTER UPDATE OF {', '.join(_COUNTED)} ON runs "
        f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION run_days_changed()",
    ]


TRIGGERS = ("run_days_insert", "run_days_delete", "run_days_update")


def install(connection: Connection) -> None:
    """Create the triggers that keep ``run_days`` (the table exists already)."""
    postgres = connection.dialect.name == "postgresql"
    for statement in _postgresql_statements() if postgres else _sqlite_statements():
        connection.execute(text(statement))  # text(): '%' is not a placeholder


def uninstall(connection: Connection) -> None:
    """Drop what :func:`install` created."""
    postgres = connection.dialect.name == "postgresql"
    for trigger in TRIGGERS:
        connection.exec_driver_sql(f"DROP TRIGGER {trigger}" + (" ON runs" if postgres else ""))
    if postgres:
        connection.exec_driver_sql("DROP FUNCTION run_days_inserted(), run_days_changed()")


def recount(connection: Connection) -> None:
    """Count ``run_days`` afresh from ``runs`` (for a table that has none yet)."""
    day = _day("start_date_time")
    connection.execute(
        text(
            f"INSERT INTO run_days ({_KEY}, runs) "
            f"SELECT tenant_id, {day}, type, status, 0, count(*) FROM runs GROUP BY 1, 2, 3, 4"
        )
    )


# Rows folded per statement, and how: the slots' rows no writer holds (SKIP LOCKED: folding
# never waits for a writer, so it cannot deadlock with one), deleted and added to slot 0 in
# key order (two folds at once lock slot 0's rows in one order).
FOLD_BATCH = 5000
_FOLD = f"""
WITH picked AS (
  SELECT {_KEY} FROM run_days WHERE slot <> 0 LIMIT {FOLD_BATCH} FOR UPDATE SKIP LOCKED
), moved AS (
  DELETE FROM run_days AS d USING picked AS p
  WHERE d.tenant_id = p.tenant_id AND d.start_date_time = p.start_date_time AND d.type = p.type
    AND d.status = p.status AND d.slot = p.slot
  RETURNING d.tenant_id, d.start_date_time, d.type, d.status, d.runs
)
INSERT INTO run_days AS d ({_KEY}, runs)
SELECT tenant_id, start_date_time, type, status, 0, sum(runs) FROM moved
GROUP BY 1, 2, 3, 4
ORDER BY 1, 2, 3, 4
ON CONFLICT ({_KEY}) DO UPDATE SET runs = d.runs + EXCLUDED.runs
"""


def fold(connection: Connection) -> int:
    """Move up to :data:`FOLD_BATCH` slot rows into slot 0 (PostgreSQL); how many were moved."""
    if connection.dialect.name != "postgresql":
        return 0
    return connection.execute(text(_FOLD)).rowcount


def counts(tenant: str) -> FromClause:
    """The counts of ``tenant``'s runs per day, type and status, summed over slots, as rows
    with the runs' column names and ``runs``."""
    key = [run_days.c.tenant_id, run_days.c.start_date_time, run_days.c.type, run_days.c.status]
    summed = (
        select(*key, func.sum(run_days.c.runs).label("runs"))
        .where(run_days.c.tenant_id == tenant)
        .group_by(*key)
    )
    return summed.subquery("run_days")


# -- answering from run_days -----------------------------------------------------------------

_DAY_FUNCTIONS = frozenset({"date", "year", "month", "day"})


def answers(table: FromClause, scope: Scope, aggregation: Aggregation) -> bool:
    """Whether ``run_days`` gives the same answer for ``aggregation`` over the rows of
    ``table`` in ``scope``: the runs, of any types and statuses, not of one process or group."""
    return (
        table is runs
        and scope.process_id is None
        and scope.group_id is None
        and all(_day_exact(f) for f in aggregation.filters)
        and all(_day_exact(k.expr) for k in aggregation.keys)
        and all(_countable(a) for a in aggregation.aggregates)
    )


def _countable(aggregate: Aggregate) -> bool:
    if aggregate.expr is None:
        return True
    # Counting distinct values and the least or greatest one see the same set of values in
    # the counted rows as in the runs; sums and averages would need each run's value.
    return aggregate.method in ("countdistinct", "min", "max") and _day_exact(aggregate.expr)


def _is_start(expr: s.Expr) -> bool:
    return (
        isinstance(expr, s.Column)
        and isinstance(expr.source, s.It)
        and expr.property.name == "startDateTime"
    )


def _midnight(expr: s.Expr) -> bool:
    if not isinstance(expr, s.Const) or not isinstance(expr.value, int):
        return False
    return expr.type.kind is s.Kind.DATE or expr.value % TICKS_PER_DAY == 0


def _start_bound(expr: s.Compare) -> bool:
    """``startDateTime ge|lt <midnight>`` (either way round): true of a run exactly when it
    is true of its day's midnight. ``gt``/``le``/``eq`` a midnight are not: they tell the
    run that started at midnight from the one that started later that day."""
    flipped = {"ge": "le", "lt": "gt"}
    if _is_start(expr.left) and _midnight(expr.right):
        return expr.op in flipped
    if _is_start(expr.right) and _midnight(expr.left):
        return expr.op in flipped.values()
    return False


def _day_exact(expr: s.Expr) -> bool:
    """Whether ``expr`` has the same value for every run of one day, type and status."""
    match expr:
        case s.Const():
            return True
        case s.Column(source=s.It(), property=prop):
            return prop.name == "status"
        case s.TypeTest(source=s.It()):
            return True
        case s.Function(name=name, args=(arg,)) if name in _DAY_FUNCTIONS and _is_start(arg):
            return True
        case s.Function(args=args):
            return all(_day_exact(a) for a in args)
        case s.Compare() if _start_bound(expr):
            return True
        case s.Compare(left=left, right=right) | s.Logical(left=left, right=right):
            return _day_exact(left) and _day_exact(right)
        case s.Arithmetic(left=left, right=right):
            return _day_exact(left) and _day_exact(right)
        case s.Unary(operand=operand):
            return _day_exact(operand)
        case s.In(operand=operand, items=items):
            return _day_exact(operand) and all(_day_exact(i) for i in items)
    return False


def counted(table: FromClause) -> ColumnElement[bool]:
    """Rows of ``run_days`` that stand for runs (a count back at zero stands for none)."""
    return table.c.runs > 0


def count(table: FromClause) -> ColumnElement[int]:
    """``$count`` over ``run_days`` rows: the sum of their counts (0 for no rows)."""
    return func.coalesce(func.sum(table.c.runs), 0)
