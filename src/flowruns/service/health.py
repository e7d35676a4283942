"""Process health: evaluating each process against its expectation, and the incidents that
record each departure (docs/monitoring.md).

**When.** Every server process runs :func:`evaluate_forever`: every :data:`PASS_SECONDS` it
takes the processes due, a batch per transaction, each locked, so a process is evaluated by one
server process at a time and each incident is opened once, whatever the number of servers. A
process is due at each expected start, end of grace, end of a pause and end of a running run's
maximum duration (found within ``PASS_SECONDS``), within 20 seconds of a change of one of its
runs (store/health.py's triggers, which gather a busy process's changes into one evaluation),
and at the latest :data:`REFRESH_SECONDS` after it was last evaluated; a pass takes only the
processes something happened to.

**What**, as of the evaluation's ``now`` (an injectable clock):

- *Schedule.* The window of an expected start ``t`` runs to the next expected start; a run that
  starts in it answers ``t``. No run by ``t + grace`` (while the window is open) opens **late**;
  a window that closes unanswered opens **missed** (the late incident of that start resolves),
  and further windows that close unanswered add to the same open missed incident, so a server
  that was down across three of them opens one incident saying three were missed. A run
  starting resolves both.
- *Runs* (only runs started since the expectation was created or last changed, or since a
  pause ended): a run running longer than ``maxDuration`` is **overdue** until it ends; the
  latest finished run breaking ``successRule`` is **ruleBroken**, slower than ``durationAnomaly``
  times the median of the 20 finished runs before it (at least 5) is **slow**, and the latest
  ``failureStreak`` finished runs all failed is **failing** — each until a later finished run
  clears it.
- Expected starts at or before ``since`` (the expectation's last change, or the end of a pause)
  never open an incident; nothing is evaluated while paused.

The health is the most severe open condition (``paused`` above all); ``unknown`` while nothing
was expected yet, else ``healthy``.
"""

from __future__ import annotations

import logging
import secrets
import statistics
import uuid
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice, takewhile
from typing import Any, TypeVar

import anyio

from flowruns.edm.datetimes import TICKS_PER_SECOND, format_ticks, now_ticks
from flowruns.edm.industrydata import (
    FINISHED_STATUSES,
    RECENT_EXPECTED_STARTS,
    RUNS,
    health_state,
    incident,
)
from flowruns.errors import GraphError
from flowruns.odata.literals import format_duration
from flowruns.odata.query import parse_filter
from flowruns.records import Record
from flowruns.service.schedules import Schedule, parse_positive_duration, parse_schedule
from flowruns.store import health as rows
from flowruns.store.database import Database, StoreError, Transaction
from flowruns.store.health import Evaluation, Scheduled, Watched

log = logging.getLogger("flowruns.health")

REFRESH_SECONDS = 3600
PASS_SECONDS = 5.0
# Processes per transaction: short enough that writers waiting for SQLite's lock (or a run's
# row on PostgreSQL) are not held up for long.
BATCH = 25
RECENT_RUNS = 50
SLOW_HISTORY = 20
SLOW_MINIMUM = 5
# Expected starts judged in one evaluation at most (a schedule every minute across a stop of
# about ten weeks): beyond, the oldest are passed over as if the expectation had changed.
MAX_WINDOWS = 100_000
MAX_STARTS = 100_000
_SEVERITY = health_state.members
W = TypeVar("W")  # a row due for evaluation, as its store module reads it
_NEVER = 2**63 - 1


@dataclass(frozen=True)
class Rules:
    """An expectation's members, parsed."""

    schedule: Schedule | None
    grace: int | None
    max_duration: int | None
    anomaly: float | None
    rule: str | None
    streak: int | None
    paused: bool
    paused_until: int | None

    @classmethod
    def of(cls, values: dict[str, Any]) -> Rules:
        schedule = values.get("schedule")
        grace, maximum = values.get("grace"), values.get("maxDuration")
        return cls(
            schedule=None if schedule is None else parse_schedule(schedule, values.get("timeZone")),
            grace=None if grace is None else parse_positive_duration(grace, "grace"),
            max_duration=None
            if maximum is None
            else parse_positive_duration(maximum, "maxDuration"),
            anomaly=values.get("durationAnomaly"),
            rule=values.get("successRule"),
            streak=values.get("failureStreak"),
            paused=bool(values.get("paused")),
            paused_until=values.get("pausedUntil"),
        )


