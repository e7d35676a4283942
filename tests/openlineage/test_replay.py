"""A run's replay resumed from what ingestion stores equals the replay of all its events.

Ingestion folds an event that sorts after every event of its run into the stored fold, and
replays all the run's events only for an event that arrives late. Whatever the order of arrival,
each step's state must equal the full replay of the events received so far.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowruns.service.lineage_replay import Event, Fold, Job, replay

TYPES = ["START", "RUNNING", "COMPLETE", "FAIL", "ABORT", "OTHER"]
JOBS = [("airflow", "dag.task"), ("airflow", "dag.other"), ("dbt", "model")]
DATASETS = [("postgres://db", "public.orders"), ("s3://lake", "orders"), ("s3://lake", "items")]
PARENTS = [str(uuid.UUID(int=n)) for n in (1, 2)]


def _dataset_facets(draw: st.DrawFn) -> dict[str, Any]:
    facets: dict[str, Any] = {}
    if draw(st.booleans()):
        facets["outputStatistics"] = {
            "rowCount": draw(st.integers(0, 1000)),
            "size": draw(st.integers(0, 1 << 20)),
        }
    if draw(st.booleans()):
        facets["inputStatistics"] = {"rowCount": draw(st.integers(0, 1000))}
    if draw(st.booleans()):
        facets["dataQualityAssertions"] = {
            "assertions": [
                {
                    "assertion": draw(st.sampled_from(["not_null", "unique"])),
                    "success": draw(st.booleans()),
                    "severity": draw(st.sampled_from(["error", "warn", None])),
                }
                for _ in range(draw(st.integers(0, 2)))
            ]
        }
    if draw(st.booleans()):
        facets["custom"] = {"value": draw(st.integers(0, 3))}
    return facets


@st.composite
def datasets(draw: st.DrawFn) -> dict[str, Any]:
    namespace, name = draw(st.sampled_from(DATASETS))
    dataset: dict[str, Any] = {"namespace": namespace, "name": name}
    for member in ("facets", "inputFacets", "outputFacets"):
        if draw(st.booleans()):
            dataset[member] = _dataset_facets(draw)
    return dataset


@st.composite
def events(draw: st.DrawFn, digest: str) -> Event:
    event_type = draw(st.sampled_from(TYPES))
    run_facets: dict[str, Any] = {}
    if draw(st.booleans()):
        run_facets["errorMessage"] = {"message": draw(st.sampled_from(["boom", "bang"]))}
    if draw(st.integers(0, 3)) == 0:
        namespace, name = draw(st.sampled_from(JOBS))
        run_facets["parent"] = {
            "run": {"runId": draw(st.sampled_from(PARENTS))},
            "job": {"namespace": namespace, "name": name},
        }
    if draw(st.booleans()):
        run_facets["custom"] = {"n": draw(st.integers(0, 3))}
    namespace, name = draw(st.sampled_from(JOBS))
    job: dict[str, Any] = {"namespace": namespace, "name": name}
    if draw(st.booleans()):
        job["facets"] = {"sql": {"query": draw(st.sampled_from(["select 1", "select 2"]))}}
    body = {
        "eventType": event_type,
        "run": {"runId": str(uuid.UUID(int=99)), "facets": run_facets},
        "job": job,
        "inputs": draw(st.lists(datasets(), max_size=2)),
        "outputs": draw(st.lists(datasets(), max_size=2)),
    }
    # Few distinct times, so that events of one instant (ordered by digest) come up often.
    time = draw(st.integers(0, 5)) * 10_000_000
    return Event(digest, event_type, time, body)


@st.composite
def runs(draw: st.DrawFn) -> list[Event]:
    count = draw(st.integers(1, 8))
    return [draw(events(f"{n:064x}")) for n in range(count)]


def stored(fold: Fold) -> Fold:
    """``fold`` as ingestion reads it back: its facets, job and the rest through JSON."""
    state = fold.state()
    facets = orjson.loads(orjson.dumps(state.facets))
    kept = orjson.loads(orjson.dumps(fold.kept()))
    return Fold.resume(facets, Job(state.job.namespace, state.job.name), kept)


@given(run=runs(), data=st.data())
def test_events_folded_as_they_arrive_replay_like_all_of_them(
    run: list[Event], data: st.DataObject
) -> None:
    arrival = data.draw(st.permutations(run + data.draw(st.lists(st.sampled_from(run)))))
    received: dict[str, Event] = {}
    fold: Fold | None = None
    for event in arrival:
        if event.digest in received:
            continue  # kept once: a repeated event changes nothing
        received[event.digest] = event
        if fold is not None and fold.follows(event):
            fold = stored(fold)
            fold.add(event)
        else:
            fold = Fold.of(received.values())
        assert fold.state() == replay(received.values())


@given(run=runs())
def test_a_fold_in_order_is_the_replay(run: list[Event]) -> None:
    fold: Fold | None = None
    for event in sorted(run, key=lambda e: (e.time, e.digest)):
        if fold is None:
            fold = Fold.of([event])
        else:
            assert fold.follows(event)
            fold = stored(fold)
            fold.add(event)
    assert fold is not None
    assert fold.state() == replay(run)


def test_an_event_before_the_last_one_folded_is_refused() -> None:
    body = {"run": {"runId": PARENTS[0]}, "job": {"namespace": "a", "name": "b"}}
    late, last = Event("a" * 64, "START", 1, body), Event("b" * 64, "COMPLETE", 2, body)
    fold = Fold.of([last])
    assert not fold.follows(late)
    with pytest.raises(ValueError, match="sorts before"):
        fold.add(late)
