"""The runs downstream of a failure, kept by the database: whether a run read a dataset that a
failed run had written before it started.

That is the lineage question ``runs?$filter=inputs/any(i: i/dataset/writes/any(w: w/runStatus
eq 'failed' and w/runStartDateTime le i/runStartDateTime))``. Answered from the accesses alone,
it probes the runs newest first until a page of them matches, so it costs what the matches'
rarity costs (twenty runs read for each one kept when one in twenty matches). Kept with each run
as ``runs.read_after_failed_write`` (not a member of Graph's type: a column of the row only),
it is a range of the partial index ``ix_runs_read_after_failed_write`` in the runs' order, and
the compiler answers that ``any`` from it (store/compiler.py).

**Triggers keep it** in the transaction of every write, whichever code path writes, from the
accesses: their copy of the run's status and start is kept by store/datasets.py's trigger on
``runs``, so a run that fails, a run whose start moves and an access recorded or removed all
come here as a change of an access:

- an input recorded: its run is flagged if a failed write of its dataset started no later;
- an input removed, or its run's start moved: its run's flag is computed again;
- a failed write recorded, a write whose status or start moved from or to failed, or a failed
  write removed: the flags of the runs that read its dataset no earlier than the write (the only
  ones it can change) are computed again.

A run's flag, computed: one seek per input in ``ux_dataset_accesses_run``, then one in
``ix_dataset_accesses_status`` for a failed write of the input's dataset no later than the read.
"""

from __future__ import annotations

from sqlalchemy import Connection

from flowruns.edm.industrydata import dataset_access_direction, run_status
from flowruns.store.dialect import dialect_of
from flowruns.store.triggers import Triggers, all_on

INPUT = dataset_access_direction.value_of("input")
OUTPUT = dataset_access_direction.value_of("output")
FAILED = run_status.value_of("failed")


def _failed_write_before(tenant: str, dataset: str, start: str) -> str:
    """SQL: whether the dataset has a write by a failed run that started no later than
    ``start`` (all three SQL expressions)."""
    return (
        f"EXISTS (SELECT 1 FROM dataset_accesses w WHERE w.tenant_id = {tenant} "
        f"AND w.dataset_id = {dataset} AND w.direction = {OUTPUT} "
        f"AND w.run_status = {FAILED} AND w.run_start_date_time <= {start})"
    )


# SQL: the flag of the row of ``runs`` being updated, computed from its inputs.
_READ_AFTER_FAILURE = (
    "EXISTS (SELECT 1 FROM dataset_accesses i WHERE i.tenant_id = runs.tenant_id "
    f"AND i.run_id = runs.id AND i.direction = {INPUT} AND "
    + _failed_write_before("i.tenant_id", "i.dataset_id", "i.run_start_date_time")
    + ")"
)


def _set_run(row: str, differs: str) -> str:
    """SQL that computes again the flag of the run of access ``row``."""
    return (
        f"UPDATE runs SET read_after_failed_write = NOT read_after_failed_write "
        f"WHERE tenant_id = {row}.tenant_id AND id = {row}.run_id "
        f"AND read_after_failed_write {differs} {_READ_AFTER_FAILURE};"
    )


def _set_readers(row: str, since: str, differs: str) -> str:
    """SQL that computes again the flags of the runs that read the dataset of access ``row``
    at or after ``since``."""
    return (
        f"UPDATE runs SET read_after_failed_write = NOT read_after_failed_write "
        f"WHERE tenant_id = {row}.tenant_id AND id IN (SELECT r.run_id FROM dataset_accesses r "
        f"WHERE r.tenant_id = {row}.tenant_id AND r.dataset_id = {row}.dataset_id "
        f"AND r.direction = {INPUT} AND r.run_start_date_time >= {since}) "
        f"AND read_after_failed_write {differs} {_READ_AFTER_FAILURE};"
    )


_FLAG_INPUT = (
    "UPDATE runs SET read_after_failed_write = {true} "
    "WHERE tenant_id = NEW.tenant_id AND id = NEW.run_id AND NOT read_after_failed_write AND "
    + _failed_write_before("NEW.tenant_id", "NEW.dataset_id", "NEW.run_start_date_time")
    + ";"
)
# The earlier of a write's start before and after an update (either may be null).
_SINCE = (
    "{least}(coalesce(OLD.run_start_date_time, NEW.run_start_date_time), "
    "coalesce(NEW.run_start_date_time, OLD.run_start_date_time))"
)
# A write that was or is failed, whose status or start changed.
_MOVED = (
    "(OLD.run_status = {failed} OR NEW.run_status = {failed}) "
    "AND (OLD.run_status {differs} NEW.run_status "
    "OR OLD.run_start_date_time {differs} NEW.run_start_date_time)"
)