class Incidents:
    """A process's (or with ``dataset``, a dataset's) open incidents by kind, and the writes
    that open, change and resolve them."""

    def __init__(
        self, transaction: Transaction, tenant: str, key: str, *, dataset: bool = False
    ) -> None:
        self.transaction, self.tenant = transaction, tenant
        self.process_id: str | None = None if dataset else key
        self.dataset_id: str | None = key if dataset else None
        owner = ("dataset_id", key) if dataset else ("process_id", key)
        found = rows.open_incidents(transaction, tenant, owner)
        self.open = {r.values["kind"]: r for r in found}
        # When the process must be evaluated again at the latest, as its conditions see it.
        self.due = _NEVER

    def opens(
        self,
        kind: str,
        at: int,
        message: str,
        *,
        run_id: str | None = None,
        expected: int | None = None,
    ) -> None:
        if kind in self.open:
            return
        record = Record(
            type=incident,
            id=str(uuid.uuid4()),
            etag=secrets.token_hex(8),
            process_id=self.process_id,
            values={
                "kind": kind,
                "datasetId": self.dataset_id,
                "runId": run_id,
                "openedDateTime": at,
                "resolvedDateTime": None,
                "expectedDateTime": expected,
                "occurrences": 1,
                "message": message,
            },
        )
        rows.add_incident(self.transaction, self.tenant, record)
        self.open[kind] = record

    def change(self, kind: str, **values: Any) -> None:
        record = self.open[kind]
        record.etag = secrets.token_hex(8)
        record.values.update(values)
        rows.change_incident(self.transaction, self.tenant, record.id, values, record.etag)

    def resolves(self, kind: str, at: int) -> None:
        if kind in self.open:
            self.change(kind, resolvedDateTime=at)
            del self.open[kind]

    def resolve_all(self, at: int) -> None:
        for kind in list(self.open):
            self.resolves(kind, at)


def _ago(ticks: int) -> str:
    minutes = ticks // (60 * TICKS_PER_SECOND)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def evaluate(transaction: Transaction, watched: Watched, now: int) -> Evaluation:
    """Evaluate one process (its row locked by the caller) as of ``now``: open, extend and
    resolve its incidents and return its new evaluation (which the caller saves)."""
    values = watched.expectation.values
    rules = Rules.of(values)
    before = watched.evaluation
    incidents = Incidents(transaction, watched.tenant, watched.expectation.id)
    name = watched.process_name
    if rules.paused and (rules.paused_until is None or now < rules.paused_until):
        due = rules.paused_until if rules.paused_until is not None else now + refresh_ticks()
        return _settled(before, "paused", now, None, before.since, before.judged, due)
    since = before.since
    if rules.paused and rules.paused_until is not None:
        since = max(since, rules.paused_until)  # the pause ended: nothing before counts
    judged = max(before.judged, since)
    due = now + refresh_ticks()
    next_expected: int | None = None
    expected_yet = False

    if rules.schedule is not None:
        schedule = rules.schedule
        found = rows.starts_from(
            transaction, watched.tenant, watched.expectation.id, judged, MAX_STARTS
        )
        # A start in the future has not happened yet; when it does, it may answer a window.
        at = bisect_right(found, now)
        starts = found[:at]
        if at < len(found):
            due = min(due, found[at])
        upcoming = schedule.after(judged)
        current = next(upcoming, None)
        windows = 0
        while current is not None and current <= now:
            following = next(upcoming, None)
            expected_yet = True
            at = bisect_left(starts, current)
            answered: int | None = starts[at] if at < len(starts) else None
            if answered is not None and following is not None and answered >= following:
                answered = None
            if answered is not None:
                incidents.resolves("missed", answered)
                late = incidents.open.get("late")
                if late is not None and late.values["expectedDateTime"] == current:
                    incidents.resolves("late", answered)
            if following is None or following > now:
                # The window still open: late once its grace has passed without a start.
                if (
                    answered is None
                    and rules.grace is not None
                    and "missed" not in incidents.open
                    and current + rules.grace <= now
                    and (following is None or current + rules.grace < following)
                ):
                    incidents.opens(
                        "late",
                        current + rules.grace,
                        f"{name}: no run started since {schedule.describe(current)}, "
                        f"{_ago(now - current)} ago (grace {format_duration(rules.grace)}).",
                        expected=current,
                    )
                elif answered is None and rules.grace is not None and current + rules.grace > now:
                    due = min(due, current + rules.grace)
                next_expected = following
                if following is not None:
                    due = min(due, following)
                break
            # A window closed.
            judged = current
            windows += 1
            if answered is None:
                incidents.resolves("late", following)
                missed = incidents.open.get("missed")
                if missed is None:
                    incidents.opens(
                        "missed",
                        following,
                        f"{name}: no run started since {schedule.describe(current)} "
                        "(1 expected start missed).",
                        expected=current,
                    )
                else:
                    count = missed.values["occurrences"] + 1
                    first = schedule.describe(missed.values["expectedDateTime"])
                    incidents.change(
                        "missed",
                        occurrences=count,
                        message=f"{name}: no run started since {first} "
                        f"({count} expected starts missed).",
                    )
            current = following
            if windows >= MAX_WINDOWS:
                break
        if current is not None and current > now:
            next_expected = current
            due = min(due, current)

    recent = rows.recent_runs(transaction, watched.tenant, watched.expectation.id, now, RECENT_RUNS)
    counted = [r for r in recent if r.values["startDateTime"] > since]
    _overdue(incidents, rules, counted, name, now)
    finished = [r for r in recent if r.values["status"] in FINISHED_STATUSES]
    latest = next((r for r in finished if r.values["startDateTime"] > since), None)
    if latest is not None:
        expected_yet = True
        end = latest.values["endDateTime"]
        _rule(transaction, incidents, rules, latest, end, name, watched.tenant)
        _slow(incidents, rules, latest, finished, end, name)
        _failing(incidents, rules, finished, since, end, name)

    due = min(due, incidents.due)
    quiet = "healthy" if expected_yet else "unknown"
    state = max(incidents.open, key=_SEVERITY.index) if incidents.open else quiet
    return _settled(before, state, now, next_expected, since, judged, due)


