"""``$apply`` answered from the day counts equals ``$apply`` answered from the runs.

Hypothesis writes aggregations in the shape dashboards use — filters on start-day bounds,
statuses, calendar parts and types; keys from ``date``/``year``/``month`` of the start and the
status; ``$count``, ``countdistinct``, ``min``, ``max`` — mixed with parts the counts cannot
answer (``gt`` a midnight, the hour, the name, statistics). Each is asked twice over HTTP, once
as served and once with the counts switched off; the answers must be equal, and the counts
must have been used exactly when every part is day-exact. The history has runs at midnight,
a tick after it, a tick before it, and before 1970, on both engines.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from flowruns.edm.datetimes import format_ticks
from flowruns.edm.industrydata import run_status
from flowruns.odata.literals import TICKS_PER_DAY
from flowruns.store import aggregating
from tests.conftest import HUB, NS
from tests.query.conftest import History
from tests.query.grammar import RUN_STATUS

Draw = Callable[[st.SearchStrategy[Any]], Any]

MIDNIGHTS = ["1969-07-20", "1969-12-31", "1970-01-01", "2001-02-03", "2024-02-29", "2026-01-01"]
COLLECTIONS = ["runs", f"runs/{NS}.outgoingFlowRun", "runGroups"]


@st.composite
def _midnight(draw: Draw) -> str:
    day = draw(st.sampled_from(MIDNIGHTS))
    return day if draw(st.booleans()) else f"{day}T00:00:00Z"  # a date means its midnight


@st.composite
def _exact_filter(draw: Draw) -> str:
    """A predicate the day counts can answer."""
    status = draw(st.sampled_from(RUN_STATUS))
    others = draw(st.lists(st.sampled_from(RUN_STATUS), min_size=1, max_size=3, unique=True))
    midnight = draw(_midnight())
    year = draw(st.integers(1968, 2027))
    choices = [
        f"startDateTime ge {midnight}",
        f"startDateTime lt {midnight}",
        f"{midnight} le startDateTime",
        f"{midnight} gt startDateTime",
        f"status eq '{status}'",
        f"status ne '{status}'",
        f"status in ({', '.join(repr(s) for s in others)})",
        f"date(startDateTime) ge {draw(st.sampled_from(MIDNIGHTS))}",
        f"year(startDateTime) lt {year}",
        f"month(startDateTime) eq {draw(st.integers(1, 12))}",
        f"day(startDateTime) le {draw(st.integers(1, 31))}",
        f"isof('{NS}.incomingFlowRun')",
    ]
    text: str = draw(st.sampled_from(choices))
    if draw(st.integers(0, 3)) == 0:
        text = f"not ({text})"
    return text


@st.composite
def _inexact_filter(draw: Draw) -> str:
    """A predicate only the runs can answer."""
    midnight = draw(_midnight())
    text: str = draw(
        st.sampled_from(
            [
                f"startDateTime gt {midnight}",
                f"startDateTime le {midnight}",
                f"startDateTime eq {midnight}",
                "startDateTime ge 2026-01-01T00:00:00.0000001Z",
                "hour(startDateTime) lt 12",
                "displayName ne null",
                "statistics/a gt 0",
                "endDateTime ne null",
            ]
        )
    )
    return text


@st.composite
def aggregations(draw: Draw) -> tuple[str, bool]:
    """``$apply`` text and whether the day counts can answer it."""
    exact = True
    steps: list[str] = []
    for _ in range(draw(st.integers(0, 2))):
        parts = draw(st.lists(_exact_filter(), min_size=1, max_size=3))
        if draw(st.integers(0, 4)) == 0:
            parts.append(draw(_inexact_filter()))
            exact = False
        joiner = draw(st.sampled_from([" and ", " or "]))
        steps.append(f"filter({joiner.join(f'({p})' for p in parts)})")
    computed = draw(
        st.lists(
            st.sampled_from(
                [
                    "date(startDateTime) as day",
                    "year(startDateTime) as y",
                    "month(startDateTime) as m",
                    "hour(startDateTime) as h",
                ]
            ),
            max_size=2,
            unique=True,
        )
    )
    if computed:
        steps.append(f"compute({','.join(computed)})")
    names = [c.rsplit(" ", 1)[1] for c in computed]
    keys = draw(st.lists(st.sampled_from([*names, "status"]), max_size=2, unique=True))
    if "h" in keys:
        exact = False
    measures = ["$count as n"]
    measures += draw(
        st.lists(
            st.sampled_from(
                [
                    "status with countdistinct as kinds",
                    "date(startDateTime) with min as first",
                    "startDateTime with max as last",
                ]
            ),
            max_size=1,
        )
    )
    if "startDateTime with max as last" in measures:
        exact = False
    aggregate = f"aggregate({','.join(measures)})"
    steps.append(f"groupby(({','.join(keys)}),{aggregate})" if keys else aggregate)
    return "/".join(steps), exact


def _served(history: History, collection: str, apply: str) -> list[dict[str, Any]]:
    response = history.client.get(f"{HUB}/{collection}", params={"$apply": apply})
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["value"]
    return rows


@given(data=st.data())
def test_answers_from_the_counts_equal_answers_from_the_runs(
    history: History, data: st.DataObject
) -> None:
    collection = data.draw(st.sampled_from(COLLECTIONS), label="collection")
    apply, exact = data.draw(aggregations(), label="apply")
    used: list[bool] = []
    decide = aggregating.answers

    def spy(*args: Any) -> bool:
        used.append(decide(*args))
        return used[-1]

    with mock.patch.object(aggregating, "answers", spy):
        served = _served(history, collection, apply)
    with mock.patch.object(aggregating, "answers", return_value=False):
        from_runs = _served(history, collection, apply)
    note(f"served {served}")
    assert served == from_runs
    assert used == [exact]


@pytest.mark.parametrize("bounds", [("1969-12-31", "1970-01-02"), ("2024-02-29", "2026-01-02")])
def test_runs_per_day_and_status_are_the_runs_counted(
    history: History, bounds: tuple[str, str]
) -> None:
    low, high = bounds
    apply = (
        f"filter(startDateTime ge {low}T00:00:00Z and startDateTime lt {high}T00:00:00Z)"
        "/compute(date(startDateTime) as day)/groupby((day,status),aggregate($count as runs))"
    )
    served = Counter({(r["day"], r["status"]): r["runs"] for r in _served(history, "runs", apply)})
    expected: Counter[tuple[str, str]] = Counter()
    for run in history.data.runs.values():
        start = int(run.values["startDateTime"])
        day = format_ticks(start - start % TICKS_PER_DAY)[:10]
        if low <= day < high:
            expected[(day, run_status.members[int(run.values["status"])])] += 1
    assert served == expected
    assert expected  # the bounds hold runs, at and around midnight
