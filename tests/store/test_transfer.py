"""``flowruns db copy``: every row of one database into another, verified, and resumable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, tuple_
from starlette.testclient import TestClient
from typer.testing import CliRunner, Result

from flowruns.api.app import create_app, open_database
from flowruns.cli import app as cli
from flowruns.demo import seed
from flowruns.settings import DEFAULT_TENANT, Settings
from flowruns.store import migrations
from flowruns.store.database import Database, make_engine
from flowruns.store.schema import idempotency_keys, run_group_members, runs
from tests.api.steps import OUTGOING, add_member, create_group, create_run
from tests.conftest import HUB, SECRET_KEY, bearer
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


def test_an_interrupted_copy_resumes_where_the_target_ends(
    settings: Settings, empty_database_url: str
) -> None:
    _source_history(settings)
    assert _copy(settings, empty_database_url).exit_code == 0
    # As if the copy had stopped part-way through runs: the target holds a prefix in key order.
    target = Database(make_engine(empty_database_url))
    with target.writing() as connection:
        keys = connection.execute(
            select(runs.c.tenant_id, runs.c.id).order_by(runs.c.tenant_id, runs.c.id)
        ).all()
        cut = tuple(keys[150])
        connection.execute(delete(run_group_members))
        connection.execute(delete(idempotency_keys))
        connection.execute(delete(runs).where(tuple_(runs.c.tenant_id, runs.c.id) >= cut))

    result = _copy(settings, empty_database_url)
    assert result.exit_code == 0, result.output
    assert "runs: 403 rows in the target, 403 in the source (253 copied now) — verified" in (
        result.stderr
    )
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
