"""The lineage questions of docs/lineage.md over generated histories, on both engines: random
runs reading and writing random datasets, some finishing after they recorded their accesses,
and every question's answer equal to a plain computation over the same history."""

from __future__ import annotations

import dataclasses
import uuid
from collections import defaultdict
from typing import Any
from urllib.parse import quote

from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from flowruns.edm.datetimes import format_ticks
from flowruns.settings import Settings
from tests.api.steps import collect_all, get_json
from tests.conftest import HUB, NS, bearer

HOUR = 3600 * 10_000_000
DAY = 24 * HOUR
ORIGIN = 20_000 * DAY  # 2024-10-04T00:00:00Z, midnight
NAMES = ("warehouse.orders", "warehouse.customers", "raw.orders")
SUCCESSFUL = {"completed", "completedWithWarnings"}
FINISHED = ("completed", "failed", "completedWithErrors", "completedWithWarnings")


@dataclasses.dataclass
class Run:
    start: int
    status: str  # the status it ends with (running: it never finishes)
    duration: int
    reads: list[str]
    writes: dict[str, int]  # name → rows
    finish_later: bool  # finished by a PATCH after its accesses were recorded

    @property
    def end(self) -> int | None:
        return None if self.status == "running" else self.start + self.duration


runs = st.builds(
    Run,
    start=st.integers(0, 10 * DAY).map(lambda t: ORIGIN + t),
    status=st.sampled_from(("running", *FINISHED)),
    duration=st.integers(1, 5 * HOUR),
    reads=st.lists(st.sampled_from(NAMES), max_size=2, unique=True),
    writes=st.dictionaries(st.sampled_from(NAMES), st.integers(0, 1000), max_size=2),
    finish_later=st.booleans(),
)


def _record(client: TestClient, history: list[Run]) -> list[str]:
    ids = []
    for run in history:
        body: dict[str, Any] = {
            "@odata.type": f"#{NS}.outgoingFlowRun",
            "displayName": "run",
            "startDateTime": format_ticks(run.start),
        }
        if run.end is not None and not run.finish_later:
            body |= {"status": run.status, "endDateTime": format_ticks(run.end)}
        created = client.post(f"{HUB}/runs", json=body)
        assert created.status_code == 201, created.text
        run_id = created.json()["id"]
        ids.append(run_id)
        for name in run.reads:
            response = client.post(f"{HUB}/runs/{run_id}/inputs", json={"name": name})
            assert response.status_code == 201, response.text
        for name, rows in run.writes.items():
            access = {"name": name, "rowCount": rows}
            response = client.post(f"{HUB}/runs/{run_id}/outputs", json=access)
            assert response.status_code == 201, response.text
        if run.end is not None and run.finish_later:
            done = {"status": run.status, "endDateTime": format_ticks(run.end)}
            assert client.patch(f"{HUB}/runs/{run_id}", json=done).status_code == 200
    return ids


def _day(ticks: int) -> str:
    return format_ticks(ticks - ticks % DAY)[:10]


