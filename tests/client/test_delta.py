"""delta() in both clients against a real server: the first round's state, then changes and
removals, resumed from the deltaLink each round returns."""

from __future__ import annotations

import asyncio

from flowruns.client import (
    AsyncClient,
    Client,
    F,
    InsightsOutgoingFlow,
    OutgoingFlowRun,
    Process,
    Removed,
    RunGroup,
    RunStatus,
)
from tests.client.conftest import TOKEN
from tests.servers import Server


def test_runs_delta_yields_changes_and_removals_and_resumes(
    client: Client, process: Process
) -> None:
    assert process.id is not None
    mine = F.process.id == process.id
    runs = [client.runs.create(f"run {i}", process_id=process.id) for i in range(5)]
    first = client.runs.delta(filter=mine, page_size=2)
    assert sorted(str(r.id) for r in first if not isinstance(r, Removed)) == sorted(
        str(r.id) for r in runs
    )
    assert first.delta_link is not None
    assert first.count == 5
    assert runs[0].id is not None
    assert runs[1].id is not None
    client.runs.update(runs[0].id, status="completed")
    client.runs.delete(runs[1].id)
    later = client.runs.delta(delta_link=first.delta_link)
    items = list(later)
    changed = [r for r in items if isinstance(r, OutgoingFlowRun)]
    assert [(r.id, r.status) for r in changed] == [(runs[0].id, RunStatus.COMPLETED)]
    assert [(r.id, r.reason) for r in items if isinstance(r, Removed)] == [(runs[1].id, "deleted")]
    assert later.delta_link is not None
    assert list(client.runs.delta(delta_link=later.delta_link)) == []


def test_processes_and_run_groups_have_delta_too(client: Client) -> None:
    process = client.processes.create("followed flow", "insightsOutgoingFlow")
    assert process.id is not None
    mine = F.displayName == "followed flow"
    first = client.processes.delta(filter=mine, select=["displayName"])
    assert [p.id for p in first] == [process.id]
    client.processes.update(process.id, display_name="renamed flow")
    assert first.delta_link is not None
    # It no longer matches the filter the deltaLink carries: removed, as changed.
    (gone,) = list(client.processes.delta(delta_link=first.delta_link))
    assert gone == Removed(process.id, "changed", InsightsOutgoingFlow.odata_type)
    groups = client.runs.delta(type=RunGroup)
    assert all(isinstance(g, RunGroup) for g in groups)


def test_the_async_client_follows_delta_as_the_sync_one(server: Server) -> None:
    async def scenario() -> None:
        async with AsyncClient(f"{server.base}/beta", TOKEN) as client:
            process = await client.processes.create("async delta", "insightsOutgoingFlow")
            assert process.id is not None
            mine = F.process.id == process.id
            run = await client.runs.create("run", process_id=process.id)
            first = client.runs.delta(filter=mine, page_size=1)
            assert [r.id async for r in first] == [run.id]
            assert run.id is not None
            await client.runs.delete(run.id)
            later = client.runs.delta(delta_link=first.delta_link)
            assert [r async for r in later] == [
                Removed(run.id, "deleted", OutgoingFlowRun.odata_type)
            ]

    asyncio.run(scenario())
