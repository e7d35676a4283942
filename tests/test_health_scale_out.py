"""Process health across server processes: two servers on one database (PostgreSQL, or one
SQLite file) both evaluate every process, and each incident is opened once.

Each of many processes has a run that becomes overdue a second after it starts; both servers
find it within their evaluation pass, and every process ends with exactly one incident.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.conftest import HUB, NS
from tests.engines import ENGINES
from tests.servers import AUTH, api_get, api_post, two_servers

PROCESSES = 24
WAIT_SECONDS = 60


@pytest.fixture(scope="module", params=ENGINES)
def servers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    work = tmp_path_factory.mktemp("health-scale-out")
    with two_servers(request.param, work) as bases:
        yield bases


def test_two_servers_open_each_incident_once(servers: tuple[str, str]) -> None:
    a, b = servers
    processes = []
    for index in range(PROCESSES):
        base = (a, b)[index % 2]
        body = {"@odata.type": f"#{NS}.insightsOutgoingFlow", "displayName": f"flow {index}"}
        process = api_post(f"{base}{HUB}/processes", json=body).json()["id"]
        expectation = {"maxDuration": "PT1S"}
        put = httpx.put(
            f"{base}{HUB}/processes/{process}/expectation", json=expectation, headers=AUTH
        )
        assert put.status_code == 201, put.text
        # Started after the expectation: a run the expectation knows of.
        start = datetime.now(UTC) + timedelta(milliseconds=10)
        run = {"displayName": "export", "startDateTime": start.isoformat()}
        assert api_post(f"{base}{HUB}/processes/{process}/runs", json=run).status_code == 201
        processes.append(process)
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        found = api_get(f"{a}{HUB}/incidents?$top=999&$count=true").json()
        if found["@odata.count"] >= PROCESSES:
            break
        assert time.monotonic() < deadline, f"{found['@odata.count']} incidents"
        time.sleep(0.5)
    time.sleep(6)  # another pass of each server: still one incident a process
    incidents = api_get(f"{b}{HUB}/incidents?$top=999&$expand=process($select=id)").json()
    per_process = Counter(i["process"]["id"] for i in incidents["value"])
    assert per_process == Counter(dict.fromkeys(processes, 1))
    assert {i["kind"] for i in incidents["value"]} == {"overdue"}
    health = api_get(f"{b}{HUB}/processes?$filter=health/state eq 'overdue'&$count=true").json()
    assert health["@odata.count"] == PROCESSES
