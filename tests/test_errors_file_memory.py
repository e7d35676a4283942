"""``getErrorsAndWarningsFile`` of a large group, served by a real ``flowruns serve``: the answer
is written out as it is read, so the server's memory does not grow with the size of the file."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from sqlalchemy import update

from flowruns.store.database import make_engine, sqlite_url
from flowruns.store.schema import runs
from tests.conftest import HUB, NS
from tests.servers import AUTH, Server, running

MEMBERS = 8
# A 256-character name repeated on each of ~21,800 rows per member: what makes 504 KB of
# statistics a 64 MB file. The empty entries are the smallest a member can list.
NAME = "n" * 256
ENTRIES = (64 * 1024 - len('{"errors":[]}')) // len("{},")
BIG_STATISTICS: dict[str, object] = {"errors": [{}] * ENTRIES}
MAX_GROWTH = 20 * 1024 * 1024


def _peak_rss(server: Server) -> int:
    """The server process's peak resident set (VmHWM), in bytes."""
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    data_dir = tmp_path / "data"
    with running(tmp_path / "server.log", "--data-dir", str(data_dir)) as started:
        yield started


def _group(http: httpx.Client, base: str) -> tuple[str, list[str]]:
    """A group of failed members: its id and theirs."""
    members: list[str] = []
    group = http.post(f"{base}{HUB}/runGroups", json={"displayName": "g"}).json()["id"]
    for i in range(MEMBERS):
        run = http.post(
            f"{base}{HUB}/runs",
            json={
                "@odata.type": f"{NS}.outgoingFlowRun",
                "displayName": NAME,
                "status": "failed",
                "startDateTime": f"2026-01-0{i + 1}T00:00:00Z",
                "endDateTime": f"2026-01-0{i + 1}T00:10:00Z",
                "statistics": {"errors": [{"code": "small"}]},
            },
        )
        assert run.status_code == 201, run.text
        member = run.json()["id"]
        members.append(member)
        linked = http.post(
            f"{base}{HUB}/runGroups/{group}/runs/$ref",
            json={"@odata.id": f"{base}{HUB}/runs/{member}"},
        )
        assert linked.status_code == 204, linked.text
    return group, members


def _fill(data_dir: Path, members: list[str], statistics: dict[str, object]) -> None:
    """Give ``members`` these statistics, written to the database directly: the file must cope
    with whatever a store holds, whichever limits the write path enforces."""
    engine = make_engine(sqlite_url(data_dir))
    with engine.begin() as connection:
        connection.execute(update(runs).where(runs.c.id.in_(members)).values(statistics=statistics))
    engine.dispose()


def test_a_large_errors_file_is_written_in_bounded_memory(server: Server, tmp_path: Path) -> None:
    with httpx.Client(headers=AUTH, timeout=120) as http:
        small, _ = _group(http, server.base)
        big, members = _group(http, server.base)
        warm_up = http.get(f"{server.base}{HUB}/runGroups/{small}/getErrorsAndWarningsFile")
        assert warm_up.status_code == 200, warm_up.text
        _fill(tmp_path / "data", members, BIG_STATISTICS)
        before = _peak_rss(server)
        answer = http.get(f"{server.base}{HUB}/runGroups/{big}/getErrorsAndWarningsFile")
        growth = _peak_rss(server) - before
    assert answer.status_code == 200, answer.text
    body = orjson.loads(answer.content)
    rows = list(csv.reader(io.StringIO(body["value"], newline="")))
    assert len(rows) == 1 + MEMBERS * ENTRIES
    assert rows[1][1] == NAME
    assert growth < MAX_GROWTH, f"the server's peak memory grew by {growth / 2**20:.1f} MiB"
