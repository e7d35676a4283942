"""A run's state from its OpenLineage run events, by replay: pure functions, no storage.

The events are put in one total order — ``eventTime``, then the event's digest, so two events
of the same instant still have a fixed order — and folded:

- ``startDateTime`` is the time of the first START (of the first event, while no START came);
- with no terminal event the run is ``running``; otherwise the terminal event that decides is
  the one of the highest precedence, FAIL > ABORT > COMPLETE, the latest among equals, and the
  run ends at its time (never before the start):

  - FAIL: ``failed``, ``blockingError`` code ``failed`` with the ``errorMessage`` facet's
    message (of the FAIL event, else the latest one any event carried);
  - ABORT: ``failed``, ``blockingError`` code ``aborted``;
  - COMPLETE: ``completedWithErrors`` when a data-quality assertion of error severity failed,
    else ``completedWithWarnings`` when one of ``warn`` severity failed, else ``completed``;

- facets are merged by name, the later event's facet replacing the earlier one's (run and job
  facets; datasets by namespace and name, their facets the same way);
- statistics come from the merged dataset facets (:func:`facet_statistics`).

Since the fold depends only on the set of events, the state does not depend on the order in
which they arrived, and an event received twice (kept once) changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flowruns.edm.industrydata import STATISTICS_MAX_PROBLEMS

TERMINAL_PRECEDENCE = {"COMPLETE": 1, "ABORT": 2, "FAIL": 3}
FAILED_CODE = "failed"
ABORTED_CODE = "aborted"
# Where the model bounds them (publicError's members, displayName).
_MAX_CODE, _MAX_MESSAGE, _MAX_NAME = 256, 4096, 256


@dataclass(frozen=True)
class Event:
    """One run event: its key, type (absent: OTHER), time in ticks, and body."""

    digest: str
    event_type: str
    time: int
    body: dict[str, Any]


@dataclass(frozen=True)
class Job:
    namespace: str
    name: str


@dataclass(frozen=True)
class Parent:
    run_id: str
    job: Job


@dataclass(frozen=True)
class RunState:
    """What the replay of a run's events decides."""

    job: Job
    status: str
    start: int
    end: int | None
    blocking_error: dict[str, Any] | None
    statistics: dict[str, Any]
    facets: dict[str, Any]
    parent: Parent | None

    @property
    def display_name(self) -> str:
        return self.job.name[:_MAX_NAME]

    def run_values(self) -> dict[str, Any]:
        """The run's properties the events decide (statistics apart: they merge)."""
        return {
            "status": self.status,
            "startDateTime": self.start,
            "endDateTime": self.end,
            "blockingError": self.blocking_error,
        }


def ordered(events: Iterable[Event]) -> list[Event]:
    return sorted(events, key=lambda e: (e.time, e.digest))


def replay(events: Iterable[Event]) -> RunState:
    """The state of a run with these ``events`` (at least one)."""
    return Fold.of(events).state()


