"""A run's events, shuffled and sent more than once, converge to one state: the one a plain
reference replay (written here, apart from the server's) gives."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from flowruns.edm.datetimes import format_ticks
from tests.conftest import HUB
from tests.openlineage.events import error_facet, output, run_event
from tests.openlineage.events import tested_input as input_with_checks

TYPES = ["START", "RUNNING", "COMPLETE", "FAIL", "ABORT", "OTHER", None]
BASE = 17_960_256_000_000_000  # 2026-11-30T08:00:00Z in ticks


def reference(events: list[tuple[str | None, int, str]]) -> dict[str, Any]:
    """What the mapping in docs/openlineage.md says, for events of distinct times:
    (type, ticks, error message)."""
    starts = [t for kind, t, _ in events if kind == "START"]
    start = min(starts) if starts else min(t for _, t, _ in events)
    for kind in ("FAIL", "ABORT", "COMPLETE"):
        chosen = [(t, message) for k, t, message in events if k == kind]
        if chosen:
            time, message = max(chosen)
            end = max(time, start)
            if kind == "COMPLETE":
                return {"status": "completed", "start": start, "end": end, "error": None}
            error = ("failed", message) if kind == "FAIL" else ("aborted", None)
            return {"status": "failed", "start": start, "end": end, "error": error}
    return {"status": "running", "start": start, "end": None, "error": None}


events_of_a_run = st.lists(
    st.tuples(st.sampled_from(TYPES), st.integers(0, 10_000)),
    min_size=1,
    max_size=6,
    unique_by=lambda e: e[1],
)


@given(events=events_of_a_run, data=st.data())
def test_shuffled_and_repeated_events_converge_to_the_reference(
    client: TestClient, events: list[tuple[str | None, int]], data: st.DataObject
) -> None:
    run_id = str(uuid.uuid4())
    made = []
    for kind, seconds in events:
        ticks = BASE + seconds * 10_000_000
        message = f"error at {seconds}"
        facets = {"errorMessage": error_facet(message)} if kind == "FAIL" else {}
        event = run_event(kind, run_id, format_ticks(ticks), run_facets=facets)
        made.append(((kind, ticks, message), orjson.dumps(event)))
    sent = data.draw(st.permutations(made + data.draw(st.lists(st.sampled_from(made)))))
    for _, body in sent:
        response = client.post(
            "/api/v1/lineage", content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 201, response.text
    run = client.get(f"{HUB}/runs/{run_id}").json()
    expected = reference([e for e, _ in made])
    error = run["blockingError"]
    assert {
        "status": run["status"],
        "start": run["startDateTime"],
        "end": run["endDateTime"],
        "error": None
        if error is None
        else (error["code"], error["message"] if error["code"] == "failed" else None),
    } == {
        **expected,
        "start": format_ticks(expected["start"]),
        "end": None if expected["end"] is None else format_ticks(expected["end"]),
    }


def _visible(client: TestClient, run_id: str) -> dict[str, Any]:
    """What a reader sees of a run: its members but the id and ETag, and its facets."""
    response = client.get(
        f"{HUB}/runs/{run_id}", headers={"Prefer": 'odata.include-annotations="*"'}
    )
    assert response.status_code == 200, response.text
    run: dict[str, Any] = response.json()
    for member in ("id", "@odata.etag", "@odata.context"):
        run.pop(member, None)
    return run


@st.composite
def facet_events(draw: st.DrawFn) -> list[tuple[str | None, int, dict[str, Any]]]:
    """A run's events at distinct times, each with some of the facets the mapping reads:
    (type, seconds after BASE, what the event carries)."""
    times = draw(st.lists(st.integers(0, 10_000), min_size=1, max_size=5, unique=True))
    made = []
    for seconds in times:
        carries: dict[str, Any] = {}
        if draw(st.booleans()):
            carries["run_facets"] = {"errorMessage": error_facet(f"error at {seconds}")}
        table = draw(st.sampled_from(["public.orders", "public.items"]))
        if draw(st.booleans()):
            carries["outputs"] = [output(table, draw(st.integers(0, 999)), 4096)]
        if draw(st.booleans()):
            check = {"assertion": "not_null", "success": draw(st.booleans()), "severity": "warn"}
            carries["inputs"] = [input_with_checks(table, [check])]
        if draw(st.booleans()):
            carries["job"] = ("airflow", draw(st.sampled_from(["dag.a", "dag.b"])))
        made.append((draw(st.sampled_from(TYPES)), seconds, carries))
    return made


@given(events=facet_events(), data=st.data())
def test_events_out_of_order_leave_the_run_as_events_in_order_do(
    client: TestClient,
    events: list[tuple[str | None, int, dict[str, Any]]],
    data: st.DataObject,
) -> None:
    """Each event that is the newest of its run is folded into what its run's earlier events
    left; a late one replays them all. Either way a reader sees the same run, facets and
    statistics included."""
    in_order, shuffled = str(uuid.uuid4()), str(uuid.uuid4())
    arrival = data.draw(st.permutations(events))
    for run_id, sequence in ((in_order, sorted(events, key=lambda e: e[1])), (shuffled, arrival)):
        for kind, seconds, carries in sequence:
            ticks = BASE + seconds * 10_000_000
            event = run_event(kind, run_id, format_ticks(ticks), **carries)
            response = client.post(
                "/api/v1/lineage",
                content=orjson.dumps(event),
                headers={"Content-Type": "application/json"},
            )
            assert response.status_code == 201, response.text
    assert _visible(client, shuffled) == _visible(client, in_order)
