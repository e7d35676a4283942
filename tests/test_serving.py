"""A real ``flowruns serve`` as operators run it: JSON logs, metrics summed over its workers,
and a graceful stop that finishes the requests in flight."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

from flowruns.store import migrations
from flowruns.store.database import make_engine
from tests.conftest import HUB, NS
from tests.engines import created_database
from tests.servers import AUTH, api_post, running, start, wait_ready

RUN = {"@odata.type": f"{NS}.outgoingFlowRun", "displayName": "served"}


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with created_database("flowruns_serving") as url:
        engine = make_engine(url)
        migrations.upgrade(engine)
        engine.dispose()
        yield url


def _log_lines(log: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]


def test_json_logs_and_metrics_summed_over_workers(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    args = ("--workers", "2", "--log-format", "json", "--data-dir", str(tmp_path / "data"))
    with running(log, *args) as server, httpx.Client(headers=AUTH) as http:
        created = http.post(f"{server.base}{HUB}/runs", json=RUN)
        assert created.status_code == 201
        for _ in range(20):
            assert http.get(f"{server.base}{HUB}/runs").status_code == 200
        # Whichever worker answers, it reports all twenty (each worker served some of them).
        for _ in range(3):
            exposition = httpx.get(f"{server.base}/metrics").text
            assert (
                'flowruns_http_requests_total{method="GET",'
                f'route="{HUB}/runs",status="200"}} 20.0' in exposition
            )
        assert 'flowruns_runs{status="running"} 1.0' in exposition
    lines = _log_lines(log)
    post = next(line for line in lines if line.get("request_id") == created.headers["request-id"])
    assert post["method"] == "POST"
    assert post["route"] == f"{HUB}/runs"
    assert post["status"] == 201
    assert post["tenant"] == "00000000-0000-0000-0000-000000000001"
    assert isinstance(post["latency_ms"], float)
    assert sum(1 for line in lines if line.get("route") == f"{HUB}/runs") == 21


def test_stopping_finishes_the_request_in_flight(tmp_path: Path, postgres_url: str) -> None:
    server = start(tmp_path / "server.log", env={"FLOWRUNS_DATABASE_URL": postgres_url})
    try:
        wait_ready(server)
        run = api_post(f"{server.base}{HUB}/runs", json=RUN).json()
        libpq = make_url(postgres_url).render_as_string(hide_password=False)
        results: list[httpx.Response] = []
        with psycopg.connect(libpq) as holder, psycopg.connect(libpq, autocommit=True) as watch:
            # Hold the run so the PATCH below is still in flight when the server is told to stop.
            holder.execute("SELECT 1 FROM runs WHERE id = %s FOR UPDATE", (run["id"],))
            patching = threading.Thread(
                target=lambda: results.append(
                    httpx.patch(
                        f"{server.base}{HUB}/runs/{run['id']}",
                        json={"displayName": "finished after SIGTERM"},
                        headers=AUTH,
                        timeout=30,
                    )
                )
            )
            patching.start()
            deadline = time.monotonic() + 20
            while watch.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            ).fetchone() != (1,):
                assert time.monotonic() < deadline
                time.sleep(0.02)
            server.process.send_signal(signal.SIGTERM)
            time.sleep(0.5)  # the server stops listening but keeps the request
            assert server.process.poll() is None
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"{server.base}/healthz")
            holder.commit()
        patching.join(timeout=30)
        assert results[0].status_code == 200
        assert results[0].json()["displayName"] == "finished after SIGTERM"
        # A clean stop: uvicorn ends by re-raising the SIGTERM it handled (systemd counts that
        # as success).
        assert server.process.wait(timeout=30) in (0, -signal.SIGTERM)
        assert "Traceback" not in server.log.read_text()
    finally:
        server.stop()
