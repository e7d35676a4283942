"""A realistic demo history: processes and their runs spread over months.

Rows are generated in batches and inserted straight into the tables (one transaction), so a
million runs load in well under a minute on SQLite. The same seed gives the same history.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert

from flowruns.edm.datetimes import TICKS_PER_SECOND, now_ticks
from flowruns.edm.industrydata import run_status
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


def _status_picker(rng: random.Random) -> Callable[[], str]:
    statuses = ("completed", "completedWithWarnings", "completedWithErrors", "failed")
    weights = (80, 10, 6, 4)
    return lambda: rng.choices(statuses, weights)[0]


def _statistics(rng: random.Random, status: str) -> dict[str, Any]:
    processed = rng.randint(50, 50_000)
    errors = rng.randint(1, 40) if status == "completedWithErrors" else 0
    warnings = rng.randint(1, 60) if status in ("completedWithWarnings",) else 0
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
    return stats


def seed(
    db: Database, tenant: str, run_count: int, *, days: int = 180, seed: int = 7
) -> SeedResult:
    """Add ``run_count`` runs (and the processes they belong to) to ``tenant``."""
    rng = random.Random(seed)
    process_rows = _process_rows(rng, tenant, max(10, min(200, run_count // 5_000)))
    now = now_ticks()
    with db.writing() as connection:
        connection.execute(insert(processes), process_rows)
        total = 0
        groups: list[str] = []
        members: list[dict[str, str]] = []
        for batch in _batches(_run_rows(rng, tenant, process_rows, run_count, days, now)):
            connection.execute(insert(runs), batch)
            total += len(batch)
            for row in batch:
                if row["type"] == "runGroup":
                    groups.append(row["id"])
                elif groups and len(members) < 50 * len(groups) and rng.random() < 0.02:
                    members.append(
                        {"tenant_id": tenant, "group_id": groups[-1], "run_id": row["id"]}
                    )
        if members:
            connection.execute(insert(run_group_members), members)
    return SeedResult(len(process_rows), total)


def _process_rows(rng: random.Random, tenant: str, count: int) -> list[dict[str, Any]]:
    rows = []
    for i in range(count):
        name = _PROCESS_NAMES[i % len(_PROCESS_NAMES)]
        if i >= len(_PROCESS_NAMES):
            name = f"{name} #{i // len(_PROCESS_NAMES) + 1}"
        data_share = i % 3 != 2
        rows.append(
            {
                "tenant_id": tenant,
                "id": str(uuid.uuid4()),
                "type": "dataShareOutgoingFlow" if data_share else "insightsOutgoingFlow",
                "etag": f"{rng.getrandbits(64):016x}",
                "display_name": name,
                "readiness_status": 1,
                "share_name": name.lower().replace(" ", "-") if data_share else None,
                "invitee_user_ids": [str(uuid.UUID(int=rng.getrandbits(128), version=4))]
                if data_share
                else None,
                "sharing_state": 1 if data_share else None,
            }
        )
    return rows


def _run_rows(
    rng: random.Random,
    tenant: str,
    process_rows: list[dict[str, Any]],
    count: int,
    days: int,
    now: int,
) -> Iterator[dict[str, Any]]:
    pick_status = _status_picker(rng)
    span = days * _DAY
    value = run_status.value_of
    for i in range(count):
        process = rng.choice(process_rows)
        # Older runs first; the newest few are still running.
        start = now - span + (span * i) // max(count, 1) + rng.randint(0, _DAY // 24)
        start = min(start, now - 1)
        kind = rng.random()
        run_type = (
            "runGroup"
            if kind < 0.005
            else "incomingFlowRun"
            if kind < 0.12
            else ("outgoingFlowRun")
        )
        running = i >= count - max(1, count // 500)
        status = "running" if running else pick_status()
        duration = rng.randint(20, 3_600) * TICKS_PER_SECOND
        end = None if running else start + duration
        blocking = None
        if status == "failed":
            code, message = rng.choice(_BLOCKING)
            blocking = {"code": code, "message": message, "target": process["display_name"]}
        yield {
            "tenant_id": tenant,
            "id": str(uuid.uuid4()),
            "type": run_type,
            "etag": f"{rng.getrandbits(64):016x}",
            "touched": end or now,
            "process_id": None if run_type == "runGroup" else process["id"],
            "display_name": f"{process['display_name']} {i + 1}",
            "start_date_time": start,
            "end_date_time": end,
            "status": value(status),
            "blocking_error": blocking,
            "statistics": {} if running else _statistics(rng, status),
        }


def _batches(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch
