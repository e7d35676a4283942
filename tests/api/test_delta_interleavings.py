"""Random interleavings of writes with delta clients syncing at random points: after every sync
the client's copy equals a fresh full read of the same collection, $filter and $select."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from flowruns.api.app import open_database
from flowruns.edm.datetimes import TICKS_PER_SECOND, now_ticks
from flowruns.service import stale
from flowruns.settings import Settings
from flowruns.store.database import Database
from tests.api.delta_sync import Mirror, full_read
from tests.conftest import HUB, NS

# Each followed collection: its list URL and the query it is followed with.
FOLLOWED = (
    f"{HUB}/runs",
    f"{HUB}/runs?$filter=status eq 'running'&$select=displayName,status",
    f"{HUB}/processes",
    f"{HUB}/processes?$filter=startswith(displayName,'a')",
    f"{HUB}/runGroups?$select=displayName",
)


def _delta_url(listing: str) -> str:
    path, _, query = listing.partition("?")
    return f"{path}/delta()" + (f"?{query}" if query else "")


Operation = tuple[Any, ...]
_pick = st.integers(min_value=0, max_value=50)
_name = st.sampled_from(["a", "b", "ab", "ba"])
OPERATIONS: st.SearchStrategy[Operation] = st.one_of(
    st.tuples(st.just("run"), _name),
    st.tuples(st.just("run of process"), _pick, _name),
    st.tuples(st.just("process"), _name),
    st.tuples(st.just("group"), _name),
    st.tuples(st.just("rename run"), _pick, _name),
    st.tuples(st.just("finish run"), _pick),
    st.tuples(st.just("heartbeat"), _pick),
    st.tuples(st.just("rename process"), _pick, _name),
    st.tuples(st.just("delete run"), _pick),
    st.tuples(st.just("delete process"), _pick),
    st.tuples(st.just("add member"), _pick, _pick),
    st.tuples(st.just("remove member"), _pick),
    st.tuples(st.just("link"), _pick, _pick),
    st.tuples(st.just("fail stale runs")),
    st.tuples(st.just("sync"), st.integers(min_value=0, max_value=len(FOLLOWED) - 1)),
)


@pytest.fixture
def database(settings: Settings, client: TestClient) -> Iterator[Database]:
    """The server's database, opened beside it (for the stale-run rule)."""
    db = open_database(settings)
    yield db
    db.dispose()


def _ids(client: TestClient, url: str) -> list[str]:
    return sorted(full_read(client, url))


def _nth(ids: list[str], index: int) -> str | None:
    return ids[index % len(ids)] if ids else None


def _apply(client: TestClient, database: Database, operation: Operation) -> None:
    kind = operation[0]
    runs, processes = _ids(client, f"{HUB}/runs"), _ids(client, f"{HUB}/processes")
    groups = _ids(client, f"{HUB}/runGroups")
    if kind == "run":
        body = {"@odata.type": f"#{NS}.outgoingFlowRun", "displayName": operation[1]}
        assert client.post(f"{HUB}/runs", json=body).status_code == 201
    elif kind == "run of process" and (process := _nth(processes, operation[1])):
        body = {"@odata.type": f"#{NS}.outgoingFlowRun", "displayName": operation[2]}
        assert client.post(f"{HUB}/processes/{process}/runs", json=body).status_code == 201
    elif kind == "process":
        body = {"@odata.type": f"#{NS}.insightsOutgoingFlow", "displayName": operation[1]}
        assert client.post(f"{HUB}/processes", json=body).status_code == 201
    elif kind == "group":
        body = {"displayName": operation[1]}
        assert client.post(f"{HUB}/runGroups", json=body).status_code == 201
    elif kind == "rename run" and (run := _nth(runs, operation[1])):
        client.patch(f"{HUB}/runs/{run}", json={"displayName": operation[2]})
    elif kind == "finish run" and (run := _nth(runs, operation[1])):
        client.patch(f"{HUB}/runs/{run}", json={"status": "completed"})
    elif kind == "heartbeat" and (run := _nth(runs, operation[1])):
        client.patch(f"{HUB}/runs/{run}", json={})
    elif kind == "rename process" and (process := _nth(processes, operation[1])):
        client.patch(f"{HUB}/processes/{process}", json={"displayName": operation[2]})
    elif kind == "delete run" and (run := _nth(runs, operation[1])):
        assert client.delete(f"{HUB}/runs/{run}").status_code == 204
    elif kind == "delete process" and (process := _nth(processes, operation[1])):
        cascade = {"Prefer": "cascade-running"}
        assert client.delete(f"{HUB}/processes/{process}", headers=cascade).status_code == 204
    elif kind == "add member" and (group := _nth(groups, operation[1])):
        run = _nth([r for r in runs if r != group], operation[2])
        if run is not None:
            ref = {"@odata.id": f"{HUB}/runs/{run}"}
            assert client.post(f"{HUB}/runGroups/{group}/runs/$ref", json=ref).status_code == 204
    elif kind == "remove member" and (group := _nth(groups, operation[1])):
        members = _ids(client, f"{HUB}/runGroups/{group}/runs")
        if members:
            url = f"{HUB}/runGroups/{group}/runs/{members[0]}/$ref"
            assert client.delete(url).status_code == 204
    elif kind == "link" and (run := _nth(runs, operation[1])):
        process = _nth(processes, operation[2])
        if process is not None:
            ref = {"@odata.id": f"{HUB}/processes/{process}"}
            assert client.put(f"{HUB}/runs/{run}/process/$ref", json=ref).status_code == 204
    elif kind == "fail stale runs":
        stale.fail_stale_runs(database, 60, now=now_ticks() + 3600 * TICKS_PER_SECOND)


@given(operations=st.lists(OPERATIONS, min_size=1, max_size=25))
def test_a_delta_copy_always_equals_a_full_read(
    client: TestClient, database: Database, operations: list[Operation]
) -> None:
    mirrors = [Mirror(_delta_url(listing), page_size=2) for listing in FOLLOWED]
    for mirror in mirrors:
        mirror.sync(client)
    for operation in operations:
        if operation[0] != "sync":
            _apply(client, database, operation)
            continue
        index = operation[1]
        mirrors[index].sync(client)
        assert mirrors[index].copy == full_read(client, FOLLOWED[index])
    for mirror, listing in zip(mirrors, FOLLOWED, strict=True):
        mirror.sync(client)
        assert mirror.copy == full_read(client, listing)
