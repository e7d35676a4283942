"""A realistic demo history: processes and their runs spread over months.

Rows are generated as tuples and loaded straight into the tables by each engine's bulk path, in
one transaction. The same seed gives the same history (apart from the ids, which are fresh).
"""

from __future__ import annotations

import bisect
import itertools
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from flowruns.edm.datetimes import TICKS_PER_SECOND, now_ticks
from flowruns.edm.industrydata import run_status
from flowruns.store import bulk
from flowruns.store.database import Database
from flowruns.store.schema import processes, run_group_members, runs

BATCH = 20_000
_DAY = 86_400 * TICKS_PER_SECOND

_PROCESS_NAMES = (
    "Nightly SIS roster export",
    "Attendance insights",
    "Gradebook share to district",
    "Enrollment sync to LMS",
    "Course catalog share",
    "Staff directory export",
    "Assessment results share",
    "Transport roster export",
    "Library accounts sync",
    "Guardian contacts share",
)
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
_BLOCKING = (
    ("connectionFailed", "Could not reach the destination share: connection timed out"),
    ("authenticationFailed", "The destination rejected the service credentials"),
    ("schemaMismatch", "The source file header does not match the expected CSV columns"),
)


@dataclass(frozen=True)
class SeedResult:
    processes: int
    runs: int


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
_STATUSES = ("completed", "completedWithWarnings", "completedWithErrors", "failed")
_CUMULATIVE_WEIGHTS = tuple(itertools.accumulate((80, 10, 6, 4)))


def _uuid4(bits: int) -> str:
    """A version-4 UUID string from 128 random bits (without uuid.UUID's overhead)."""
    h = f"{bits:032x}"
    variant = "89ab"[int(h[16], 16) & 3]
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:32]}"


def _statistics(rng: random.Random, status: str) -> str:
    processed = rng.randint(50, 50_000)
    errors = rng.randint(1, 40) if status == "completedWithErrors" else 0
    warnings = rng.randint(1, 60) if status == "completedWithWarnings" else 0
    stats: dict[str, Any] = {
        "recordsProcessed": processed,
        "recordsSucceeded": processed - errors,
        "recordsFailed": errors,
        "warningCount": warnings,
        "errorCount": errors,
    }
    if warnings:
        code, message = rng.choice(_WARNINGS)
        stats["warnings"] = [{"code": code, "message": message, "target": "users.csv"}]
    if errors:
        code, message = rng.choice(_ERRORS)
        stats["errors"] = [{"code": code, "message": message, "target": "enrollments.csv"}]
    return orjson.dumps(stats).decode()


def seed(
    db: Database, tenant: str, run_count: int, *, days: int = 180, seed: int = 7
) -> SeedResult:
    """Add ``run_count`` runs (and the processes they belong to) to ``tenant``.

    One transaction; rows go in through :mod:`flowruns.store.bulk` (COPY on PostgreSQL).
    """
    rng = random.Random(seed)
    # Ids are always fresh, so seeding again adds a second history instead of colliding.
    ids = random.Random(os.urandom(16))
    process_rows = _process_rows(rng, ids, tenant, max(10, min(200, run_count // 5_000)))
    members: list[tuple[str, str, str]] = []
    now = now_ticks()
    total = 0
    with db.writing() as connection, bulk.loading(connection):
        bulk.load(connection, processes, PROCESS_COLUMNS, process_rows)
        rows = _run_rows(rng, ids, tenant, process_rows, run_count, days, now, members)
        while batch := list(itertools.islice(rows, BATCH)):
            total += bulk.load(connection, runs, RUN_COLUMNS, batch)
        bulk.load(connection, run_group_members, MEMBER_COLUMNS, members)
    return SeedResult(len(process_rows), total)


def _process_rows(
    rng: random.Random, ids: random.Random, tenant: str, count: int
) -> list[tuple[Any, ...]]:
    rows = []
    for i in range(count):
        name = _PROCESS_NAMES[i % len(_PROCESS_NAMES)]
        if i >= len(_PROCESS_NAMES):
            name = f"{name} #{i // len(_PROCESS_NAMES) + 1}"
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
    count: int,
    days: int,
    now: int,
    members: list[tuple[str, str, str]],
) -> Iterator[tuple[Any, ...]]:
    """The runs, oldest first; group memberships are collected into ``members`` on the way."""
    span = days * _DAY
    value = run_status.value_of
    running_from = count - max(1, count // 500)  # the newest few are still running
    group: str | None = None
    groups = 0
    for i in range(count):
        process = rng.choice(process_rows)
        start = min(now - span + (span * i) // max(count, 1) + rng.randint(0, _DAY // 24), now - 1)
        kind = rng.random()
        run_type = (
            "runGroup" if kind < 0.005 else "incomingFlowRun" if kind < 0.12 else "outgoingFlowRun"
        )
        run_id = _uuid4(ids.getrandbits(128))
        if run_type == "runGroup":
            group, groups = run_id, groups + 1
        elif group is not None and len(members) < 50 * groups and rng.random() < 0.02:
            members.append((tenant, group, run_id))
        if i >= running_from:
            status, end, statistics = "running", None, "{}"
        else:
            status = _STATUSES[bisect.bisect(_CUMULATIVE_WEIGHTS, rng.random() * 100)]
            end = start + rng.randint(20, 3_600) * TICKS_PER_SECOND
            statistics = _statistics(rng, status)
        blocking = None
        if status == "failed":
            code, message = rng.choice(_BLOCKING)
            blocking = {"code": code, "message": message, "target": process[4]}
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
            statistics,
        )
