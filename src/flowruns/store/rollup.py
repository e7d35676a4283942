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

**Read in place of the runs** by ``$apply`` where the counts give the same answer
(:mod:`flowruns.store.aggregating` decides), and by the ``flowruns_runs`` metric.
"""

from __future__ import annotations

from sqlalchemy import Connection, func, select, text
from sqlalchemy.sql.expression import FromClause

from flowruns.edm.industrydata import run_status
from flowruns.odata.literals import TICKS_PER_DAY
from flowruns.store.dialect import dialect_of
from flowruns.store.schema import run_days
from flowruns.store.triggers import Triggers, all_on

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


# The triggers that keep ``run_days``.
TRIGGERS = Triggers(
    on=all_on("runs", "run_days_insert", "run_days_delete", "run_days_update"),
    create={"sqlite": _sqlite_statements(), "postgresql": _postgresql_statements()},
    functions=("run_days_inserted", "run_days_changed"),
)
install, uninstall = TRIGGERS.install, TRIGGERS.uninstall


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
    """Move up to :data:`FOLD_BATCH` slot rows into slot 0; how many were moved. Only an
    engine with concurrent writers counts in slots: on SQLite there is never anything to fold."""
    if not dialect_of(connection).concurrent_writers:
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


def runs_by_status(connection: Connection) -> dict[str, int]:
    """How many runs of all tenants have each status (statuses no run has are left out): a
    few rows a day, not a scan of every run."""
    rows = connection.execute(
        select(run_days.c.status, func.sum(run_days.c.runs)).group_by(run_days.c.status)
    ).all()
    return {run_status.members[value]: int(number) for value, number in rows}