@settings(max_examples=25, deadline=None)
@given(history=st.lists(runs, max_size=8), cutoff=st.integers(0, 10 * DAY))
def test_every_question_matches_the_reference(
    client: TestClient, settings: Settings, history: list[Run], cutoff: int
) -> None:
    client.headers.update(bearer(settings, tenant=str(uuid.uuid4())))
    ids = _record(client, history)
    since = format_ticks(ORIGIN + cutoff)
    by_name = {d["name"]: d for d in collect_all(client, f"{HUB}/datasets")}
    assert set(by_name) == {n for r in history for n in [*r.reads, *r.writes]}

    # Which runs wrote warehouse.orders since the cutoff, and how many rows each.
    target = "warehouse.orders"
    url = (
        f"{HUB}/datasets?$filter=name eq '{target}'"
        f"&$expand=writes($filter=runStartDateTime ge {since};$select=runId,rowCount)"
    )
    found = get_json(client, url)["value"]
    writes = sorted((w["runId"], w["rowCount"]) for d in found for w in d["writes"])
    assert writes == sorted(
        (i, r.writes[target])
        for i, r in zip(ids, history, strict=True)
        if target in r.writes and r.start >= ORIGIN + cutoff
    )

    # Which runs read a dataset that a failed run wrote (no later than they started).
    url = (
        f"{HUB}/runs?$filter=inputs/any(i: i/dataset/writes/any(w: w/runStatus eq 'failed' "
        "and w/runStartDateTime le i/runStartDateTime))&$select=id"
    )
    answer = sorted(r["id"] for r in collect_all(client, url))
    expected = sorted(
        i
        for i, r in zip(ids, history, strict=True)
        if any(
            name in w.writes and w.status == "failed" and w.start <= r.start
            for name in r.reads
            for w in history
        )
    )
    assert answer == expected

    # Freshness: the end of the latest successful write, and the datasets stale at the cutoff.
    fresh: dict[str, tuple[int, str] | None] = dict.fromkeys(by_name)
    for i, r in zip(ids, history, strict=True):
        for name in r.writes:
            if r.status in SUCCESSFUL and r.end is not None:
                latest = fresh[name]
                if latest is None or (r.end, i) > latest:
                    fresh[name] = (r.end, i)
    for name, dataset in by_name.items():
        latest = fresh[name]
        assert dataset["lastWrittenDateTime"] == (
            None if latest is None else format_ticks(latest[0])
        )
        assert dataset["lastWrittenRunId"] == (None if latest is None else latest[1])
    url = (
        f"{HUB}/datasets?$filter=lastWrittenDateTime lt {since} or lastWrittenDateTime eq null"
        "&$orderby=lastWrittenDateTime&$select=name,lastWrittenDateTime"
    )
    answer = sorted(d["name"] for d in collect_all(client, url))
    expected = sorted(n for n, f in fresh.items() if f is None or f[0] < ORIGIN + cutoff)
    assert answer == expected

    # The runs that wrote warehouse.orders, by a filter of runs.
    url = f"{HUB}/runs?$filter=outputs/any(d: d/name eq '{target}')&$select=id"
    answer = sorted(r["id"] for r in collect_all(client, url))
    expected = sorted(i for i, r in zip(ids, history, strict=True) if target in r.writes)
    assert answer == expected

    # Rows written per day of the run's start.
    if target in by_name:
        apply = (
            "compute(date(runStartDateTime) as day)"
            "/groupby((day),aggregate(rowCount with sum as rows))"
        )
        url = f"{HUB}/datasets/{by_name[target]['id']}/writes?$apply={quote(apply)}"
        rows = sorted((g["day"], g["rows"]) for g in get_json(client, url)["value"])
        per_day: dict[str, int] = defaultdict(int)
        for r in history:
            if target in r.writes:
                per_day[_day(r.start)] += r.writes[target]
        assert rows == sorted(per_day.items())


def _rows(client: TestClient, url: str) -> tuple[list[str], int]:
    """The ids of every row of ``url`` in its order, read two to a page (so that later pages
    start after a skiptoken), and the count the first page gives."""
    headers = {"Prefer": "odata.maxpagesize=2"}
    first = client.get(f"{url}&$count=true", headers=headers)
    assert first.status_code == 200, first.text
    rows = collect_all(client, f"{url}&$count=true", headers=headers)
    return [r["id"] for r in rows], first.json()["@odata.count"]


