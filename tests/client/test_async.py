"""The asynchronous client mirrors the synchronous one against the same real server."""

from __future__ import annotations

import asyncio

import pytest

from flowruns.client import (
    AsyncClient,
    ConflictError,
    F,
    NotFoundError,
    OutgoingFlowRun,
    RunStatus,
    current_run,
)
from tests.client.conftest import TOKEN
from tests.servers import Server


def test_async_client_pages_creates_and_raises_typed_errors(server: Server) -> None:
    async def scenario() -> None:
        async with AsyncClient(f"{server.base}/beta", TOKEN) as client:
            process = await client.processes.create("async flow", "insightsOutgoingFlow")
            assert process.id is not None
            created = await asyncio.gather(
                *(client.runs.create(f"run {i}", process_id=process.id) for i in range(45))
            )
            mine = F.process.id == process.id
            listed = [run.id async for run in client.runs.list(filter=mine, top=10)]
            assert sorted(map(str, listed)) == sorted(str(run.id) for run in created)
            # top is the page size; limit the most runs (docs/sdk.md, "Async").
            assert len([run async for run in client.runs.list(filter=mine, limit=20)]) == 20
            assert len([run async for run in client.processes.runs(process.id, limit=3)]) == 3
            assert await client.runs.count(filter=mine) == 45
            page = await client.runs.page(filter=mine, top=10, count=True)
            assert (len(page.items), page.count) == (10, 45)
            first = created[0]
            assert first.id is not None
            assert isinstance(await client.runs.get(first.id), OutgoingFlowRun)
            done = await client.runs.update(first.id, status="completed")
            assert done.status is RunStatus.COMPLETED
            with pytest.raises(ConflictError):
                await client.runs.update(first.id, status="running")
            await client.processes.delete(process.id, cascade_running=True)
            with pytest.raises(NotFoundError):
                await client.runs.get(first.id)

    asyncio.run(scenario())


def test_async_recorder_and_decorator_record_runs(server: Server) -> None:
    async def scenario() -> None:
        async with AsyncClient(f"{server.base}/beta", TOKEN) as client:
            process = await client.processes.create("async recorded", "insightsOutgoingFlow")
            assert process.id is not None
            async with client.record_run(process, display_name="async export") as run:
                run.stats["recordsExported"] += 4
                run.warn("slow", "took a while")
                await asyncio.sleep(0)

            @client.recorded(process.id)
            async def broken() -> None:
                current_run().stats["recordsExported"] = 1
                raise KeyError("studentId")

            with pytest.raises(KeyError):
                await broken()
            runs = [
                r async for r in client.processes.runs(process.id, orderby=F.startDateTime.asc())
            ]
            assert [r.status for r in runs] == [
                RunStatus.COMPLETED_WITH_WARNINGS,
                RunStatus.FAILED,
            ]
            assert runs[0].statistics is not None
            assert runs[0].statistics["recordsExported"] == 4
            assert runs[1].blocking_error is not None
            assert runs[1].blocking_error.code == "KeyError"
            assert runs[1].display_name == broken.__qualname__

    asyncio.run(scenario())
