"""``runGroup.getErrorsAndWarningsFile()``: the problems of a group's runs as CSV text.

One row per problem: the blocking error of a failed run, then each entry of the run's
well-known ``statistics.errors`` and ``statistics.warnings`` arrays. A member that finished with
errors or warnings but recorded no entries still gets one row, so no such run goes unlisted.

Each row repeats its run's columns, so the text can be far larger than the statistics it comes
from (an empty entry is three bytes of JSON and a row of a few hundred characters). It is
therefore produced in pieces as it is sent: members are read :data:`BATCH` at a time in the
file's order, each run's statistics are decoded only while its rows are written, and a piece is
handed on every :data:`PIECE_CHARS` characters. Memory stays bounded whatever the size of the
group or of its members' statistics.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import orjson

from flowruns.edm.datetimes import format_ticks
from flowruns.edm.industrydata import RUNS
from flowruns.odata.path import EntityRef
from flowruns.records import Record
from flowruns.service.reading import order_by
from flowruns.service.resources import resolve_entity
from flowruns.store import queries
from flowruns.store.database import Database
from flowruns.store.entities import Scope
from flowruns.store.queries import Query, Window

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
# Member runs read per query: at most this many statistics (64 KiB of JSON each) held at once.
BATCH = 16
# Characters of CSV text per piece handed to the response.
PIECE_CHARS = 64 * 1024
_STATUSES = frozenset({"failed", "completedWithErrors", "completedWithWarnings"})
# The file lists the members by start, then id: a total order to read them in batches by.
_BY_START = Query(
    order=(order_by(RUNS.type, "startDateTime", False), order_by(RUNS.type, "id", False))
)


def errors_and_warnings_csv(db: Database, tenant: str, group_ref: EntityRef) -> Iterator[str]:
    """The CSV text of the group's problems, in pieces.

    The group is resolved now, so an unknown group (or a run that is not one) raises its Graph
    error before any of the answer is written; the members are read as the pieces are taken.
    """
    with db.reading() as transaction:
        # The path resolver binds the function only where the type is runGroup.
        group = resolve_entity(transaction, tenant, group_ref)
    return _pieces(db, Scope(tenant, RUNS.type, group_id=group.id, statuses=_STATUSES))


def _pieces(db: Database, members: Scope) -> Iterator[str]:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    after: list[Any] | None = None
    while True:
        # One short read per batch: nothing is held open while a slow client takes the pieces.
        with db.reading() as transaction:
            window = Window(limit=BATCH, after=after)
            batch = queries.read_page(transaction, members, _BY_START, window, json_as=str)
        for run in batch.records:
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
                if out.tell() >= PIECE_CHARS:
                    yield out.getvalue()
                    out.seek(0)
                    out.truncate()
        if batch.last_key is None:
            break
        after = batch.last_key
    yield out.getvalue()


def _problems(run: Record) -> list[tuple[str, dict[str, Any]]]:
    """The run's problems; its JSON columns are stored text, decoded here one run at a time."""
    found: list[tuple[str, dict[str, Any]]] = []
    blocking_error = _decoded(run.values.get("blockingError"))
    if blocking_error:
        found.append(("blockingError", blocking_error))
    statistics = _decoded(run.values.get("statistics")) or {}
    for severity, member in (("error", "errors"), ("warning", "warnings")):
        entries = statistics.get(member)
        if isinstance(entries, list):
            found.extend((severity, e) for e in entries if isinstance(e, dict))
    if not found:
        severity = "warning" if run.values["status"] == "completedWithWarnings" else "error"
        found.append((severity, {}))
    return found


def _decoded(text: str | None) -> Any:
    return None if text is None else orjson.loads(text)


def _time(ticks: int | None) -> str:
    return "" if ticks is None else format_ticks(ticks)


def _text(value: object) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    # A cell starting with a formula character would run as a formula in a spreadsheet.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
