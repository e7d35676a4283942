"""What operators and load balancers read: /readyz, /metrics and the per-request log record.

These routes sit outside the service root, so they answer without any credentials.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from flowruns.api.app import create_app, open_database
from flowruns.logs import JsonFormatter, TextFormatter
from flowruns.settings import DEFAULT_TENANT, Settings
from flowruns.store import migrations
from flowruns.store.database import Database, make_engine
from tests.api.steps import OUTGOING, create_run, run_url
from tests.conftest import HUB, NS, ROOT, SECRET_KEY


@pytest.fixture
def anonymous(settings: Settings) -> Iterator[TestClient]:
    """The server, with no credentials on any request."""
    with TestClient(create_app(settings), base_url="http://testserver") as test_client:
        yield test_client


def _sample(exposition: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(f"{name}{{{wanted}}}" if labels else name) + r" (\S+)"
    found = re.search(r"^" + pattern + r"$", exposition, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_readyz_reports_ready_with_the_schema_revision(anonymous: TestClient) -> None:
    response = anonymous.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "schema": migrations.head()}


def test_readyz_is_unavailable_when_the_schema_falls_behind(
    anonymous: TestClient, settings: Settings
) -> None:
    db = open_database(settings)
    stamp = text("UPDATE alembic_version SET version_num = :revision")
    with db.engine.begin() as connection:
        connection.execute(stamp, {"revision": migrations.BASELINE})
    try:
        response = anonymous.get("/readyz")
    finally:  # the PostgreSQL database is shared by the tests that follow
        with db.engine.begin() as connection:
            connection.execute(stamp, {"revision": migrations.head()})
        db.dispose()
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert "0001 (out of date" in response.json()["reason"]
    assert anonymous.get("/healthz").status_code == 200  # the process itself is fine


def test_readyz_is_unavailable_when_the_database_cannot_be_reached() -> None:
    unreachable = Database(make_engine("postgresql://flowruns@127.0.0.1:1/none"))
    app = create_app(Settings(secret_key=SECRET_KEY), db=unreachable)
    with TestClient(app) as client:
        response = client.get("/readyz")
    unreachable.dispose()
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "reason": "The database cannot be reached."}


def test_metrics_count_requests_by_route_template_and_status(client: TestClient) -> None:
    before = client.get("/metrics").text
    run = create_run(client)
    client.get(run_url(run["id"]))
    client.get(run_url(run["id"]))
    client.get(run_url("00000000-0000-4000-8000-00000000dead"))
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    after = response.text
    route = f"{HUB}/runs/{{id}}"
    counted = "flowruns_http_requests_total"
    for status, number in (("200", 2), ("404", 1)):
        labels = {"method": "GET", "route": route, "status": status}
        assert _sample(after, counted, **labels) - _sample(before, counted, **labels) == number
    latency = "flowruns_http_request_duration_seconds_count"
    labels = {"method": "POST", "route": f"{HUB}/runs", "status": "201"}
    assert _sample(after, latency, **labels) - _sample(before, latency, **labels) == 1
    assert run["id"] not in after  # ids never become label values


def test_metrics_report_runs_by_status_and_the_pool(client: TestClient, settings: Settings) -> None:
    create_run(client, status="running")
    create_run(client, status="running")
    create_run(client, status="completed")
    exposition = client.get("/metrics").text
    assert _sample(exposition, "flowruns_runs", status="running") == 2
    assert _sample(exposition, "flowruns_runs", status="completed") == 1
    assert _sample(exposition, "flowruns_runs", status="failed") == 0
    assert _sample(exposition, "flowruns_db_pool_connections_limit") > 0
    assert _sample(exposition, "flowruns_db_pool_connections_open") >= 1
    # All returned, but on SQLite the writer's own, held since the first write: once the
    # background tasks (a notification dispatch after each write, say) have given back what they
    # borrowed for a moment.
    writer = 1 if settings.database_url is None else 0
    deadline = time.monotonic() + 10
    while _sample(exposition, "flowruns_db_pool_connections_in_use") != writer:
        assert time.monotonic() < deadline, "a connection was never returned to the pool"
        time.sleep(0.05)
        exposition = client.get("/metrics").text


def test_every_request_is_logged_with_its_ids_tenant_route_status_and_latency(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="flowruns.requests"):
        response = client.post(
            f"{HUB}/runs",
            json={"@odata.type": OUTGOING[1:], "displayName": "logged"},
            headers={"client-request-id": "my-id"},
        )
        client.get("/nowhere")
    created, missing = [r for r in caplog.records if r.name == "flowruns.requests"]
    fields = created.fields  # type: ignore[attr-defined]
    assert fields["request_id"] == response.headers["request-id"]
    assert fields["client_request_id"] == "my-id"
    assert fields["tenant"] == DEFAULT_TENANT
    assert (fields["method"], fields["route"], fields["status"]) == ("POST", f"{HUB}/runs", 201)
    assert fields["latency_ms"] > 0
    assert missing.fields["status"] == 404  # type: ignore[attr-defined]

    line = json.loads(JsonFormatter().format(created))
    assert line["level"] == "info"
    assert line["request_id"] == response.headers["request-id"]
    assert line["status"] == 201
    text_line = TextFormatter().format(created)
    assert f"request_id={response.headers['request-id']}" in text_line
    assert "status=201" in text_line


def _route_counts(exposition: str) -> dict[str, float]:
    """Requests counted per ``route`` label, summed over methods and statuses."""
    counts: dict[str, float] = {}
    for found in re.finditer(
        r'^flowruns_http_requests_total\{[^}]*route="((?:[^"\\]|\\.)*)"[^}]*\} (\S+)$',
        exposition,
        re.MULTILINE,
    ):
        counts[found[1]] = counts.get(found[1], 0.0) + float(found[2])
    return counts


# Every route label the requests below may produce: route templates and one fixed label. A type
# cast narrows the route it is written in (runs/….runGroup/{id} counts as runs/{id}).
KNOWN_ROUTES = {
    "unmatched",
    "/metrics",
    "/dashboard/{path:path}",
    ROOT,
    f"{ROOT}/$metadata",
    f"{HUB}/runs",
    f"{HUB}/runs/{{id}}",
    f"{HUB}/runs/{{id}}/process",
    f"{HUB}/runs/$count",
    f"{HUB}/runs/{{id}}/process/$ref",
    f"{HUB}/processes/{{id}}",
    f"{HUB}/processes/{{id}}/runs",
    f"{HUB}/processes/{{id}}/runs/{{id}}",
    f"{HUB}/runGroups/{{id}}/runs/{{id}}/$ref",
    f"{HUB}/runGroups/{{id}}/getErrorsAndWarningsFile",
}


def test_route_labels_come_from_route_templates_whatever_paths_clients_send(
    client: TestClient,
) -> None:
    before = _route_counts(client.get("/metrics").text)
    ids = [str(uuid.uuid4()) for _ in range(40)]
    paths = [f"/nowhere-{i}" for i in range(250)]
    paths += [f"{ROOT}/junk-{i}" for i in range(60)]
    paths += [f"/dashboard/junk-{i}.js" for i in range(30)]
    paths += [f"{HUB}/runs/{i}" for i in ids]
    paths += [f"{HUB}/runs('{i}')/process" for i in ids[:20]]
    paths += [f"{HUB}/runs/not-a-guid-{i}" for i in range(20)]
    paths += [f"{HUB}/processes/{i}" for i in ids[:5]]
    paths += [f"{HUB}/processes/{i}/runs/{i}" for i in ids[:20]]
    paths += [f"{HUB}/runs/{NS}.runGroup/{i}" for i in ids[:5]]
    paths += [f"{HUB}/runGroups/{i}/runs/{i}/$ref" for i in ids[:5]]
    paths += [f"{HUB}/runGroups/{i}/getErrorsAndWarningsFile" for i in ids[:5]]
    paths += [f"{HUB}/runs/{i}/process/$ref" for i in ids[:5]]
    # Navigation chains of every depth up to the URL limit name a handful of routes.
    chain = f"{HUB}/processes/{ids[0]}"
    for depth in range(40):
        chain += f"/runs/{ids[depth]}" if depth % 2 == 0 else "/process"
        paths += [chain, chain + "/runs"] if depth % 2 else [chain]
    paths += [
        ROOT,
        f"{ROOT}/$metadata",
        f"{HUB}/runs",
        f"{HUB}/runs/$count",
        f"{HUB}/runs/{NS}.runGroup",
    ]
    for path in paths:
        assert client.get(path).status_code < 500, path
    client.get(f"{HUB}/runs/{ids[0]}", headers={"Authorization": "Bearer forged"})
    after = _route_counts(client.get("/metrics").text)
    grown = {route for route, count in after.items() if count > before.get(route, 0.0)}
    assert grown <= KNOWN_ROUTES, grown - KNOWN_ROUTES
    assert grown == KNOWN_ROUTES  # each path above under the template it matched
    assert after[f"{HUB}/runs/{{id}}"] - before.get(f"{HUB}/runs/{{id}}", 0.0) >= len(ids)
    assert after["unmatched"] - before.get("unmatched", 0.0) >= 250 + 60 + 1
