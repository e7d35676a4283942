"""``runGroup.getErrorsAndWarningsFile()``: the problems of a group's runs as CSV text.

One row per problem: the blocking error of a failed run, then each entry of the run's
well-known ``statistics.errors`` and ``statistics.warnings`` arrays. A member that finished with
errors or warnings but recorded no entries still gets one row, so no such run goes unlisted.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from flowruns.edm.datetimes import format_ticks
from flowruns.odata.path import EntityRef
from flowruns.service.resources import resolve_entity
from flowruns.store import entities
from flowruns.store.database import Database
from flowruns.store.entities import RUN_TABLE, Record, Scope, sort_by

COLUMNS = (
    "runId",
    "displayName",
    "runType",
    "status",
    "startDateTime",
    "endDateTime",
    "severity",
    "code",
    "message",
    "target",
)
_STATUSES = frozenset({"failed", "completedWithErrors", "completedWithWarnings"})


def errors_and_warnings_csv(db: Database, tenant: str, group_ref: EntityRef) -> str:
    with db.reading() as connection:
        # The path resolver binds the function only where the type is runGroup.
        group = resolve_entity(connection, tenant, group_ref)
        members = entities.all_records(
            connection,
            RUN_TABLE,
            tenant,
            Scope(group_id=group.id, statuses=_STATUSES),
            [sort_by(RUN_TABLE, "startDateTime", False), sort_by(RUN_TABLE, "id", False)],
        )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for run in members:
        for severity, problem in _problems(run):
            writer.writerow(
                [
                    run.id,
                    _text(run.values["displayName"]),
                    run.type.name,
                    run.values["status"],
                    format_ticks(run.values["startDateTime"]),
                    _time(run.values["endDateTime"]),
                    severity,
                    _text(problem.get("code")),
                    _text(problem.get("message")),
                    _text(problem.get("target")),
                ]
            )
    return out.getvalue()


def _problems(run: Record) -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    if run.values.get("blockingError"):
        found.append(("blockingError", run.values["blockingError"]))
    statistics = run.values.get("statistics") or {}
    for severity, member in (("error", "errors"), ("warning", "warnings")):
        entries = statistics.get(member)
        if isinstance(entries, list):
            found.extend((severity, e) for e in entries if isinstance(e, dict))
    if not found:
        severity = "warning" if run.values["status"] == "completedWithWarnings" else "error"
        found.append((severity, {}))
    return found


def _time(ticks: int | None) -> str:
    return "" if ticks is None else format_ticks(ticks)


def _text(value: object) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    # A cell starting with a formula character would run as a formula in a spreadsheet.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
