"""A realistic demo history: processes and their runs spread over months.

Rows are generated as tuples and loaded straight into the tables by each engine's bulk path, in
one transaction. The same seed gives the same history (apart from the ids, which are fresh).
Each run agrees with itself: its duration suits its flow and its status, and its statistics add
up and show the failures, errors or warnings its status speaks of. :func:`outcome` is shared with
``serve --demo-activity`` (:mod:`flowruns.demo_activity`), so the runs it adds look the same.
"""

from __future__ import annotations

import bisect
import dataclasses
import itertools
import os
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from flowruns.edm.datetimes import TICKS_PER_SECOND, now_ticks
from flowruns.edm.industrydata import dataset_access_direction, run_status
from flowruns.odata.literals import parse_duration
from flowruns.service import freshness
from flowruns.store import bulk, datasets, downstream
from flowruns.store import freshness as freshness_rows
from flowruns.store.database import Database, Transaction
from flowruns.store.schema import dataset_accesses, processes, run_group_members, runs

BATCH = 20_000
_DAY = 86_400 * TICKS_PER_SECOND


@dataclass(frozen=True)
class DemoDataset:
    """A dataset a demo flow reads or writes, by its OpenLineage namespace and name."""

    namespace: str
    name: str


_SIS = "postgres://sis:5432"
_LMS = "postgres://lms:5432"
_WAREHOUSE = "postgres://warehouse:5432"
_SHARE = "sftp://share.district.example:22"


@dataclass(frozen=True)
class DemoFlow:
    """One demo process: its name, how its runs typically go, and what they read and write."""

    name: str
    typical_seconds: int  # a run's usual duration; runs vary around it
    typical_records: int  # records a run usually handles
    reads: DemoDataset
    writes: DemoDataset
    # What the flow wrote until :data:`RETARGETED_DAYS` ago, when it moved to ``writes``.
    wrote: DemoDataset | None = None
    # Whether its target has a freshness expectation (see :func:`seed`).
    expected: bool = False


# Durations of seconds to a few minutes, so a run started by ``serve --demo-activity`` finishes
# while someone watches. Two flows read the SIS's students, and the transport export reads the
# roster the nightly export writes, so a failure has something downstream.
DEMO_FLOWS = (
    DemoFlow(
        "Nightly SIS roster export",
        120,
        24_000,
        DemoDataset(_SIS, "sis.students"),
        DemoDataset(_SHARE, "share.roster"),
        expected=True,
    ),
    DemoFlow(
        "Attendance insights",
        30,
        6_000,
        DemoDataset(_SIS, "sis.attendance"),
        DemoDataset(_WAREHOUSE, "warehouse.attendance_daily"),
        expected=True,
    ),
    DemoFlow(
        "Gradebook share to district",
        90,
        18_000,
        DemoDataset(_LMS, "lms.gradebook"),
        DemoDataset(_SHARE, "share.gradebook"),
        expected=True,
    ),
    DemoFlow(
        "Enrollment sync to LMS",
        60,
        9_000,
        DemoDataset(_SIS, "sis.enrollments"),
        DemoDataset(_LMS, "lms.enrollments"),
        expected=True,
    ),
    DemoFlow(
        "Course catalog share",
        25,
        1_200,
        DemoDataset(_SIS, "sis.courses"),
        DemoDataset(_SHARE, "share.course_catalog"),
    ),
    DemoFlow(
        "Staff directory export",
        40,
        2_500,
        DemoDataset(_SIS, "sis.staff"),
        DemoDataset(_SHARE, "share.staff_directory"),
    ),
    DemoFlow(
        "Assessment results share",
        100,
        30_000,
        DemoDataset(_WAREHOUSE, "warehouse.assessment_results"),
        DemoDataset(_SHARE, "share.assessments"),
    ),
    # Its target moved: the old table keeps the expectation set for it, and goes stale.
    DemoFlow(
        "Transport roster export",
        35,
        4_000,
        DemoDataset(_SHARE, "share.roster"),
        DemoDataset("postgres://transport:5432", "transport.rider_roster"),
        wrote=DemoDataset("postgres://transport:5432", "transport.riders"),
    ),
    DemoFlow(
        "Library accounts sync",
        20,
        3_500,
        DemoDataset(_SIS, "sis.students"),
        DemoDataset("https://library.district.example", "library.patrons"),
    ),
    DemoFlow(
        "Guardian contacts share",
        75,
        15_000,
        DemoDataset(_SIS, "sis.guardians"),
        DemoDataset(_SHARE, "share.guardian_contacts"),
    ),
)
RETARGETED_DAYS = 21
# How often an expected target may be expected to be written (see :func:`_expect`).
_EVERY = ("P1D", "P2D", "P3D", "P7D", "P30D")
_WARNINGS = (
    ("optionalFieldDropped", "Optional value dropped: middleName was longer than 64 characters"),
    ("unknownGradeLevel", "Grade level 'PK3' is not recognised; left empty"),
    ("duplicateEmail", "Two users share an e-mail address; the second one was kept"),
)
_ERRORS = (
    ("missingRequiredField", "Record has no sourcedId and was left out"),
    ("invalidDate", "enrollmentDate '2026-02-30' is not a date; record left out"),
    ("referenceNotFound", "Class references an unknown course; record left out"),
)
_BLOCKING = (  # what stops a run part-way
    ("connectionFailed", "Lost the connection to the destination share: connection timed out"),
    ("quotaExceeded", "The destination share is over its storage quota"),
    ("sourceUnavailable", "The student information system stopped answering mid-export"),
)


