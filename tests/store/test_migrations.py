"""Schema revisions: an older database upgrades, a new one is created current, the migrated
schema is exactly the declared one, and servers refuse a schema that is not current."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, inspect, text
from starlette.testclient import TestClient
from typer.testing import CliRunner, Result

from flowruns.api.app import create_app, open_database
from flowruns.cli import app as cli
from flowruns.edm.datetimes import TICKS_PER_SECOND, format_ticks, now_ticks
from flowruns.service.health import evaluate_due
from flowruns.settings import Settings
from flowruns.store import changes, datasets, downstream, freshness, health, migrations, rollup
from flowruns.store.database import make_engine
from flowruns.store.schema import metadata
from tests.conftest import HUB, SECRET_KEY, bearer
from tests.lineage.test_openlineage import post, read, schema
from tests.openlineage.events import output, run_event
from tests.store.counts import assert_counts_kept

PROCESS_ID = "11111111-1111-4111-8111-111111111111"
RUN_IDS = ("22222222-2222-4222-8222-222222222222", "33333333-3333-4333-8333-333333333333")
TENANT = "00000000-0000-0000-0000-000000000001"


def _at_first_revision(engine: Engine) -> None:
    """The database as the first release left it: its tables and one process with two runs."""
    with engine.connect() as connection, connection.begin():
        command.upgrade(migrations.config(connection), migrations.BASELINE)
        connection.execute(
            text(
                "INSERT INTO processes (tenant_id, id, type, etag, display_name)"
                " VALUES (:t, :p, 'insightsOutgoingFlow', '00000000000000aa', 'nightly')"
            ),
            {"t": TENANT, "p": PROCESS_ID},
        )
        for run_id, name in zip(RUN_IDS, ("a", "B"), strict=True):
            connection.execute(
                text(
                    "INSERT INTO runs (tenant_id, id, type, etag, touched, process_id,"
                    " display_name, start_date_time, status, statistics)"
                    " VALUES (:t, :r, 'outgoingFlowRun', '00000000000000bb', 1, :p, :n,"
                    " 638000000000000000, 1, '{}')"
                ),
                {"t": TENANT, "r": run_id, "p": PROCESS_ID, "n": name},
            )


def _revision(url: str) -> str | None:
    engine = make_engine(url)
    with engine.connect() as connection:
        revision = migrations.state(connection).revision
    engine.dispose()
    return revision


def _cli(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def _flowruns(
    *args: str, url: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FLOWRUNS_SECRET_KEY": SECRET_KEY}
    if url is not None:
        env["FLOWRUNS_DATABASE_URL"] = url
    return subprocess.run(
        [sys.executable, "-m", "flowruns", *args],
        env=env,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
        check=False,
    )


def test_the_migrated_schema_is_exactly_the_declared_one(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    with engine.connect() as connection:
        with connection.begin():
            command.upgrade(migrations.config(connection), "head")
        context = MigrationContext.configure(
            connection, opts={"compare_type": migrations.compare_type}
        )
        differences = compare_metadata(context, metadata)
        triggers = _triggers(connection)
    engine.dispose()
    # A change to store/schema.py needs a new revision in store/migrations/versions.
    assert differences == []
    assert triggers == ALL_TRIGGERS


ALL_TRIGGERS = (
    set(rollup.TRIGGERS)
    | set(changes.TRIGGERS)
    | set(changes.HEALTH_TRIGGERS)
    | set(health.TRIGGERS)
    | set(datasets.TRIGGERS)
    | set(downstream.TRIGGERS)
    | set(freshness.TRIGGERS)
)


def _triggers(connection: Connection) -> set[str]:
    """The names of the triggers in the database (alembic compares no triggers)."""
    if connection.dialect.name == "postgresql":
        query = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
    else:
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
    return {row[0] for row in connection.execute(text(query))}


def test_a_new_database_is_created_at_the_current_revision(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    migrations.upgrade(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": migrations.compare_type}
        )
        assert compare_metadata(context, metadata) == []
        assert _triggers(connection) == ALL_TRIGGERS
    engine.dispose()
    assert _revision(empty_database_url) == migrations.head()


def test_going_back_from_openlineage_keeps_the_change_log_triggers(
    empty_database_url: str,
) -> None:
    engine = make_engine(empty_database_url)
    migrations.upgrade(engine)
    with engine.begin() as connection:
        command.downgrade(migrations.config(connection), "0007")
    with engine.connect() as connection:
        first = changes.triggers_of(changes.FIRST_ENTITY_SETS)
        assert _triggers(connection) == set(rollup.TRIGGERS) | set(first)
    engine.dispose()


def test_db_upgrade_brings_a_first_release_database_to_current_with_its_rows(
    empty_database_url: str, tmp_path: Path
) -> None:
    engine = make_engine(empty_database_url)
    _at_first_revision(engine)
    engine.dispose()

    current = _cli("db", "current", "--database-url", empty_database_url)
    assert current.exit_code == 1
    assert f"{migrations.BASELINE} (out of date" in current.stdout

    upgraded = _cli("db", "upgrade", "--database-url", empty_database_url)
    assert upgraded.exit_code == 0, upgraded.output
    assert f"to {migrations.head()}" in upgraded.stderr
    assert _revision(empty_database_url) == migrations.head()
    engine = make_engine(empty_database_url)
    assert assert_counts_kept(engine) == 2  # the runs of the first release, counted
    engine.dispose()

    settings = Settings(data_dir=tmp_path, database_url=empty_database_url, secret_key=SECRET_KEY)
    with TestClient(create_app(settings), headers=bearer(settings)) as client:
        runs = client.get(f"{HUB}/processes/{PROCESS_ID}/runs", params={"$orderby": "displayName"})
    assert runs.status_code == 200
    # Code-point order: "B" (U+0042) before "a" (U+0061), whatever the database's locale.
    assert [r["displayName"] for r in runs.json()["value"]] == ["B", "a"]

    again = _cli("db", "upgrade", "--database-url", empty_database_url)
    assert again.exit_code == 0
    assert "already current" in again.stderr
    assert _cli("db", "current", "--database-url", empty_database_url).exit_code == 0


def test_serve_refuses_an_out_of_date_database_clearly(
    empty_database_url: str, tmp_path: Path
) -> None:
    engine = make_engine(empty_database_url)
    _at_first_revision(engine)
    engine.dispose()
    result = _flowruns("serve", "--port", "9", url=empty_database_url, cwd=tmp_path)
    assert result.returncode == 2
    assert "flowruns db upgrade" in result.stderr
    assert f"is {migrations.BASELINE} (out of date" in result.stderr
    assert "Traceback" not in result.stderr
    assert _revision(empty_database_url) == migrations.BASELINE  # left alone


def test_a_database_from_a_newer_release_is_refused(empty_database_url: str) -> None:
    engine = make_engine(empty_database_url)
    migrations.upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    assert _cli("db", "upgrade", "--database-url", empty_database_url).exit_code != 0
    settings = Settings(database_url=empty_database_url, secret_key=SECRET_KEY)
    with pytest.raises(migrations.SchemaNotCurrent, match="release that wrote it"):
        create_app(settings)


def test_a_data_directory_of_the_first_release_is_upgraded_on_start(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    engine = make_engine(f"sqlite:///{data_dir / 'flowruns.db'}")
    _at_first_revision(engine)
    engine.dispose()
    # The first release kept no revision record at all.
    with sqlite3.connect(data_dir / "flowruns.db") as raw:
        raw.execute("DROP TABLE alembic_version")

    settings = Settings(data_dir=data_dir, secret_key=SECRET_KEY)
    with TestClient(create_app(settings), headers=bearer(settings)) as client:
        runs = client.get(f"{HUB}/runs", params={"$count": "true"}).json()
    assert runs["@odata.count"] == 2
    assert _revision(f"sqlite:///{data_dir / 'flowruns.db'}") == migrations.head()


def _run_indexes(url: str) -> set[str]:
    engine = make_engine(url)
    names = {index["name"] for index in inspect(engine).get_indexes("runs")}
    engine.dispose()
    return {name for name in names if name is not None}


def test_going_back_from_the_end_time_index_drops_it_and_upgrading_brings_it_back(
    empty_database_url: str,
) -> None:
    engine = make_engine(empty_database_url)
    migrations.upgrade(engine)
    with engine.begin() as connection:
        command.downgrade(migrations.config(connection), "0008")
    engine.dispose()
    assert "ix_runs_end" not in _run_indexes(empty_database_url)
    assert _cli("db", "upgrade", "--database-url", empty_database_url).exit_code == 0
    assert "ix_runs_end" in _run_indexes(empty_database_url)
    assert _revision(empty_database_url) == migrations.head()


def test_upgrading_to_lineage_replays_the_stored_openlineage_events(
    empty_database_url: str, tmp_path: Path
) -> None:
    """Events ingested before revision 0013 give, once it is applied, the datasets and accesses
    ingestion records now: ingested at head, the lineage tables dropped by going back to 0012,
    and upgraded again."""
    settings = Settings(data_dir=tmp_path, database_url=empty_database_url, secret_key=SECRET_KEY)
    first, second = "44444444-4444-4444-8444-444444444444", "55555555-5555-4555-8555-555555555555"
    written = output("warehouse.orders", 120, 4096)
    written["facets"] = schema("id")
    lineage_urls = (
        f"{HUB}/datasets?$orderby=name&$select=namespace,name,facets,lastWrittenDateTime"
        "&$expand=writes($select=runId,rowCount,byteCount,facets),reads($select=runId,rowCount)",
        f"{HUB}/runs?$orderby=id&$select=id&$expand=inputs($select=name),outputs($select=name)",
    )

    def content(value: object) -> object:
        """``value`` without the server-assigned ids and versions of datasets and accesses."""
        if isinstance(value, list):
            return [content(v) for v in value]
        if isinstance(value, dict):
            kept = {k: content(v) for k, v in value.items() if k != "@odata.etag"}
            if kept.get("@odata.type") != "#microsoft.graph.industryData.outgoingFlowRun":
                kept.pop("id", None)
            return kept
        return value

    def lineage() -> object:
        with TestClient(create_app(settings), headers=bearer(settings)) as client:
            return content([client.get(url).json()["value"] for url in lineage_urls])

    with TestClient(create_app(settings), headers=bearer(settings)) as client:
        post(client, run_event("START", first, "2026-11-30T08:00:00Z", inputs=[read("raw", 3)]))
        post(client, run_event("COMPLETE", first, "2026-11-30T08:05:00Z", outputs=[written]))
        post(client, run_event("FAIL", second, "2026-11-30T09:00:00Z", inputs=[read("raw", 4)]))
    recorded = lineage()
    assert isinstance(recorded, list)
    assert [d["name"] for d in recorded[0]] == ["raw", "warehouse.orders"]
    engine = make_engine(empty_database_url)
    with engine.begin() as connection:
        command.downgrade(migrations.config(connection), "0012")
    assert not inspect(engine).has_table("datasets")
    migrations.upgrade(engine)
    engine.dispose()
    assert lineage() == recorded


def test_going_back_from_freshness_keeps_the_process_incidents_and_their_change_log(
    empty_database_url: str, tmp_path: Path
) -> None:
    """Revision 0014 rebuilds ``incidents`` on SQLite (its process becomes optional): a process's
    incidents stay as they were, with their versions, through going back to 0013 (which drops a
    dataset's incidents) and upgrading again, and their changes are still recorded."""
    settings = Settings(data_dir=tmp_path, database_url=empty_database_url, secret_key=SECRET_KEY)
    url = f"{HUB}/incidents?$orderby=id&$select=kind,message,openedDateTime,resolvedDateTime"
    with TestClient(create_app(settings), headers=bearer(settings)) as client:
        body = {"@odata.type": "#microsoft.graph.industryData.insightsOutgoingFlow"}
        process = client.post(f"{HUB}/processes", json={**body, "displayName": "p"}).json()["id"]
        put = client.put(f"{HUB}/processes/{process}/expectation", json={"maxDuration": "PT1M"})
        assert put.status_code == 201, put.text
        start = now_ticks() + TICKS_PER_SECOND
        run = client.post(
            f"{HUB}/processes/{process}/runs",
            json={"displayName": "r", "startDateTime": format_ticks(start)},
        ).json()["id"]
        # Still running an hour later: overdue.
        db = open_database(settings)
        evaluate_due(db, now=lambda: start + 3600 * TICKS_PER_SECOND)
        db.dispose()
        output = client.post(f"{HUB}/runs/{run}/outputs", json={"name": "orders"}).json()
        put = client.put(
            f"{HUB}/datasets/{output['datasetId']}/expectation", json={"writtenEvery": "PT1M"}
        )
        assert put.status_code == 201, put.text
        assert put.json()["state"] == "unknown"
        delta = client.get(f"{HUB}/incidents/delta()").json()
        while "@odata.nextLink" in delta:
            delta = client.get(delta["@odata.nextLink"]).json()
        kept = client.get(url).json()["value"]
        assert [i["kind"] for i in kept] == ["overdue"]
    engine = make_engine(empty_database_url)
    with engine.begin() as connection:
        command.downgrade(migrations.config(connection), "0013")
    assert not inspect(engine).has_table("dataset_expectations")
    migrations.upgrade(engine)
    engine.dispose()
    with TestClient(create_app(settings), headers=bearer(settings)) as client:
        assert client.get(url).json()["value"] == kept
        # A change of an incident is still in the change log: resolved by removing the
        # expectation, it is in the next delta round.
        assert client.delete(f"{HUB}/processes/{process}/expectation").status_code == 204
        changed = client.get(delta["@odata.deltaLink"]).json()["value"]
        assert [c["id"] for c in changed] == [kept[0]["id"]]
        assert changed[0]["resolvedDateTime"] is not None
