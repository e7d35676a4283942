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
from flowruns.demo import DEMO_FLOWS, demo_flow, seed
from flowruns.edm.industrydata import run_status
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