# Each trigger: its event and the condition it fires on, the same on both engines.
def _triggers(differs: str) -> dict[str, tuple[str, str]]:
    return {
        "downstream_input_insert": ("INSERT", f"NEW.direction = {INPUT}"),
        "downstream_input_delete": ("DELETE", f"OLD.direction = {INPUT}"),
        "downstream_input_update": (
            "UPDATE OF run_start_date_time",
            f"NEW.direction = {INPUT} "
            f"AND OLD.run_start_date_time {differs} NEW.run_start_date_time",
        ),
        "downstream_output_insert": (
            "INSERT",
            f"NEW.direction = {OUTPUT} AND NEW.run_status = {FAILED}",
        ),
        "downstream_output_update": (
            "UPDATE OF run_status, run_start_date_time",
            f"NEW.direction = {OUTPUT} AND {_MOVED.format(failed=FAILED, differs=differs)}",
        ),
        "downstream_output_delete": (
            "DELETE",
            f"OLD.direction = {OUTPUT} AND OLD.run_status = {FAILED}",
        ),
    }


def _sqlite_statements() -> list[str]:
    differs = "IS NOT"
    since = _SINCE.format(least="min")
    bodies = {
        "downstream_input_insert": _FLAG_INPUT.format(true=1),
        "downstream_input_delete": _set_run("OLD", differs),
        "downstream_input_update": _set_run("NEW", differs),
        "downstream_output_insert": _set_readers("NEW", "NEW.run_start_date_time", differs),
        "downstream_output_update": _set_readers("NEW", since, differs),
        "downstream_output_delete": _set_readers("OLD", "OLD.run_start_date_time", differs),
    }
    return [
        f"CREATE TRIGGER {name} AFTER {event} ON dataset_accesses WHEN {when} "
        f"BEGIN {bodies[name]} END"
        for name, (event, when) in _triggers(differs).items()
    ]


def _postgresql_statements() -> list[str]:
    differs = "IS DISTINCT FROM"
    since = _SINCE.format(least="least")
    # One function for the six triggers, which say when it runs: by the operation and the
    # access's direction it knows which trigger called it.
    body = (
        "BEGIN\n"
        "IF TG_OP = 'INSERT' THEN\n"
        f"  IF NEW.direction = {INPUT} THEN {_FLAG_INPUT.format(true='true')}\n"
        f"  ELSE {_set_readers('NEW', 'NEW.run_start_date_time', differs)} END IF;\n"
        "ELSIF TG_OP = 'DELETE' THEN\n"
        f"  IF OLD.direction = {INPUT} THEN {_set_run('OLD', differs)}\n"
        f"  ELSE {_set_readers('OLD', 'OLD.run_start_date_time', differs)} END IF;\n"
        f"ELSIF NEW.direction = {INPUT} THEN {_set_run('NEW', differs)}\n"
        f"ELSE {_set_readers('NEW', since, differs)}\n"
        "END IF;\n"
        "RETURN NULL; END"
    )
    return [
        "CREATE FUNCTION downstream() RETURNS trigger LANGUAGE plpgsql AS $$\n" + body + " $$",
        *(
            f"CREATE TRIGGER {name} AFTER {event} ON dataset_accesses FOR EACH ROW "
            f"WHEN ({when}) EXECUTE FUNCTION downstream()"
            for name, (event, when) in _triggers(differs).items()
        ),
    ]


# The triggers that keep ``runs.read_after_failed_write``.
TRIGGERS = Triggers(
    on=all_on("dataset_accesses", *_triggers("IS NOT")),
    create={"sqlite": _sqlite_statements(), "postgresql": _postgresql_statements()},
    functions=("downstream",),
)
install, uninstall = TRIGGERS.install, TRIGGERS.uninstall


def refresh(connection: Connection) -> int:
    """Compute every run's flag from the accesses, as the triggers would have: after a bulk
    load that went in without them (:func:`uninstall`), or when the column is new; how many
    runs changed."""
    differs = "IS DISTINCT FROM" if dialect_of(connection).name == "postgresql" else "IS NOT"
    result = connection.exec_driver_sql(
        "UPDATE runs SET read_after_failed_write = NOT read_after_failed_write "
        f"WHERE read_after_failed_write {differs} {_READ_AFTER_FAILURE}"
    )
    return int(result.rowcount)