def refresh_ticks() -> int:
    """How long after an evaluation a process or dataset is evaluated again at the latest."""
    return REFRESH_SECONDS * TICKS_PER_SECOND


def _settled(
    before: Evaluation,
    state: str,
    now: int,
    next_expected: int | None,
    since: int,
    judged: int,
    due: int,
) -> Evaluation:
    changed = before.changed if state == before.state else now
    return Evaluation(state, changed, next_expected, since, judged, max(due, now + 1))


def _overdue(
    incidents: Incidents, rules: Rules, counted: list[Record], name: str, now: int
) -> None:
    if rules.max_duration is None:
        incidents.resolves("overdue", now)
        return
    late = [
        r
        for r in counted
        if r.values["status"] == "running" and now - r.values["startDateTime"] > rules.max_duration
    ]
    for candidate in counted:
        if candidate.values["status"] == "running":
            overdue_at = candidate.values["startDateTime"] + rules.max_duration
            incidents.due = min(incidents.due, overdue_at)
    open_ = incidents.open.get("overdue")
    if open_ is not None:
        still = any(r.id == open_.values["runId"] for r in late)
        if still:
            return
        gone = next((r for r in counted if r.id == open_.values["runId"]), None)
        ended = gone.values["endDateTime"] if gone is not None else None
        incidents.resolves("overdue", ended if ended is not None else now)
    if late:
        run = min(late, key=lambda r: r.values["startDateTime"])
        incidents.opens(
            "overdue",
            run.values["startDateTime"] + rules.max_duration,
            f"{name}: the run '{run.values['displayName']}' started at "
            f"{format_ticks(run.values['startDateTime'])} is still running after "
            f"{format_duration(rules.max_duration)}.",
            run_id=run.id,
        )


def _rule(
    transaction: Transaction,
    incidents: Incidents,
    rules: Rules,
    latest: Record,
    end: int,
    name: str,
    tenant: str,
) -> None:
    if rules.rule is None:
        incidents.resolves("ruleBroken", end)
        return
    open_ = incidents.open.get("ruleBroken")
    if open_ is not None and open_.values["runId"] == latest.id:
        return
    if _satisfies(transaction, tenant, latest, rules.rule):
        incidents.resolves("ruleBroken", end)
        return
    incidents.opens(
        "ruleBroken",
        end,
        f"{name}: the run '{latest.values['displayName']}' finished at {format_ticks(end)} "
        "does not satisfy the success rule.",
        run_id=latest.id,
    )


# Each version of a finished run (its ETag) meets a rule or not once and for all: the verdict is
# kept, so the rule is parsed and the run read again only when the latest finished run changed
# (most evaluations follow a run starting, or a scheduled time). Bounded, and per process.
_VERDICTS: dict[tuple[str, str, str, str], bool] = {}
_MAX_VERDICTS = 65_536


def _satisfies(transaction: Transaction, tenant: str, run: Record, rule: str) -> bool:
    key = (tenant, run.id, run.etag, rule)
    verdict = _VERDICTS.get(key)
    if verdict is None:
        bound = parse_filter(rule, RUNS.type, now_ticks(), "successRule")
        verdict = rows.satisfies(transaction, tenant, run.id, bound)
        if len(_VERDICTS) >= _MAX_VERDICTS:
            _VERDICTS.clear()
        _VERDICTS[key] = verdict
    return verdict