@dataclass(frozen=True)
class SeedResult:
    processes: int
    runs: int
    datasets: int
    accesses: int


PROCESS_COLUMNS = (
    "tenant_id",
    "id",
    "type",
    "etag",
    "display_name",
    "readiness_status",
    "share_name",
    "invitee_user_ids",
    "sharing_state",
)
RUN_COLUMNS = (
    "tenant_id",
    "id",
    "type",
    "etag",
    "touched",
    "process_id",
    "display_name",
    "start_date_time",
    "end_date_time",
    "status",
    "blocking_error",
    "statistics",
)
MEMBER_COLUMNS = ("tenant_id", "group_id", "run_id")
ACCESS_COLUMNS = (
    "tenant_id",
    "id",
    "type",
    "etag",
    "direction",
    "dataset_id",
    "namespace",
    "name",
    "run_id",
    "run_status",
    "run_start_date_time",
    "run_end_date_time",
    "row_count",
)
_INPUT, _OUTPUT = (dataset_access_direction.value_of(d) for d in ("input", "output"))
_STATUSES = ("completed", "completedWithWarnings", "completedWithErrors", "failed")
_CUMULATIVE_WEIGHTS = tuple(itertools.accumulate((80, 10, 6, 4)))


_BY_NAME = {flow.name: flow for flow in DEMO_FLOWS}


def _uuid4(bits: int) -> str:
    """A version-4 UUID string from 128 random bits (without uuid.UUID's overhead)."""
    h = f"{bits:032x}"
    variant = "89ab"[int(h[16], 16) & 3]
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:32]}"


def _uuid7(ticks: int, bits: int) -> str:
    """A version-7 UUID string: the millisecond of ``ticks``, then 80 random ``bits`` (less the
    six the version and variant take). Rows loaded in time order so go in at the end of their
    primary key's index rather than all over it: a 100,000-run history loads in two thirds of
    the time it takes with random ids."""
    h = f"{(ticks // 10_000) & ((1 << 48) - 1):012x}{bits:020x}"
    variant = "89ab"[int(h[16], 16) & 3]
    return f"{h[:8]}-{h[8:12]}-7{h[13:16]}-{variant}{h[17:20]}-{h[20:32]}"


def demo_flow(process_name: str) -> DemoFlow | None:
    """The demo flow a process of this name is, or None. The 11th process on is named
    'Attendance insights #2', and so on: a copy of the flow with datasets of its own (the
    flow's, with '_2' appended to their names)."""
    base, _, number = process_name.rpartition(" #")
    if not (base and number.isdecimal()):
        return _BY_NAME.get(process_name)
    flow = _BY_NAME.get(base)
    if flow is None:
        return None

    def own(dataset: DemoDataset) -> DemoDataset:
        return DemoDataset(dataset.namespace, f"{dataset.name}_{number}")

    return dataclasses.replace(
        flow,
        reads=own(flow.reads),
        writes=own(flow.writes),
        wrote=None if flow.wrote is None else own(flow.wrote),
    )


