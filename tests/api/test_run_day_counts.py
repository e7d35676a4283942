"""The counts behind day-level ``$apply`` answers stay right through every kind of write.

A seeded random sequence of writes through the API — runs of every type created in any state
and on any day (midnights and days before 1970 included), started runs moved to another day,
finished, failed, deleted one by one and with their process, run groups, and the stale-run
check failing what was left running — and after each step the kept counts must equal the runs
counted afresh, and the 30-day chart a dashboard asks for must equal the runs it counts; folding
the slots changes no count.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any
from urllib.parse import quote

from sqlalchemy import text
from starlette.testclient import TestClient

from flowruns.api.app import open_database
from flowruns.edm import datetimes
from flowruns.service import counting, stale
from flowruns.settings import Settings
from tests.api.steps import INCOMING, OUTGOING, create_process, process_url, run_url
from tests.conftest import HUB
from tests.store.counts import assert_counts_kept

DAYS = ["1969-12-31", "1970-01-01", "2026-11-01", "2026-11-02", "2026-11-03"]
TIMES = ["00:00:00Z", "00:00:00.0000001Z", "12:30:00Z", "23:59:59.9999999Z"]
FINISHED = ["completed", "completedWithErrors", "completedWithWarnings", "failed"]
CHART = (
    "filter(startDateTime ge 2026-11-01T00:00:00Z and startDateTime lt 2026-11-03T00:00:00Z)"
    "/compute(date(startDateTime) as day)/groupby((day,status),aggregate($count as runs))"
)


def _instant(rng: random.Random) -> str:
    return f"{rng.choice(DAYS)}T{rng.choice(TIMES)}"


def _create(client: TestClient, rng: random.Random, processes: list[str]) -> dict[str, Any]:
    body: dict[str, Any] = {"displayName": "r", "startDateTime": _instant(rng)}
    status = rng.choice(["running", "running", *FINISHED])
    if status != "running":
        body |= {"status": status, "endDateTime": "2026-12-01T00:00:00Z"}
    if rng.random() < 0.7:
        body["process@odata.bind"] = process_url(rng.choice(processes))
    collection = f"{HUB}/runGroups" if rng.random() < 0.15 else f"{HUB}/runs"
    if collection.endswith("/runs"):
        body["@odata.type"] = rng.choice([OUTGOING, INCOMING])
    response = client.post(collection, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _step(client: TestClient, rng: random.Random, runs: dict[str, dict[str, Any]]) -> None:
    """One change to a run picked at random: move its start, finish it, or delete it."""
    run = runs[rng.choice(sorted(runs))]
    choice = rng.random()
    if choice < 0.35:
        response = client.delete(run_url(run["id"]))
        assert response.status_code == 204, response.text
        del runs[run["id"]]
        return
    if run["status"] != "running":
        return  # a finished run's status and times are frozen
    if choice < 0.65:
        change: dict[str, Any] = {"startDateTime": _instant(rng)}
    else:
        change = {"status": rng.choice(FINISHED)}
    response = client.patch(run_url(run["id"]), json=change)
    assert response.status_code in (200, 204), response.text
    runs[run["id"]] = client.get(run_url(run["id"])).json()


def _chart_from_runs(client: TestClient) -> Counter[tuple[str, str]]:
    counted: Counter[tuple[str, str]] = Counter()
    url: str | None = f"{HUB}/runs?$select=startDateTime,status&$top=999"
    while url is not None:
        page = client.get(url).json()
        for run in page["value"]:
            day = datetimes.format_ticks(datetimes.parse(run["startDateTime"]))[:10]
            if "2026-11-01" <= day < "2026-11-03":
                counted[(day, run["status"])] += 1
        url = page.get("@odata.nextLink")
    return counted


def test_counts_follow_every_kind_of_write(client: TestClient, settings: Settings) -> None:
    rng = random.Random(20261128)
    db = open_database(settings)
    processes = [create_process(client, f"p{i}")["id"] for i in range(3)]
    runs = {r["id"]: r for r in (_create(client, rng, processes) for _ in range(40))}
    assert assert_counts_kept(db.engine) == 40
    for _ in range(60):
        _step(client, rng, runs)
        if rng.random() < 0.3:
            created = _create(client, rng, processes)
            runs[created["id"]] = created
        assert assert_counts_kept(db.engine) == len(runs)
        served = client.get(f"{HUB}/runs?$apply={quote(CHART)}").json()["value"]
        assert Counter({(r["day"], r["status"]): r["runs"] for r in served}) == _chart_from_runs(
            client
        )

    # A process deleted with its runs, running ones included.
    doomed = processes[0]
    deleted = client.delete(process_url(doomed), headers={"Prefer": "cascade-running"})
    assert deleted.status_code == 204, deleted.text
    runs = {k: r for k, r in runs.items() if r.get("process", {}).get("id") != doomed}
    remaining = assert_counts_kept(db.engine)

    # Folding the slots into slot 0 changes no count.
    counting.fold_all(db)
    assert assert_counts_kept(db.engine) == remaining
    with db.reading() as connection:
        slots = connection.execute(text("SELECT DISTINCT slot FROM run_days")).scalars().all()
    assert set(slots) == {0}

    # The stale-run check fails every run still running, in one statement.
    far_future = datetimes.parse("2100-01-01T00:00:00Z")
    stale.fail_stale_runs(db, timeout_seconds=60, now=far_future)
    assert assert_counts_kept(db.engine) == remaining
    statuses = client.get(
        f"{HUB}/runs?$apply={quote('groupby((status),aggregate($count as runs))')}"
    ).json()["value"]
    assert "running" not in {r["status"] for r in statuses}
    assert sum(r["runs"] for r in statuses) == remaining
    db.dispose()