class Fold:
    """A run's events folded in their order: what the replay keeps of them.

    An event that sorts after every event folded so far (:meth:`follows`) is folded in as the
    replay of all of them would fold it last, so ingestion resumes the fold from what it stored
    (:meth:`resume`: the merged facets, the latest job and :meth:`kept`) instead of reading the
    run's events back. Only an event that arrives late needs the replay of them all.
    """

    def __init__(self) -> None:
        self.run_facets: dict[str, Any] = {}
        self.job_facets: dict[str, Any] = {}
        self.inputs: dict[tuple[str, str], dict[str, Any]] = {}
        self.outputs: dict[tuple[str, str], dict[str, Any]] = {}
        self.job: Job | None = None
        self.last: tuple[int, str] | None = None  # the order key of the latest event
        self.start = 0
        self.started = False  # whether a START is among the events
        # The terminal event that decides so far: its precedence key, type and the message of
        # its own errorMessage facet.
        self.terminal: tuple[tuple[int, int, str], str, str | None] | None = None

    @classmethod
    def of(cls, events: Iterable[Event]) -> Fold:
        """The fold of ``events`` (at least one), in their order."""
        fold = cls()
        for event in ordered(events):
            fold.add(event)
        return fold

    @classmethod
    def resume(cls, facets: dict[str, Any], job: Job, kept: dict[str, Any]) -> Fold:
        """The fold a :class:`RunState` with these ``facets`` and ``job`` and :meth:`kept`
        came from (as stored: JSON, whose objects may come back in another key order). The
        stored values are copied where the fold changes them."""
        fold = cls()
        fold.run_facets = dict(facets["run"])
        fold.job_facets = dict(facets["job"])
        for side, merged in (("inputs", fold.inputs), ("outputs", fold.outputs)):
            for dataset in facets[side]:
                copied = {k: dict(v) if isinstance(v, dict) else v for k, v in dataset.items()}
                merged[dataset["namespace"], dataset["name"]] = copied
        fold.job = job
        time, digest = kept["last"]
        fold.last = (time, digest)
        fold.start, fold.started = kept["start"], kept["started"]
        terminal = kept["terminal"]
        if terminal is not None:
            precedence, time, digest, event_type, message = terminal
            fold.terminal = ((precedence, time, digest), event_type, message)
        return fold

    def kept(self) -> dict[str, Any]:
        """What :meth:`resume` needs besides the state's facets and job, as JSON."""
        terminal = None
        if self.terminal is not None:
            key, event_type, message = self.terminal
            terminal = [*key, event_type, message]
        last = None if self.last is None else list(self.last)
        return {"last": last, "start": self.start, "started": self.started, "terminal": terminal}

    def follows(self, event: Event) -> bool:
        """Whether ``event`` sorts after every event folded so far."""
        return self.last is None or (event.time, event.digest) > self.last

    def add(self, event: Event) -> None:
        """Fold in ``event``, which must sort after every event folded so far."""
        if not self.follows(event):
            raise ValueError("the event sorts before the latest event folded")
        body = event.body
        run_facets = body["run"].get("facets") or {}
        self.run_facets.update(run_facets)
        self.job_facets.update(body["job"].get("facets") or {})
        for name, merged in (("inputs", self.inputs), ("outputs", self.outputs)):
            for dataset in body.get(name) or ():
                _merge_dataset(merged, dataset)
        self.job = Job(body["job"]["namespace"], body["job"]["name"])
        if self.last is None or (event.event_type == "START" and not self.started):
            self.start = event.time
        self.started = self.started or event.event_type == "START"
        self.last = (event.time, event.digest)
        precedence = TERMINAL_PRECEDENCE.get(event.event_type)
        if precedence is not None:
            key = (precedence, event.time, event.digest)
            if self.terminal is None or key > self.terminal[0]:
                own = run_facets.get("errorMessage")
                self.terminal = (key, event.event_type, own["message"] if own else None)

    def state(self) -> RunState:
        """The run's state from the events folded so far (at least one)."""
        assert self.job is not None, "a fold of no event"
        job, start = self.job, self.start
        statistics = facet_statistics(self.inputs.values(), self.outputs.values())
        status, end, error = "running", None, None
        if self.terminal is not None:
            (_, time, _), event_type, message = self.terminal
            end = max(time, start)
            if event_type == "FAIL":
                status = "failed"
                facet = self.run_facets.get("errorMessage")
                if message is None:
                    message = facet["message"] if facet else f"The job {job.name} reported FAIL."
                error = {"code": FAILED_CODE, "message": message[:_MAX_MESSAGE]}
            elif event_type == "ABORT":
                status = "failed"
                error = {
                    "code": ABORTED_CODE,
                    "message": f"The job {job.name} was aborted."[:_MAX_MESSAGE],
                }
            elif statistics.get("errorCount"):
                status = "completedWithErrors"
            elif statistics.get("warningCount"):
                status = "completedWithWarnings"
            else:
                status = "completed"
        facets = {
            "run": dict(self.run_facets),
            "job": dict(self.job_facets),
            "inputs": [_copied(d) for d in self.inputs.values()],
            "outputs": [_copied(d) for d in self.outputs.values()],
        }
        return RunState(
            job, status, start, end, error, statistics, facets, _parent(self.run_facets)
        )


def _copied(dataset: dict[str, Any]) -> dict[str, Any]:
    """A merged dataset apart from the fold's own, which later events change."""
    return {k: dict(v) if isinstance(v, dict) else v for k, v in dataset.items()}