def read_rows(statistics: dict[str, Any]) -> int:
    """The rows a run read from its flow's source: every record it processed so far."""
    return int(statistics["recordsProcessed"])


def written_rows(status: str, statistics: dict[str, Any]) -> int | None:
    """The rows a run wrote to its flow's target, or None when it wrote nothing: a running run
    writes when it ends, and a run that failed before delivering a record wrote nothing. A run
    that failed part-way did write (what it delivered), though no successful write it is."""
    if status == "running" or not statistics["recordsSucceeded"]:
        return None
    return int(statistics["recordsSucceeded"])


@dataclass(frozen=True)
class Outcome:
    """How one run goes: how it ends, after how long, and what its statistics then say."""

    status: str
    seconds: float
    statistics: dict[str, Any]
    blocking_error: dict[str, str] | None

    def progress(self, fraction: float) -> dict[str, Any]:
        """The statistics a flow reports ``fraction`` (0 to 1) of the way through: records so
        far, all of them succeeded; warnings and errors are counted at the end."""
        processed = round(self.statistics["recordsProcessed"] * min(max(fraction, 0.0), 1.0))
        return {
            "recordsProcessed": processed,
            "recordsSucceeded": processed,
            "recordsFailed": 0,
            "warningCount": 0,
            "errorCount": 0,
        }


def outcome(rng: random.Random, flow: DemoFlow, target: str) -> Outcome:
    """A plausible run of ``flow``: the status by the demo's weights, a duration around the
    flow's typical one (a failed run stops early), and statistics that agree with the status:
    ``recordsSucceeded + recordsFailed == recordsProcessed``, failures only in runs that had
    them, warnings only in runs that finished with warnings."""
    status = _STATUSES[bisect.bisect(_CUMULATIVE_WEIGHTS, rng.random() * 100)]
    seconds = flow.typical_seconds * min(max(rng.lognormvariate(0, 0.3), 0.4), 2.5)
    records = max(10, round(flow.typical_records * rng.lognormvariate(0, 0.25)))
    failed = warnings = 0
    problems: dict[str, list[dict[str, str]]] = {}
    blocking = None
    if status == "failed":
        # Stopped part-way: what was sent went through, the batch in flight did not.
        share = rng.uniform(0.05, 0.7)
        seconds *= share
        records = max(1, round(records * share))
        failed = rng.randint(1, min(records, 500))
        code, message = rng.choice(_BLOCKING)
        blocking = {"code": code, "message": message, "target": target}
        problems["errors"] = [
            {"code": code, "message": f"{failed:,} records were not delivered", "target": target}
        ]
    elif status == "completedWithErrors":
        failed = rng.randint(1, min(records, 40))
        problems["errors"] = _problems(rng, _ERRORS, failed, "enrollments.csv")
    elif status == "completedWithWarnings":
        warnings = rng.randint(1, 60)
        problems["warnings"] = _problems(rng, _WARNINGS, warnings, "users.csv")
    statistics: dict[str, Any] = {
        "recordsProcessed": records,
        "recordsSucceeded": records - failed,
        "recordsFailed": failed,
        "warningCount": warnings,
        "errorCount": failed,
        **problems,
    }
    return Outcome(status, max(seconds, 2.0), statistics, blocking)


def _problems(
    rng: random.Random, kinds: tuple[tuple[str, str], ...], count: int, target: str
) -> list[dict[str, str]]:
    """The newest few of ``count`` problems, as a flow keeps them (never more than it had)."""
    return [
        {"code": code, "message": message, "target": target}
        for code, message in (rng.choice(kinds) for _ in range(min(count, 3)))
    ]


