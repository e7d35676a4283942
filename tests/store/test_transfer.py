"""``flowruns db copy``: every row of one database into another, verified, and resumable."""

from __future__ import annotations

import dataclasses
import re
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Table, func, select
from starlette.testclient import TestClient
from typer.testing import CliRunner, Result

from flowruns.api.app import create_app, open_database
from flowruns.cli import app as cli
from flowruns.demo import seed
from flowruns.edm.datetimes import parse
from flowruns.service import health
from flowruns.settings import DEFAULT_TENANT, Settings
from flowruns.store import migrations, transfer
from flowruns.store.database import Database, make_engine
from flowruns.store.schema import metadata, runs
from tests.api.steps import OUTGOING, add_member, create_group, create_run
from tests.conftest import HUB, NS, SECRET_KEY, bearer
from tests.openlineage.events import output, run_event
from tests.store.counts import assert_counts_kept


def _source_history(settings: Settings) -> dict[str, Any]:
    """A seeded history plus what only the API makes: a membership and an idempotency key."""
    db = open_database(settings)
    seed(db, DEFAULT_TENANT, 400)
    db.dispose()
    with TestClient(create_app(settings), headers=bearer(settings)) as client:
        group = create_group(client, "copied group")
        run = create_run(client, "in the group")
        assert add_member(client, group["id"], run["id"]).status_code == 204
        keyed = client.post(
            f"{HUB}/runs",
            json={"@odata.type": OUTGOING[1:], "displayName": "keyed"},
            headers={"Idempotency-Key": "copy-me"},
        ).json()
        listing = client.get(f"{HUB}/runs", params={"$top": "999", "$count": "true"}).json()
    return {"group": group, "member": run, "keyed": keyed, "listing": listing}


def _copy(settings: Settings, target: str) -> Result:
    args = ["db", "copy", "--to", target, "--batch", "70"]
    if settings.database_url:
        args += ["--database-url", settings.database_url]
    else:
        args += ["--data-dir", str(settings.data_dir)]
    return CliRunner().invoke(cli, args)


def test_every_row_is_copied_and_served_alike(
    settings: Settings, empty_database_url: str, tmp_path: Path
) -> None:
    history = _source_history(settings)
    result = _copy(settings, empty_database_url)
    assert result.exit_code == 0, result.output
    assert "runs: 403 rows in the target, 403 in the source (403 copied now) — verified" in (
        result.stderr
    )
    assert "Every row copied and counted." in result.stderr
    target = make_engine(empty_database_url)
    assert assert_counts_kept(target) == 403  # the target's triggers counted what arrived
    target.dispose()

    copied = Settings(
        data_dir=tmp_path / "t", database_url=empty_database_url, secret_key=SECRET_KEY
    )
    with TestClient(create_app(copied), headers=bearer(copied)) as client:
        listing = client.get(f"{HUB}/runs", params={"$top": "999", "$count": "true"}).json()
        members = client.get(f"{HUB}/runGroups/{history['group']['id']}/runs").json()["value"]
        replayed = client.post(
            f"{HUB}/runs",
            json={"@odata.type": OUTGOING[1:], "displayName": "keyed"},
            headers={"Idempotency-Key": "copy-me"},
        )
    # The same entities, values, ETags and order (paging links differ: other host, secret).
    assert listing["@odata.count"] == history["listing"]["@odata.count"] == 403
    assert listing["value"] == history["listing"]["value"]
    assert [m["id"] for m in members] == [history["member"]["id"]]
    assert replayed.json()["id"] == history["keyed"]["id"]


class _Stopped(Exception):
    """Whatever stops a copy part-way (a lost connection, Ctrl-C)."""


def _copy_until(settings: Settings, target_url: str, table: str, rows: int) -> None:
    """Copy in batches of 70 rows until the target holds ``rows`` rows of ``table``, then
    stop."""

    def progress(name: str, copied: int) -> None:
        if name == table and copied >= rows:
            raise _Stopped

    source = open_database(settings)
    target = Database(make_engine(target_url))
    migrations.upgrade(target.engine)
    try:
        with pytest.raises(_Stopped):
            transfer.copy_database(source, target, batch=70, progress=progress)
    finally:
        source.dispose()
        target.dispose()


def test_an_interrupted_copy_resumes_where_the_target_ends(
    settings: Settings, empty_database_url: str
) -> None:
    _source_history(settings)
    _copy_until(settings, empty_database_url, "runs", 140)

    result = _copy(settings, empty_database_url)
    assert result.exit_code == 0, result.output
    assert "runs: 403 rows in the target, 403 in the source (263 copied now) — verified" in (
        result.stderr
    )
    target = Database(make_engine(empty_database_url))
    with target.reading() as connection:
        assert connection.execute(select(func.count()).select_from(runs)).scalar_one() == 403
    target.dispose()


def test_a_target_holding_other_rows_is_refused(
    settings: Settings, empty_database_url: str
) -> None:
    _source_history(settings)
    other = Database(make_engine(empty_database_url))
    migrations.upgrade(other.engine)
    seed(other, DEFAULT_TENANT, 20)
    other.dispose()
    result = _copy(settings, empty_database_url)
    assert result.exit_code == 1
    assert "hold rows the source does not have" in result.stderr
    assert "Traceback" not in result.output


