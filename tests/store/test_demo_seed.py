"""``flowruns demo seed`` on each engine's bulk path: the rows it loads are whole and valid."""

from __future__ import annotations

from sqlalchemy import func, select
from typer.testing import CliRunner

from flowruns.cli import app as cli
from flowruns.edm.industrydata import run_status
from flowruns.store.database import Database, make_engine
from flowruns.store.schema import processes, run_group_members, runs
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