@settings(max_examples=15, deadline=None)
@given(history=st.lists(runs, max_size=8))
def test_any_over_accesses_keeps_what_the_reference_keeps(
    client: TestClient, settings: Settings, history: list[Run]
) -> None:
    """``any`` over accesses by a key (a semi-join) and by anything else (a probe of each row),
    with other conditions, negated and under ``or``: the rows, their order and count equal
    the reference's, across pages."""
    client.headers.update(bearer(settings, tenant=str(uuid.uuid4())))
    ids = _record(client, history)
    by_id = dict(zip(ids, history, strict=True))
    in_order = [r["id"] for r in collect_all(client, f"{HUB}/runs?$select=id")]
    target, other = "warehouse.orders", "raw.orders"

    def wrote(run: Run) -> bool:
        return target in run.writes

    questions: dict[str, Any] = {
        f"outputs/any(d: d/name eq '{target}')": wrote,
        f"outputs/any(d: '{target}' eq d/name and d/rowCount gt 500)": lambda r: (
            r.writes.get(target, -1) > 500
        ),
        f"outputs/any(d: d/name in ('{target}', '{other}'))": lambda r: bool(
            {target, other} & set(r.writes)
        ),
        f"outputs/any(d: d/name eq '{target}') and status eq 'failed'": lambda r: (
            wrote(r) and r.status == "failed"
        ),
        f"not outputs/any(d: d/name eq '{target}')": lambda r: not wrote(r),
        f"outputs/any(d: d/name eq '{target}') or inputs/any(i: i/name eq '{other}')": lambda r: (
            wrote(r) or other in r.reads
        ),
        "inputs/any()": lambda r: bool(r.reads),
        "outputs/any(d: d/rowCount ge 500)": lambda r: any(n >= 500 for n in r.writes.values()),
        f"outputs/all(d: d/name eq '{target}')": lambda r: set(r.writes) <= {target},
    }
    datasets = {d["name"]: d["id"] for d in collect_all(client, f"{HUB}/datasets")}
    if target in datasets:
        question = f"inputs/any(i: i/datasetId eq {datasets[target]})"
        questions[question] = lambda r: target in r.reads
    for question, keeps in questions.items():
        answer, total = _rows(client, f"{HUB}/runs?$filter={question}&$select=id")
        expected = [i for i in in_order if keeps(by_id[i])]
        assert (answer, total) == (expected, len(expected)), question

    names = [d["id"] for d in collect_all(client, f"{HUB}/datasets?$select=id")]
    name_of = {dataset_id: name for name, dataset_id in datasets.items()}
    for run_id, run in list(by_id.items())[:2]:
        answer, total = _rows(client, f"{HUB}/datasets?$filter=writes/any(w: w/runId eq {run_id})")
        expected = [d for d in names if name_of[d] in run.writes]
        assert (answer, total) == (expected, len(expected))
    answer, total = _rows(client, f"{HUB}/datasets?$filter=reads/any(r: r/runStatus eq 'failed')")
    failed_reads = {n for r in history if r.status == "failed" for n in r.reads}
    expected = [d for d in names if name_of[d] in failed_reads]
    assert (answer, total) == (expected, len(expected))


# A change after the history was recorded (all of it running): a run deleted, a running run's
# start moved, or a running run finished with the status it was drawn with.
changes = st.one_of(
    st.tuples(st.just("finish"), st.integers(0, 7)),
    st.tuples(st.just("start"), st.integers(0, 7), st.integers(0, 4 * HOUR)),
    st.tuples(st.just("delete"), st.integers(0, 7)),
)
# Runs close together over two datasets, most failing: a history where the question has
# answers to keep, lose and gain.
close_runs = st.builds(
    Run,
    start=st.integers(0, 4 * HOUR).map(lambda t: ORIGIN + t),
    status=st.sampled_from(("failed", "failed", "completed", "running")),
    duration=st.integers(1, HOUR),
    reads=st.lists(st.sampled_from(NAMES[:2]), min_size=1, max_size=2, unique=True),
    writes=st.dictionaries(st.sampled_from(NAMES[:2]), st.integers(0, 10), max_size=2),
    finish_later=st.just(True),
)
DOWNSTREAM = (
    "inputs/any(i: i/dataset/writes/any(w: w/runStatus eq 'failed' "
    "and w/runStartDateTime le i/runStartDateTime))"
)