def seed(
    db: Database, tenant: str, run_count: int, *, days: int = 180, seed: int = 7
) -> SeedResult:
    """Add ``run_count`` runs (and the processes they belong to, and the datasets they read and
    write) to ``tenant``.

    One transaction; rows go in through :mod:`flowruns.store.bulk` (COPY on PostgreSQL). Each
    run of a process records its access to its flow's source (rows: :func:`read_rows`) and,
    when it wrote, to its target (:func:`written_rows`); the datasets' freshness is computed
    once they are in, as the database's triggers would have. The targets of the flows marked
    ``expected`` (and the target one flow left) get a freshness expectation, evaluated here as
    the server would.
    """
    rng = random.Random(seed)
    # Ids are always fresh, so seeding again adds a second history instead of colliding.
    ids = random.Random(os.urandom(16))
    process_rows = _process_rows(rng, ids, tenant, max(10, min(200, run_count // 5_000)))
    members: list[tuple[str, str, str]] = []
    now = now_ticks()
    begun = now - days * _DAY
    total = accessed = 0
    with db.writing() as connection, bulk.loading(connection):
        bulk.load(connection, processes, PROCESS_COLUMNS, process_rows)
        flows = {row[1]: demo_flow(row[4]) or DEMO_FLOWS[0] for row in process_rows}
        known = _datasets(connection, tenant, flows.values(), begun)
        rows = _run_rows(rng, ids, tenant, process_rows, flows, run_count, days, now, members)
        # Freshness is computed once at the end rather than by a trigger at every write (which
        # took 380 s instead of 17 s for 100,000 runs on PostgreSQL). Dropping the triggers
        # locks their tables there until the seed commits: other transactions wait, none
        # writes a run or an access without them.
        datasets.uninstall(connection)
        downstream.uninstall(connection)
        while batch := list(itertools.islice(rows, BATCH)):
            total += bulk.load(connection, runs, RUN_COLUMNS, batch)
            accesses = [row for run in batch for row in _accesses(ids, known, flows, run, now)]
            accessed += bulk.load(connection, dataset_accesses, ACCESS_COLUMNS, accesses)
        bulk.load(connection, run_group_members, MEMBER_COLUMNS, members)
        datasets.refresh(connection, tenant, known.values())
        datasets.install(connection)
        downstream.refresh(connection)
        downstream.install(connection)
        _expect(connection, tenant, flows.values(), known, begun, now)
    return SeedResult(len(process_rows), total, len(known), accessed)


def _datasets(
    connection: Transaction, tenant: str, flows: Iterable[DemoFlow], created: int
) -> dict[DemoDataset, str]:
    """The id of each dataset the flows read or write, found or created (so seeding again
    records more accesses of the same datasets)."""
    known: dict[DemoDataset, str] = {}
    for flow in flows:
        for dataset in (flow.reads, flow.writes, flow.wrote):
            if dataset is not None and dataset not in known:
                found = datasets.find_or_add(
                    connection, tenant, dataset.namespace, dataset.name, created
                )
                known[dataset] = found.id
    return known


def _accesses(
    ids: random.Random,
    known: dict[DemoDataset, str],
    flows: dict[str, DemoFlow],
    run: tuple[Any, ...],
    now: int,
) -> Iterator[tuple[Any, ...]]:
    """The access rows of one run row: its read and, when it wrote, its write. A run group
    reads and writes nothing itself."""
    tenant, run_id, process_id = run[0], run[1], run[5]
    if process_id is None:
        return
    flow = flows[process_id]
    start, end, status = run[7], run[8], run[9]
    statistics = orjson.loads(run[11])
    name = run_status.members[status]
    target = flow.writes
    if flow.wrote is not None and end is not None and end < now - RETARGETED_DAYS * _DAY:
        target = flow.wrote
    for direction, dataset, count in (
        (_INPUT, flow.reads, read_rows(statistics)),
        (_OUTPUT, target, written_rows(name, statistics)),
    ):
        if count is None:
            continue
        yield (
            tenant,
            _uuid7(start, ids.getrandbits(80)),
            "datasetAccess",
            f"{ids.getrandbits(64):016x}",
            direction,
            known[dataset],
            dataset.namespace,
            dataset.name,
            run_id,
            status,
            start,
            end,
            count,
        )


def _expect(
    connection: Transaction,
    tenant: str,
    flows: Iterable[DemoFlow],
    known: dict[DemoDataset, str],
    begun: int,
    now: int,
) -> None:
    """Freshness expectations, set when the history began, on the targets of the flows marked
    ``expected`` and on the target a flow left (which goes stale); evaluated as of ``now``
    (opening the left target's stale incident). A dataset with an expectation already (seeded
    before) keeps it.

    Each expected target is expected as often as the history writes it, with room to spare: the
    shortest of :data:`_EVERY` longer than twice the time since its last successful write, so
    it is fresh when seeded (a small history writes each target about daily, a large one many
    times a day). The left target is expected daily.
    """
    watched: list[tuple[DemoDataset, str | None]] = [
        (flow.writes, None) for flow in flows if flow.expected
    ]
    watched += [(flow.wrote, _EVERY[0]) for flow in flows if flow.wrote is not None]
    for dataset, given in dict(watched).items():
        key = known[dataset]
        if freshness_rows.get(connection, tenant, key) is not None:
            continue
        found = datasets.find(connection, tenant, dataset.namespace, dataset.name)
        assert found is not None
        last = found.values["lastWrittenDateTime"]
        gap = 2 * (now - (begun if last is None else last))
        every = given or next((e for e in _EVERY if parse_duration(e) > gap), _EVERY[-1])
        members = {
            "writtenEvery": every,
            "paused": False,
            "pausedUntil": None,
            "owner": "Data platform team",
            "tags": ["demo"],
        }
        freshness.establish(connection, tenant, found, members, begun, now, created=True)


def _process_rows(
    rng: random.Random, ids: random.Random, tenant: str, count: int
) -> list[tuple[Any, ...]]:
    rows = []
    for i in range(count):
        name = DEMO_FLOWS[i % len(DEMO_FLOWS)].name
        if i >= len(DEMO_FLOWS):
            name = f"{name} #{i // len(DEMO_FLOWS) + 1}"
        data_share = i % 3 != 2
        rows.append(
            (
                tenant,
                _uuid4(ids.getrandbits(128)),
                "dataShareOutgoingFlow" if data_share else "insightsOutgoingFlow",
                f"{rng.getrandbits(64):016x}",
                name,
                1,
                name.lower().replace(" ", "-") if data_share else None,
                [_uuid4(rng.getrandbits(128))] if data_share else None,
                1 if data_share else None,
            )
        )
    return rows


def _run_rows(
    rng: random.Random,
    ids: random.Random,
    tenant: str,
    process_rows: list[tuple[Any, ...]],
    flows: dict[str, DemoFlow],
    count: int,
    days: int,
    now: int,
    members: list[tuple[str, str, str]],
) -> Iterator[tuple[Any, ...]]:
    """The runs, oldest first; group memberships are collected into ``members`` on the way.

    The newest few are still running: started within their flow's usual duration, touched
    now, with the statistics of a run that far along (``serve --demo-activity`` carries them
    on). Every other run has ended before now.
    """
    span = days * _DAY
    value = run_status.value_of
    running_from = count - max(1, count // 500)
    group: str | None = None
    groups = 0
    for i in range(count):
        process = rng.choice(process_rows)
        flow = flows[process[1]]
        start = now - span + (span * i) // max(count, 1) + rng.randint(0, _DAY // 24)
        kind = rng.random()
        run_type = (
            "runGroup" if kind < 0.005 else "incomingFlowRun" if kind < 0.12 else "outgoingFlowRun"
        )
        run_id = _uuid4(ids.getrandbits(128))
        if run_type == "runGroup":
            group, groups = run_id, groups + 1
        elif group is not None and len(members) < 50 * groups and rng.random() < 0.02:
            members.append((tenant, group, run_id))
        planned = outcome(rng, flow, process[4])
        length = round(planned.seconds * TICKS_PER_SECOND)
        end: int | None
        if i >= running_from:
            along = rng.uniform(0.1, 0.9)
            start, end = now - round(length * along), None
            status, blocking, statistics = "running", None, planned.progress(along)
        else:
            # Ended at least a minute ago, however close to now the spread put its start.
            start = min(start, now - length - rng.randint(60, 600) * TICKS_PER_SECOND)
            end = start + length
            status, blocking, statistics = (
                planned.status,
                planned.blocking_error,
                planned.statistics,
            )
        yield (
            tenant,
            run_id,
            run_type,
            f"{rng.getrandbits(64):016x}",
            end or now,
            None if run_type == "runGroup" else process[1],
            f"{process[4]} {i + 1}",
            start,
            end,
            value(status),
            blocking,
            orjson.dumps(statistics).decode(),
        )
