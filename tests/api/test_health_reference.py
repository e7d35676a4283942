"""The evaluator's schedule incidents against a reference written independently here.

For random repeating schedules, graces, run starts and evaluation times, the server's
evaluation (over HTTP, on both engines) must open and resolve exactly the incidents the
reference finds. The reference does not replay evaluations one by one as the server does: it
reads each incident off the whole history at once —

- a **missed** incident is a maximal group of consecutive closed windows without a run (a window
  runs from an expected start to the next); it opens when its first window closes, counts its
  windows, and resolves at the first run start after the group, once that start is known;
- a **late** incident of window ``k`` opens at ``t + grace`` when some evaluation fell in the
  window after ``t + grace``, before any run of the window had started, while the window before
  was not missed; it resolves at the window's first run start, or when the window closes
  without one.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from flowruns.api.app import create_app, open_database
from flowruns.edm.datetimes import format_ticks, parse
from flowruns.odata.literals import format_duration
from flowruns.service import health
from flowruns.settings import Settings
from flowruns.store.database import Database
from tests.conftest import HUB, NS, bearer

MINUTE = 60 * 10_000_000
ORIGIN = parse("2031-01-01T00:00:00Z")  # after every expectation the test writes
WINDOWS = 6

Incident = tuple[str, int, int, int | None, int]  # kind, expected, opened, resolved, count


def reference(
    period: int, grace: int | None, starts: list[int], evaluations: list[int]
) -> set[Incident]:
    expected = [ORIGIN + k * period for k in range(WINDOWS * 4)]
    last = evaluations[-1]
    known = sorted(s for s in starts if s <= last)

    def first_start(k: int) -> int | None:
        found = [s for s in known if expected[k] <= s < expected[k + 1]]
        return found[0] if found else None

    closed = [k for k in range(len(expected) - 1) if expected[k + 1] <= last]
    unanswered = [k for k in closed if first_start(k) is None]
    found: set[Incident] = set()
    group: list[int] = []
    for k in [*closed, None]:
        if k is not None and k in unanswered and (not group or group[-1] == k - 1):
            group.append(k)
            continue
        if group:
            after = [s for s in known if s >= expected[group[-1] + 1]]
            resolved = after[0] if after else None
            found.add(("missed", expected[group[0]], expected[group[0] + 1], resolved, len(group)))
            group = [k] if k is not None and k in unanswered else []
    if grace is None or grace >= period:
        return found
    for k in range(len(expected) - 1):
        begin, end = expected[k], expected[k + 1]
        if begin + grace > last:
            break
        started = first_start(k)
        if any(begin + grace <= t < end and (started is None or t < started) for t in evaluations):
            if k - 1 in unanswered:
                continue
            resolved = started if started is not None else (end if end <= last else None)
            found.add(("late", begin, begin + grace, resolved, 1))
    return found


@dataclasses.dataclass
class Server:
    client: TestClient
    db: Database


@pytest.fixture
def server(settings: Settings) -> Iterator[Server]:
    quiet = dataclasses.replace(settings, evaluate_health=False)
    db = open_database(quiet)
    with TestClient(create_app(quiet), headers=bearer(quiet)) as client:
        yield Server(client, db)
    db.dispose()


@settings(max_examples=40, deadline=None)
@given(
    period=st.sampled_from([30 * MINUTE, 60 * MINUTE, 24 * 60 * MINUTE]),
    grace_part=st.one_of(st.none(), st.integers(1, 120)),
    start_parts=st.lists(st.integers(0, WINDOWS * 100), max_size=8),
    evaluation_parts=st.lists(st.integers(1, WINDOWS * 100), min_size=1, max_size=8),
)
def test_incidents_match_the_reference(
    server: Server,
    period: int,
    grace_part: int | None,
    start_parts: list[int],
    evaluation_parts: list[int],
) -> None:
    # Parts are hundredths of a period: starts and evaluations fall anywhere in six windows.
    grace = None if grace_part is None else max(MINUTE, period * grace_part // 100)
    starts = sorted({ORIGIN + period * p // 100 for p in start_parts})
    evaluations = sorted({ORIGIN + period * p // 100 for p in evaluation_parts})
    body = {"@odata.type": f"#{NS}.insightsOutgoingFlow", "displayName": "flow"}
    process = server.client.post(f"{HUB}/processes", json=body).json()["id"]
    expectation: dict[str, Any] = {
        "schedule": f"R/{format_ticks(ORIGIN)}/{format_duration(period)}"
    }
    if grace is not None:
        expectation["grace"] = format_duration(grace)
    put = server.client.put(f"{HUB}/processes/{process}/expectation", json=expectation)
    assert put.status_code == 201, put.text
    for start in starts:
        run = {
            "displayName": "run",
            "startDateTime": format_ticks(start),
            "endDateTime": format_ticks(start + 1),
            "status": "completed",
        }
        created = server.client.post(f"{HUB}/processes/{process}/runs", json=run)
        assert created.status_code == 201, created.text
    for moment in evaluations:
        health.evaluate_due(server.db, now=functools.partial(int, moment))
    answer = server.client.get(f"{HUB}/processes/{process}/incidents?$top=999").json()
    got = {
        (
            i["kind"],
            parse(i["expectedDateTime"]),
            parse(i["openedDateTime"]),
            None if i["resolvedDateTime"] is None else parse(i["resolvedDateTime"]),
            i["occurrences"],
        )
        for i in answer["value"]
    }
    assert got == reference(period, grace, starts, evaluations)
