"""Dataset freshness: a dataset expected to be written successfully at least every
``writtenEvery`` (its freshness expectation, ``datasets/{id}/expectation``), evaluated as
processes are against theirs, and the stale incidents that record each time it was not
(docs/lineage.md#freshness).

**What.** A dataset's deadline is its last successful write (``lastWrittenDateTime``, kept by
the database) plus ``writtenEvery``; for a dataset no successful run has written yet, the
expectation's creation or last change (or the end of a pause) plus ``writtenEvery``. Past the
deadline the dataset is **stale** and one incident opens, at the deadline (or, for a dataset
already stale when the expectation was written or a pause ended, at that moment), naming the
last write; the next successful write resolves it, at that write's end. Its state is ``fresh``
before the deadline, ``unknown`` while a dataset never written is within its first period,
``stale``, or ``paused``.

**When.** The pass of process health (service/health.py) evaluates the datasets due too: a
dataset is due at its deadline, at the end of a pause, within seconds of a change of its
freshness (store/freshness.py's trigger), and at the latest hourly.

**Writing** the expectation (``PUT``/``PATCH``/``DELETE``) needs the Run permission, as reading
datasets does; a write starts the evaluation afresh (open incidents resolve, the deadline counts
from now at the earliest) and evaluates the dataset at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flowruns.edm.datetimes import format_ticks, now_ticks
from flowruns.edm.industrydata import FRESHNESS
from flowruns.errors import InvalidRequest, NotFound
from flowruns.odata.deserialize import EntityBody
from flowruns.odata.literals import format_duration
from flowruns.odata.path import EntityRef
from flowruns.records import Record, new_etag
from flowruns.service.expectations import members
from flowruns.service.health import Incidents, in_batches, refresh_ticks
from flowruns.service.resources import resolve_entity
from flowruns.service.schedules import parse_positive_duration
from flowruns.service.writing import check_if_match
from flowruns.store import freshness as rows
from flowruns.store.database import Database, Transaction
from flowruns.store.freshness import Evaluation, Watched

MEMBERS = tuple(p.name for p in FRESHNESS.type.properties if not p.read_only)
MAX_TAGS = 50


def check(values: dict[str, Any]) -> int:
    """``writtenEvery`` in ticks; 400 naming the first member that is not valid."""
    every = values.get("writtenEvery")
    if every is None:
        raise InvalidRequest("writtenEvery is required.", target="writtenEvery")
    ticks = parse_positive_duration(every, "writtenEvery")
    tags = values.get("tags")
    if tags is not None and len(tags) > MAX_TAGS:
        raise InvalidRequest(f"tags holds at most {MAX_TAGS} tags.", target="tags")
    if values.get("pausedUntil") is not None and not values.get("paused"):
        raise InvalidRequest("pausedUntil needs paused to be true.", target="pausedUntil")
    return ticks


def evaluate(transaction: Transaction, watched: Watched, now: int) -> Evaluation:
    """Evaluate one dataset (its row locked by the caller) as of ``now``: open or resolve its
    stale incident and return its new evaluation (which the caller saves)."""
    values = watched.expectation.values
    every = parse_positive_duration(values["writtenEvery"], "writtenEvery")
    before = watched.evaluation
    paused_until = values.get("pausedUntil")
    if values.get("paused") and (paused_until is None or now < paused_until):
        due = paused_until if paused_until is not None else now + refresh_ticks()
        return _settled(before, "paused", now, None, before.since, due)
    since = before.since if paused_until is None else max(before.since, paused_until)
    incidents = Incidents(transaction, watched.tenant, watched.expectation.id, dataset=True)
    last = watched.last_written
    deadline = (since if last is None else last) + every
    if now >= deadline:
        if last is None:
            said = "no successful run has written it yet"
        else:
            said = f"not written by a successful run since {format_ticks(last)}"
        incidents.opens(
            "stale",
            max(deadline, since),
            f"{watched.name}: {said} (expected every {format_duration(every)}).",
            run_id=watched.last_written_run,
            expected=deadline,
        )
        return _settled(before, "stale", now, deadline, since, now + refresh_ticks())
    stale = incidents.open.get("stale")
    if stale is not None:
        # The write that ended it; one that ended before the incident opened (recorded late)
        # ends it when it opened.
        opened = stale.values["openedDateTime"]
        incidents.resolves("stale", opened if last is None else max(last, opened))
    state = "unknown" if last is None else "fresh"
    return _settled(before, state, now, deadline, since, min(deadline, now + refresh_ticks()))


def _settled(
    before: Evaluation, state: str, now: int, write_due: int | None, since: int, due: int
) -> Evaluation:
    changed = before.changed if state == before.state else now
    return Evaluation(state, changed, write_due, since, max(due, now + 1))


def _save(transaction: Transaction, watched: Watched, evaluation: Evaluation) -> None:
    """Save an evaluation; the expectation gets a new version when what it shows changed."""
    before = watched.evaluation
    shown = (before.state, before.changed, before.write_due)
    moved = shown != (evaluation.state, evaluation.changed, evaluation.write_due)
    etag = new_etag() if moved else None
    rows.save_evaluation(transaction, watched.tenant, watched.expectation.id, evaluation, etag)


def evaluate_due(db: Database, now: Callable[[], int] = now_ticks) -> int:
    """Evaluate every dataset due at ``now()``, a batch per transaction; how many."""

    def judge(transaction: Transaction, watched: Watched, moment: int) -> None:
        _save(transaction, watched, evaluate(transaction, watched, moment))

    return in_batches(db, now, rows.due, judge)


def write(
    db: Database,
    tenant: str,
    ref: EntityRef,
    body: EntityBody,
    if_match: str | None,
    *,
    replace: bool,
) -> tuple[Record, bool]:
    """``PUT`` (``replace``: members absent from the body become null; creates the expectation
    when the dataset has none) or ``PATCH`` (404 when there is none); the expectation as
    evaluated, and whether it was created."""
    assert ref.via is not None
    now = now_ticks()
    with db.writing() as transaction:
        dataset = resolve_entity(transaction, tenant, ref.via.source)
        existing = rows.get(transaction, tenant, dataset.id)
        if existing is None and not replace:
            raise NotFound(f"The dataset '{dataset.id}' has no expectation; create it with PUT.")
        before = None if existing is None else existing.expectation
        values = members(before, body, MEMBERS, if_match, replace)
        check(values)
        if existing is not None:
            Incidents(transaction, tenant, dataset.id, dataset=True).resolve_all(now)
        establish(transaction, tenant, dataset, values, now, now, created=existing is None)
        found = rows.get(transaction, tenant, dataset.id)
    assert found is not None
    return found.expectation, existing is None


def establish(
    transaction: Transaction,
    tenant: str,
    dataset: Record,
    values: dict[str, Any],
    since: int,
    now: int,
    *,
    created: bool,
) -> None:
    """Save ``dataset``'s freshness expectation with the members ``values`` as set at ``since``
    (nothing before it counts) and evaluate it as of ``now``: what a write of it does, and what
    the demo history seeds."""
    record = Record(
        type=FRESHNESS.type,
        id=dataset.id,
        etag=new_etag(),
        values={**values, "lastModifiedDateTime": since},
    )
    start = Evaluation("unknown", since, None, since, since)
    rows.save(transaction, tenant, record, start, created=created)
    watched = Watched(
        tenant,
        record,
        start,
        str(dataset.values["name"]),
        dataset.values.get("lastWrittenDateTime"),
        dataset.values.get("lastWrittenRunId"),
    )
    rows.save_evaluation(transaction, tenant, dataset.id, evaluate(transaction, watched, now), None)


def remove(db: Database, tenant: str, ref: EntityRef, if_match: str | None) -> None:
    """Remove the expectation; its open incident resolves."""
    assert ref.via is not None
    now = now_ticks()
    with db.writing() as transaction:
        dataset = resolve_entity(transaction, tenant, ref.via.source)
        existing = rows.get(transaction, tenant, dataset.id)
        if existing is None:
            raise NotFound(f"The dataset '{dataset.id}' has no expectation.")
        check_if_match(existing.expectation, if_match)
        Incidents(transaction, tenant, dataset.id, dataset=True).resolve_all(now)
        rows.remove(transaction, tenant, dataset.id)