def _merge_dataset(merged: dict[tuple[str, str], dict[str, Any]], dataset: dict[str, Any]) -> None:
    key = (dataset["namespace"], dataset["name"])
    into = merged.setdefault(key, {"namespace": key[0], "name": key[1]})
    for member in ("facets", "inputFacets", "outputFacets"):
        if dataset.get(member):
            into.setdefault(member, {}).update(dataset[member])


def _parent(run_facets: dict[str, Any]) -> Parent | None:
    facet = run_facets.get("parent")
    if not facet:
        return None
    run_id = str(uuid.UUID(facet["run"]["runId"]))
    return Parent(run_id, Job(facet["job"]["namespace"], facet["job"]["name"]))


def _facet(dataset: dict[str, Any], name: str) -> dict[str, Any] | None:
    """A dataset facet, wherever the emitter put it (its input or output facets, or its own)."""
    for member in ("inputFacets", "outputFacets", "facets"):
        found = (dataset.get(member) or {}).get(name)
        if found:
            return dict(found)
    return None


def facet_statistics(
    inputs: Iterable[dict[str, Any]], outputs: Iterable[dict[str, Any]]
) -> dict[str, Any]:
    """The well-known statistics members (and flowruns' own counters) the facets give:

    - ``recordsProcessed``, ``bytesWritten``, ``filesWritten``: the sums of the outputs'
      ``outputStatistics`` ``rowCount``, ``size`` and ``fileCount``;
    - ``recordsRead``, ``bytesRead``: the sums of the inputs' ``inputStatistics`` (else their
      ``dataQualityMetrics``) ``rowCount`` and ``size``/``bytes``;
    - ``errorCount`` and ``warningCount``, with the ``errors`` and ``warnings`` lists (at most
      20 each): the failed ``dataQualityAssertions`` of any dataset, of ``warn`` severity for
      warnings and of any other severity for errors.

    A member appears only when a facet gave it.
    """
    outputs = list(outputs)
    inputs = list(inputs)
    statistics: dict[str, Any] = {}
    written = [f for d in outputs if (f := _facet(d, "outputStatistics")) is not None]
    for member, field in (
        ("recordsProcessed", "rowCount"),
        ("bytesWritten", "size"),
        ("filesWritten", "fileCount"),
    ):
        values = [f[field] for f in written if isinstance(f.get(field), int)]
        if values:
            statistics[member] = sum(values)
    read = [
        f
        for d in inputs
        if (f := _facet(d, "inputStatistics") or _facet(d, "dataQualityMetrics")) is not None
    ]
    for member, fields in (("recordsRead", ("rowCount",)), ("bytesRead", ("size", "bytes"))):
        values = [
            v
            for f in read
            if (v := next((f[n] for n in fields if isinstance(f.get(n), int)), None)) is not None
        ]
        if values:
            statistics[member] = sum(values)
    errors: list[dict[str, str]] = []
    warnings: list[dict[str, str]] = []
    checked = False
    for dataset in [*inputs, *outputs]:
        facet = _facet(dataset, "dataQualityAssertions")
        if facet is None:
            continue
        checked = True
        for assertion in facet.get("assertions") or ():
            if assertion.get("success", True):
                continue
            target = f"{dataset['namespace']}/{dataset['name']}"
            if assertion.get("column"):
                target += f"/{assertion['column']}"
            problem = {
                "code": str(assertion["assertion"])[:_MAX_CODE],
                "message": str(
                    assertion.get("description") or assertion.get("name") or assertion["assertion"]
                )[:_MAX_MESSAGE],
                "target": target[:_MAX_CODE],
            }
            severity = str(assertion.get("severity") or "error").lower()
            (warnings if severity in ("warn", "warning") else errors).append(problem)
    if checked:
        statistics["errorCount"] = len(errors)
        statistics["warningCount"] = len(warnings)
        if errors:
            statistics["errors"] = errors[-STATISTICS_MAX_PROBLEMS:]
        if warnings:
            statistics["warnings"] = warnings[-STATISTICS_MAX_PROBLEMS:]
    return statistics
