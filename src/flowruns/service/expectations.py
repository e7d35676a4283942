"""Writing a process's expectation (``processes/{id}/expectation``): create or replace it
(``PUT``), change some members (``PATCH``), remove it (``DELETE``).

Every member is checked before anything is written (400 naming the member). A write starts the
process's evaluation afresh: its open incidents resolve, expected starts up to now never open
one, and the process is evaluated at once, so its health is current in the response's wake.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from flowruns.edm.datetimes import now_ticks
from flowruns.edm.industrydata import EXPECTATIONS, RUNS
from flowruns.errors import InvalidRequest, NotFound
from flowruns.odata.deserialize import EntityBody
from flowruns.odata.path import EntityRef
from flowruns.odata.query import parse_filter
from flowruns.records import Record
from flowruns.service import health
from flowruns.service.resources import resolve_entity
from flowruns.service.schedules import zone_of
from flowruns.service.writing import check_if_match
from flowruns.store import health as rows
from flowruns.store.database import Database
from flowruns.store.health import Watched

MEMBERS = tuple(p.name for p in EXPECTATIONS.type.properties if not p.read_only)
MAX_FAILURE_STREAK = 1000
MAX_TAGS = 50


def check(values: dict[str, Any], now: int) -> None:
    """400 naming the first member that is not valid."""
    health.Rules.of(values)
    if values.get("successRule") is not None:
        parse_filter(values["successRule"], RUNS.type, now, "successRule")
    if values.get("timeZone") is not None and values.get("schedule") is None:
        zone_of(values["timeZone"])  # a zone kept for a cron schedule given later
    anomaly = values.get("durationAnomaly")
    if anomaly is not None and not 1 <= anomaly <= 1_000_000:
        raise InvalidRequest(
            "durationAnomaly must be a factor of at least 1.", target="durationAnomaly"
        )
    streak = values.get("failureStreak")
    if streak is not None and not 1 <= streak <= MAX_FAILURE_STREAK:
        raise InvalidRequest(
            f"failureStreak must lie between 1 and {MAX_FAILURE_STREAK}.", target="failureStreak"
        )
    tags = values.get("tags")
    if tags is not None and len(tags) > MAX_TAGS:
        raise InvalidRequest(f"tags holds at most {MAX_TAGS} tags.", target="tags")
    if values.get("pausedUntil") is not None and not values.get("paused"):
        raise InvalidRequest("pausedUntil needs paused to be true.", target="pausedUntil")


def members(
    existing: Record | None,
    body: EntityBody,
    names: tuple[str, ...],
    if_match: str | None,
    replace: bool,
) -> dict[str, Any]:
    """The members ``names`` an expectation (a process's or a dataset's) has after a write of
    ``body``: over nulls (``PUT``, ``replace``) or over the ``existing`` ones (``PATCH``); 412
    when ``if_match`` is not the existing one's version."""
    if existing is not None:
        check_if_match(existing, if_match)
    values: dict[str, Any] = dict.fromkeys(names)
    if existing is not None and not replace:
        values.update({k: existing.values.get(k) for k in names})
    values.update(body.values)
    return values


def write(
    db: Database,
    tenant: str,
    ref: EntityRef,
    body: EntityBody,
    if_match: str | None,
    *,
    replace: bool,
    clock: Callable[[], int] = now_ticks,
) -> tuple[Record, bool]:
    """``PUT`` (``replace``: members absent from the body become null; creates the expectation
    when the process has none) or ``PATCH`` (404 when there is none); the expectation, and
    whether it was created. ``clock`` tells the time (a test's own)."""
    assert ref.via is not None
    now = clock()
    with db.writing() as transaction:
        process = resolve_entity(transaction, tenant, ref.via.source)
        existing = rows.get(transaction, tenant, process.id)
        if existing is None and not replace:
            raise NotFound(f"The process '{process.id}' has no expectation; create it with PUT.")
        before = None if existing is None else existing.expectation
        values = members(before, body, MEMBERS, if_match, replace)
        check(values, now)
        values["lastModifiedDateTime"] = now
        record = Record(
            type=EXPECTATIONS.type, id=process.id, etag=secrets.token_hex(8), values=values
        )
        if existing is not None:
            incidents = health.Incidents(transaction, tenant, process.id)
            incidents.resolve_all(now)
        start = health.first_evaluation(now)
        rows.save(transaction, tenant, record, start, created=existing is None)
        name = str(process.values["displayName"])
        evaluation = health.evaluate(transaction, Watched(tenant, record, start, name), now)
        rows.save_evaluation(transaction, tenant, process.id, evaluation)
    return record, existing is None


def remove(db: Database, tenant: str, ref: EntityRef, if_match: str | None) -> None:
    """Remove the expectation; its open incidents resolve."""
    assert ref.via is not None
    now = now_ticks()
    with db.writing() as transaction:
        process = resolve_entity(transaction, tenant, ref.via.source)
        existing = rows.get(transaction, tenant, process.id)
        if existing is None:
            raise NotFound(f"The process '{process.id}' has no expectation.")
        check_if_match(existing.expectation, if_match)
        health.Incidents(transaction, tenant, process.id).resolve_all(now)
        rows.remove(transaction, tenant, process.id, incidents_too=False)
