"""Scale-out: two server processes (one of them with two workers) on one database, on each
engine: one PostgreSQL database, or one SQLite file in a shared data directory (where each
process has its own writer, and their write transactions take turns on SQLite's lock).

Writes and paged reads go through both, interleaved: no update is lost, and paging finds every
row once, whichever server serves each page.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.conftest import HUB, NS
from tests.engines import ENGINES
from tests.servers import AUTH, api_get, api_post, two_servers

RUN = {"@odata.type": f"{NS}.outgoingFlowRun", "displayName": "0"}


@pytest.fixture(scope="module", params=ENGINES)
def servers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    work = tmp_path_factory.mktemp("scale-out")
    with two_servers(request.param, work, ("--workers", "2")) as bases:
        yield bases


def _on(base: str, link: str) -> str:
    """``link`` (an absolute URL from either server) sent to the server at ``base``."""
    return base + link[link.index("/beta") :]


def test_increments_through_both_servers_lose_no_update(servers: tuple[str, str]) -> None:
    a, b = servers
    created = api_post(f"{a}{HUB}/runs", json=RUN)
    assert created.status_code == 201, created.text
    path = f"{HUB}/runs/{created.json()['id']}"

    def increment(worker: int) -> None:
        """Add 1 to the run's counter five times, alternating servers; retry on 412."""
        with httpx.Client(headers=AUTH) as http:
            for step in range(5):
                while True:
                    base = servers[(worker + step) % 2]
                    current = http.get(base + path)
                    value = int(current.json()["displayName"])
                    patched = http.patch(
                        base + path,
                        json={"displayName": str(value + 1)},
                        headers={"If-Match": current.headers["ETag"]},
                    )
                    if patched.status_code == 412:  # another writer got there first
                        continue
                    assert patched.status_code == 200, patched.text
                    break

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(increment, range(6)))
    # Thirty increments, each applied exactly once; collisions were refused (412) and retried.
    assert api_get(b + path).json()["displayName"] == "30"


def test_paging_through_both_servers_while_writing_finds_every_row_once(
    servers: tuple[str, str],
) -> None:
    process = api_post(
        f"{servers[0]}{HUB}/processes",
        json={"@odata.type": f"{NS}.insightsOutgoingFlow", "displayName": "paged"},
    ).json()
    runs_url = f"{HUB}/processes/{process['id']}/runs"
    before = {
        api_post(servers[i % 2] + runs_url, json={**RUN, "displayName": f"r{i}"}).json()["id"]
        for i in range(40)
    }
    seen: list[str] = []
    added: set[str] = set()
    page: dict[str, Any] = api_get(f"{servers[0]}{runs_url}?$top=6").json()
    turn = 0
    while True:
        seen.extend(r["id"] for r in page["value"])
        # A write through the other server between every two pages.
        writer = servers[(turn + 1) % 2]
        added.add(api_post(writer + runs_url, json={**RUN, "displayName": "new"}).json()["id"])
        if "@odata.nextLink" not in page:
            break
        turn += 1
        page = api_get(_on(servers[turn % 2], page["@odata.nextLink"])).json()
    assert len(seen) == len(set(seen)), "a row was served twice"
    assert before <= set(seen), "a row was missed"
    assert set(seen) <= before | added
    assert turn >= 6  # pages came from both servers, alternately
    for base in servers:
        counted = api_get(f"{base}{runs_url}/$count").text
        assert int(counted) == len(before) + len(added)


def test_a_write_through_one_server_is_read_through_the_other(servers: tuple[str, str]) -> None:
    a, b = servers
    run = api_post(f"{a}{HUB}/runs", json={**RUN, "displayName": "seen by b"}).json()
    assert api_get(f"{b}{HUB}/runs/{run['id']}").json()["displayName"] == "seen by b"
    assert httpx.delete(f"{b}{HUB}/runs/{run['id']}", headers=AUTH).status_code == 204
    assert api_get(f"{a}{HUB}/runs/{run['id']}").status_code == 404


def test_creates_through_both_servers_at_once_are_all_kept(servers: tuple[str, str]) -> None:
    process = api_post(
        f"{servers[0]}{HUB}/processes",
        json={"@odata.type": f"{NS}.insightsOutgoingFlow", "displayName": "busy"},
    ).json()
    runs_url = f"{HUB}/processes/{process['id']}/runs"

    def create(worker: int) -> list[str]:
        with httpx.Client(headers=AUTH, timeout=60) as http:
            made = []
            for step in range(10):
                answer = http.post(servers[(worker + step) % 2] + runs_url, json=RUN)
                assert answer.status_code == 201, answer.text
                made.append(answer.json()["id"])
            return made

    with ThreadPoolExecutor(max_workers=8) as pool:
        created = {run_id for made in pool.map(create, range(8)) for run_id in made}
    assert len(created) == 80
    for base in servers:
        listed = api_get(f"{base}{runs_url}?$select=id&$top=100").json()["value"]
        assert {run["id"] for run in listed} == created