@lru_cache(maxsize=4096)
def _schedule(text: str, zone: str | None) -> Schedule:
    """A schedule parsed once: the same text and zone are the same schedule."""
    return parse_schedule(text, zone)


def _duration(run: Record) -> int:
    return int(run.values["endDateTime"]) - int(run.values["startDateTime"])


def _slow(
    incidents: Incidents,
    rules: Rules,
    latest: Record,
    finished: list[Record],
    end: int,
    name: str,
) -> None:
    if rules.anomaly is None:
        incidents.resolves("slow", end)
        return
    at = finished.index(latest)
    history = [_duration(r) for r in finished[at + 1 : at + 1 + SLOW_HISTORY]]
    if len(history) < SLOW_MINIMUM:
        return
    median = statistics.median(history)
    if _duration(latest) <= rules.anomaly * median:
        incidents.resolves("slow", end)
        return
    open_ = incidents.open.get("slow")
    if open_ is not None:
        return
    incidents.opens(
        "slow",
        end,
        f"{name}: the run '{latest.values['displayName']}' took "
        f"{format_duration(_duration(latest))}, more than {rules.anomaly:g} times the median "
        f"of the {len(history)} finished runs before it ({format_duration(int(median))}).",
        run_id=latest.id,
    )


def _failing(
    incidents: Incidents,
    rules: Rules,
    finished: list[Record],
    since: int,
    end: int,
    name: str,
) -> None:
    if rules.streak is None:
        incidents.resolves("failing", end)
        return
    considered = [r for r in finished if r.values["startDateTime"] > since][: rules.streak]
    streak = len(considered) == rules.streak and all(
        r.values["status"] == "failed" for r in considered
    )
    if not streak:
        incidents.resolves("failing", end)
        return
    incidents.opens(
        "failing",
        end,
        f"{name}: the last {rules.streak} finished runs failed.",
        run_id=considered[0].id,
    )


def recent_expected(scheduled: Scheduled) -> list[int]:
    """The latest :data:`RECENT_EXPECTED_STARTS` expected starts the evaluation has reached,
    oldest first: those before the next expected start it found (all of a schedule that has
    ended), after ``since`` (none before it counts); none while paused."""
    if scheduled.schedule is None or scheduled.state == "paused":
        return []
    schedule = _schedule(scheduled.schedule, scheduled.time_zone)
    starts = takewhile(lambda t: t > scheduled.since, schedule.before(scheduled.next_expected))
    return list(islice(starts, RECENT_EXPECTED_STARTS))[::-1]


def in_batches(
    db: Database,
    now: Callable[[], int],
    due: Callable[[Transaction, int, int], list[W]],
    judge: Callable[[Transaction, W, int], None],
) -> int:
    """``judge`` each row ``due`` finds due at ``now()`` (locked), :data:`BATCH` rows a
    transaction, until none is left; how many."""
    done = 0
    while True:
        moment = now()
        with db.writing() as transaction:
            batch = due(transaction, moment, BATCH)
            for watched in batch:
                judge(transaction, watched, moment)
        done += len(batch)
        if len(batch) < BATCH:
            return done


def evaluate_due(db: Database, now: Callable[[], int] = now_ticks) -> int:
    """Evaluate every process due at ``now()``, a batch per transaction; how many."""

    def judge(transaction: Transaction, watched: Watched, moment: int) -> None:
        evaluation = evaluate(transaction, watched, moment)
        rows.save_evaluation(transaction, watched.tenant, watched.expectation.id, evaluation)

    return in_batches(db, now, rows.due, judge)


async def evaluate_forever(
    db: Database,
    passes: tuple[Callable[[Database, Callable[[], int]], int], ...],
    now: Callable[[], int] = now_ticks,
) -> None:
    """Run each of ``passes`` (processes due, datasets due) every :data:`PASS_SECONDS` until
    cancelled; a failed pass is logged and tried again at the next."""
    while True:
        await anyio.sleep(PASS_SECONDS)
        for evaluate_pass in passes:
            try:
                await anyio.to_thread.run_sync(evaluate_pass, db, now)
            except (StoreError, GraphError) as error:
                log.warning("The health evaluation failed; trying again: %s", error)


def first_evaluation(now: int) -> Evaluation:
    """A new or changed expectation's evaluation before it is evaluated: nothing counts before
    ``now``."""
    return Evaluation("unknown", now, None, now, now, now)
