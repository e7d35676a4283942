"""``flowruns demo seed`` on each engine's bulk path: the rows it loads are whole and valid, and
the history they make is plausible."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from starlette.testclient import TestClient
from typer.testing import CliRunner

from flowruns.api.app import open_database
from flowruns.cli import app as cli
from flowruns.demo import DEMO_FLOWS, RETARGETED_DAYS, demo_flow, seed
from flowruns.edm.datetimes import TICKS_PER_SECOND, now_ticks
from flowruns.edm.industrydata import run_status
from flowruns.service import freshness
from flowruns.settings import DEFAULT_TENANT, Settings
from flowruns.store.database import Database, make_engine
from flowruns.store.schema import processes, run_group_members, runs
from tests.conftest import HUB
from tests.store.counts import assert_counts_kept


def test_seeding_twice_loads_two_whole_histories(empty_database_url: str) -> None:
    for _ in range(2):
        result = CliRunner().invoke(
            cli, ["demo", "seed", "--runs", "3000", "--database-url", empty_database_url]
        )
        assert result.exit_code == 0, result.output
        assert "Added 10 processes and 3000 runs" in result.stderr
    db = Database(make_engine(empty_database_url))
    with db.reading() as connection:
        count = connection.execute(select(func.count()).select_from(runs)).scalar_one()
        ids = connection.execute(select(func.count(runs.c.id.distinct()))).scalar_one()
        statuses: dict[int, int] = dict(
            connection.execute(select(runs.c.status, func.count()).group_by(runs.c.status)).all()
        )
        failed = connection.execute(
            select(runs.c.blocking_error, runs.c.statistics)
            .where(runs.c.status == run_status.value_of("failed"))
            .limit(1)
        ).one()
        members = connection.execute(select(func.count()).select_from(run_group_members))
        owners = connection.execute(select(func.count()).select_from(processes)).scalar_one()
        member_count = members.scalar_one()
    assert assert_counts_kept(db.engine) == 6000  # COPY on PostgreSQL: counted per statement
    db.dispose()
    assert count == ids == 6000  # fresh ids the second time: no collision, no overwrite
    assert owners == 20
    assert statuses[run_status.value_of("running")] > 0
    assert statuses[run_status.value_of("completed")] > statuses[run_status.value_of("failed")]
    # JSON columns arrive as JSON values, not as strings holding JSON.
    assert isinstance(failed.blocking_error, dict)
    assert failed.blocking_error["code"]
    assert isinstance(failed.statistics, dict)
    assert failed.statistics["recordsProcessed"] >= 50
    assert member_count > 0


def test_every_seeded_run_agrees_with_itself(settings: Settings, client: TestClient) -> None:
    """What a person looking at the demo would check: running runs started minutes ago,
    finished runs ended before now and took about as long as their flow's runs do, and the
    statistics add up and show the failures, errors or warnings the status speaks of."""
    db = open_database(settings)
    seed(db, DEFAULT_TENANT, 1000)
    db.dispose()
    now = datetime.now(UTC)
    runs: list[dict[str, Any]] = []
    url: str | None = f"{HUB}/runs?$top=999&$expand=process($select=displayName)"
    while url:
        body = client.get(url).json()
        runs += body["value"]
        url = body.get("@odata.nextLink")
    assert len(runs) == 1000
    running = [run for run in runs if run["status"] == "running"]
    assert len(running) == 2
    for run in runs:
        start = _moment(run["startDateTime"])
        statistics = run["statistics"]
        processed = statistics["recordsProcessed"]
        assert statistics["recordsSucceeded"] + statistics["recordsFailed"] == processed, run
        if run["status"] == "running":
            assert timedelta(0) < now - start < timedelta(minutes=10), run
            assert statistics["recordsFailed"] == statistics["errorCount"] == 0, run
            continue
        took = _moment(run["endDateTime"]) - start
        assert _moment(run["endDateTime"]) < now, run
        flow = demo_flow(run["process"]["displayName"]) if run["process"] else None
        longest = 2.5 * (
            flow.typical_seconds if flow else max(f.typical_seconds for f in DEMO_FLOWS)
        )
        assert timedelta(seconds=1) < took <= timedelta(seconds=longest), run
        failed = run["status"] in ("failed", "completedWithErrors")
        assert (statistics["recordsFailed"] > 0) is failed, run
        assert (statistics["errorCount"] > 0) is failed, run
        assert (len(statistics.get("errors", [])) > 0) is failed, run
        warned = run["status"] == "completedWithWarnings"
        assert (statistics["warningCount"] > 0) is warned, run
        assert (run["blockingError"] is not None) is (run["status"] == "failed"), run


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_the_seeded_lineage_agrees_with_the_runs(settings: Settings, client: TestClient) -> None:
    """Each run of a process read its flow's source (every record it processed) and, unless it
    is running or delivered nothing, wrote its flow's target (the records that succeeded); a
    dataset's last write is its latest successful one; the expected targets are fresh, and the
    target the transport export left is stale with an incident open."""
    db = open_database(settings)
    result = seed(db, DEFAULT_TENANT, 1000)
    now = datetime.now(UTC)
    assert result.datasets == 19
    runs = _all(client, f"{HUB}/runs?$top=999&$expand=process($select=displayName),inputs,outputs")
    latest: dict[str, tuple[datetime, str]] = {}  # a dataset's latest successful write
    for run in runs:
        reads = [(a["namespace"], a["name"], a["rowCount"]) for a in run["inputs"]]
        writes = [(a["namespace"], a["name"], a["rowCount"]) for a in run["outputs"]]
        if run["process"] is None:
            assert reads == writes == [], run
            continue
        flow = demo_flow(run["process"]["displayName"])
        assert flow is not None
        statistics = run["statistics"]
        assert reads == [(flow.reads.namespace, flow.reads.name, statistics["recordsProcessed"])]
        for access in run["inputs"] + run["outputs"]:
            assert access["runStatus"] == run["status"], run
            assert access["runEndDateTime"] == run["endDateTime"], run
        succeeded = statistics["recordsSucceeded"]
        if run["status"] == "running" or succeeded == 0:
            assert writes == [], run
            continue
        target = flow.writes
        if flow.wrote and _moment(run["endDateTime"]) < now - timedelta(days=RETARGETED_DAYS):
            target = flow.wrote
        assert writes == [(target.namespace, target.name, succeeded)], run
        if run["status"] in ("completed", "completedWithWarnings"):
            key = run["outputs"][0]["datasetId"]
            write = (_moment(run["endDateTime"]), run["id"])
            latest[key] = max(latest.get(key, write), write)
    datasets = _all(client, f"{HUB}/datasets?$expand=expectation")
    assert len(datasets) == 19
    for dataset in datasets:
        end, run_id = dataset["lastWrittenDateTime"], dataset["lastWrittenRunId"]
        found = None if end is None else (_moment(end), run_id)
        assert found == latest.get(dataset["id"]), dataset
    states = {d["name"]: d["expectation"]["state"] for d in datasets if d["expectation"]}
    assert states == {
        "share.roster": "fresh",
        "warehouse.attendance_daily": "fresh",
        "share.gradebook": "fresh",
        "lms.enrollments": "fresh",
        "transport.riders": "stale",
    }
    [stale] = [d for d in datasets if d["name"] == "transport.riders"]
    incidents = client.get(f"{HUB}/datasets/{stale['id']}/incidents").json()["value"]
    assert [(i["kind"], i["resolvedDateTime"]) for i in incidents] == [("stale", None)]
    # The server's evaluation, an hour later, finds the same.
    later = now_ticks() + 3600 * TICKS_PER_SECOND
    assert freshness.evaluate_due(db, lambda: later) == 5
    db.dispose()
    again = _all(client, f"{HUB}/datasets?$expand=expectation($select=state)")
    assert {d["name"]: d["expectation"]["state"] for d in again if d["expectation"]} == states


def _all(client: TestClient, url: str | None) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.text
        found += response.json()["value"]
        url = response.json().get("@odata.nextLink")
    return found