# What a user reads of a history beyond its runs: processes with their health, expectations and
# incidents, datasets with their freshness and expectations, and a run's accesses.
_READS = (
    "processes?$top=999&$expand=expectation,health&$orderby=health/state desc,id",
    "processes?$filter=health/state eq 'late'",
    "incidents?$top=999&$orderby=id",
    "datasets?$top=999&$expand=expectation&$orderby=id",
    "datasets?$filter=expectation/state eq 'stale'&$orderby=id",
)


def _read(client: TestClient, reads: tuple[str, ...]) -> dict[str, Any]:
    found = {}
    for path in reads:
        response = client.get(f"{HUB}/{path}")
        assert response.status_code == 200, (path, response.text)
        found[path] = response.json()
    return found


def _rows(db: Database, table: Table) -> list[tuple[Any, ...]]:
    with db.reading() as connection:
        ordered = select(table).order_by(*table.primary_key.columns)
        return [tuple(row) for row in connection.execute(ordered)]


def _health_and_lineage(settings: Settings) -> tuple[str, ...]:
    """A process late for its expectation (an open incident) and an OpenLineage run that
    read one dataset and wrote another, added over HTTP to the seeded history; what to read
    of them besides :data:`_READS`."""
    with TestClient(create_app(settings), headers=bearer(settings)) as client:
        body = {"@odata.type": f"#{NS}.insightsOutgoingFlow", "displayName": "Roster export"}
        process = client.post(f"{HUB}/processes", json=body).json()["id"]
        expectation = {"schedule": "R/2030-01-01T02:00:00Z/P1D", "grace": "PT30M"}
        assert client.put(f"{HUB}/processes/{process}/expectation", json=expectation).is_success
        run_id = str(uuid.uuid4())
        source = {"namespace": "postgres://db:5432", "name": "public.rosters", "facets": {}}
        for event in (
            run_event("START", run_id, "2030-01-01T00:00:00Z", inputs=[source]),
            run_event(
                "COMPLETE",
                run_id,
                "2030-01-01T00:05:00Z",
                outputs=[output("public.roster_export", 2000, 4096)],
            ),
        ):
            posted = client.post(
                "/api/v1/lineage",
                content=orjson.dumps(event),
                headers={"Content-Type": "application/json"},
            )
            assert posted.status_code == 201, posted.text
    db = open_database(settings)
    health.evaluate_due(db, now=lambda: parse("2030-01-01T02:31:00Z"))
    db.dispose()
    return (
        f"processes/{process}/expectation",
        f"processes/{process}/health",
        f"processes/{process}/incidents",
        f"runs/{run_id}?$expand=inputs,outputs",
    )


def test_health_lineage_and_freshness_are_copied_and_served_alike(
    settings: Settings, empty_database_url: str, tmp_path: Path
) -> None:
    settings = dataclasses.replace(settings, evaluate_health=False)  # the test evaluates
    db = open_database(settings)
    seed(db, DEFAULT_TENANT, 200)
    db.dispose()
    reads = _READS + _health_and_lineage(settings)
    with TestClient(create_app(settings), headers=bearer(settings)) as client:
        before = _read(client, reads)
    (late,) = before[_READS[1]]["value"]
    assert len(before[f"processes/{late['id']}/incidents"]["value"]) == 1, "it opened one"
    assert before[_READS[4]]["value"], "a seeded dataset is stale"

    # Stopped part-way through the accesses, whose triggers are dropped in each batch: the
    # copy that resumes it ends with the source's datasets all the same.
    _copy_until(settings, empty_database_url, "dataset_accesses", 140)
    result = _copy(settings, empty_database_url)
    assert result.exit_code == 0, result.output
    resumed = re.search(
        r"dataset_accesses: (\d+) rows in the target, \1 in the source \((\d+)", result.stderr
    )
    assert resumed is not None, result.stderr
    assert int(resumed[2]) == int(resumed[1]) - 140
    copied = dataclasses.replace(settings, data_dir=tmp_path / "t", database_url=empty_database_url)
    with TestClient(create_app(copied), headers=bearer(copied)) as client:
        after = _read(client, reads)
    # The same entities: ids, ETags, values, health and freshness.
    for path in reads:
        assert after[path] == before[path], path
    # Row for row, every table copied holds what the source's does: no trigger of the target
    # rewrote a copied row.
    source, target = open_database(settings), Database(make_engine(empty_database_url))
    for table in transfer.TABLES:
        assert _rows(target, table) == _rows(source, table), table.name
    # The day counts, left out, are what the target's triggers counted of the runs copied.
    assert assert_counts_kept(target.engine) == len(_rows(source, runs))
    source.dispose()
    target.dispose()
    # Each table copied is counted on both sides.
    for table in transfer.TABLES:
        counted = rf"  {table.name}: (\d+) rows in the target, \1 in the source .* verified"
        assert re.search(counted, result.stderr), table.name


def test_every_table_is_copied_after_its_parents_or_left_out_on_purpose() -> None:
    """A table added to the schema is copied (or said not to be) before a release ships."""
    copied = list(transfer.TABLES)
    assert set(copied).isdisjoint(transfer.LEFT_OUT)
    assert set(copied) | set(transfer.LEFT_OUT) == set(metadata.tables.values())
    for position, table in enumerate(copied):
        for key in table.foreign_keys:
            assert key.column.table in copied[:position], (table.name, key.target_fullname)