@settings(max_examples=25, deadline=None)
@given(history=st.lists(close_runs, min_size=1, max_size=8), later=st.lists(changes, max_size=16))
def test_the_runs_downstream_of_a_failure_follow_every_change(
    client: TestClient, settings: Settings, history: list[Run], later: list[tuple[Any, ...]]
) -> None:
    # The database keeps this answer with each run; it must stay that of the accesses through
    # runs failing, moving and going, in any order: the page read from what is kept, the same
    # question probed from the accesses (written so that it is not recognised), and a plain
    # computation agree.
    client.headers.update(bearer(settings, tenant=str(uuid.uuid4())))
    ends = [run.status for run in history]
    running = [dataclasses.replace(run, status="running") for run in history]
    ids = _record(client, running)
    alive = dict(zip(ids, running, strict=True))
    for change in later:
        at = change[1] % len(ids)
        run_id = ids[at]
        run = alive.get(run_id)
        if run is not None and change[0] == "delete":
            assert client.delete(f"{HUB}/runs/{run_id}").status_code == 204
            del alive[run_id]
        if run is None or change[0] == "delete" or run.status != "running":
            continue
        if change[0] == "start":
            run.start = ORIGIN + change[2]
            body = {"startDateTime": format_ticks(run.start)}
        else:
            run.status = ends[at]
            body = {"status": run.status}
        response = client.patch(f"{HUB}/runs/{run_id}", json=body)
        assert response.status_code == 200, response.text

    kept = _downstream(client)
    probed_url = f"{HUB}/runs?$filter={DOWNSTREAM.replace('))', ') and true)')}&$select=id"
    probed = [r["id"] for r in collect_all(client, probed_url)]
    expected = {
        run_id
        for run_id, r in alive.items()
        if any(
            name in w.writes and w.status == "failed" and w.start <= r.start
            for name in r.reads
            for w in alive.values()
        )
    }
    assert set(kept) == expected
    assert kept == probed  # in the same order, the runs' own


def _downstream(client: TestClient) -> list[str]:
    return [r["id"] for r in collect_all(client, f"{HUB}/runs?$filter={DOWNSTREAM}&$select=id")]


def _run(client: TestClient, start: int, *, reads: str = "", writes: str = "") -> str:
    body = {"@odata.type": f"#{NS}.outgoingFlowRun", "displayName": "run"}
    created = client.post(f"{HUB}/runs", json=body | {"startDateTime": format_ticks(start)})
    assert created.status_code == 201, created.text
    run_id: str = created.json()["id"]
    for side, name in (("inputs", reads), ("outputs", writes)):
        if name:
            response = client.post(f"{HUB}/runs/{run_id}/{side}", json={"name": name})
            assert response.status_code == 201, response.text
    return run_id


def _patch(client: TestClient, run_id: str, **values: Any) -> None:
    response = client.patch(f"{HUB}/runs/{run_id}", json=values)
    assert response.status_code == 200, response.text


def test_a_reader_is_downstream_once_an_earlier_writer_fails_and_until_it_is_deleted(
    client: TestClient,
) -> None:
    writer = _run(client, ORIGIN, writes="warehouse.orders")
    reader = _run(client, ORIGIN + HOUR, reads="warehouse.orders")
    earlier_reader = _run(client, ORIGIN - HOUR, reads="warehouse.orders")
    assert _downstream(client) == []  # the write is still running
    _patch(client, writer, status="failed")
    assert _downstream(client) == [reader]  # not the run that read before the write
    late_reader = _run(client, ORIGIN + 2 * HOUR, reads="warehouse.orders")
    assert _downstream(client) == [late_reader, reader]
    assert client.delete(f"{HUB}/runs/{writer}").status_code == 204
    assert _downstream(client) == []
    assert client.delete(f"{HUB}/runs/{earlier_reader}").status_code == 204


def test_a_running_reader_moved_before_or_after_a_failed_write_leaves_or_joins(
    client: TestClient,
) -> None:
    writer = _run(client, ORIGIN, writes="warehouse.orders")
    _patch(client, writer, status="failed")
    reader = _run(client, ORIGIN + HOUR, reads="warehouse.orders")
    assert _downstream(client) == [reader]
    _patch(client, reader, startDateTime=format_ticks(ORIGIN - HOUR))
    assert _downstream(client) == []
    _patch(client, reader, startDateTime=format_ticks(ORIGIN))  # no later than the read: kept
    assert _downstream(client) == [reader]
    # A second failed write does not keep a reader the first one no longer explains.
    other = _run(client, ORIGIN + 3 * HOUR, writes="warehouse.orders")
    _patch(client, other, status="failed")
    _patch(client, reader, startDateTime=format_ticks(ORIGIN - HOUR))
    assert _downstream(client) == []
    _patch(client, reader, startDateTime=format_ticks(ORIGIN + 4 * HOUR))
    assert _downstream(client) == [reader]
    assert client.delete(f"{HUB}/runs/{writer}").status_code == 204
    assert _downstream(client) == [reader]  # the later failed write still explains it
    assert client.delete(f"{HUB}/runs/{other}").status_code == 204
    assert _downstream(client) == []
