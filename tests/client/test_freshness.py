"""The SDK's dataset freshness: a dataset's freshness expectation written and read as a model,
the stale incident it opens (with its dataset and no process) and how pausing and removing it
resolve that incident, with both clients, against a real server on each engine."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from flowruns.client import AsyncClient, Client, GraphAPIError, NotFoundError, Process
from flowruns.client.models import (
    FreshnessExpectation,
    FreshnessState,
    Incident,
    IncidentKind,
)
from tests.client.conftest import TOKEN
from tests.servers import Server


def _written_two_days_ago(client: Client, process: Process) -> tuple[str, str]:
    """A dataset last written by a successful run that ended two days ago: its name and id."""
    name = f"warehouse.orders.{uuid.uuid4().hex[:8]}"
    ended = datetime.now(UTC) - timedelta(days=2)
    run = client.runs.create("load", process_id=process.id, start=ended - timedelta(minutes=5))
    assert run.id is not None
    access = client.runs.add_output(run.id, name)
    client.runs.update(run.id, status="completed", end=ended)
    assert access.dataset_id is not None
    return name, access.dataset_id


def test_a_stale_dataset_through_the_sdk(client: Client, process: Process) -> None:
    name, dataset_id = _written_two_days_ago(client, process)
    with pytest.raises(NotFoundError):
        client.datasets.expectation(dataset_id)
    written = client.datasets.expect(dataset_id, written_every="P1D", owner="data", tags=["a"])
    assert isinstance(written, FreshnessExpectation)
    assert (written.written_every, written.owner, written.tags) == ("P1D", "data", ["a"])
    # Written two days ago and expected daily: stale since a day ago, as soon as it is written.
    assert written.state is FreshnessState.STALE
    assert written.write_due_date_time is not None
    assert written.write_due_date_time < datetime.now(UTC) - timedelta(hours=23)
    with pytest.raises(GraphAPIError) as refused:
        client.datasets.update_expectation(dataset_id, written_every="daily")
    assert refused.value.target == "writtenEvery"

    [incident] = client.datasets.incidents(dataset_id)
    assert isinstance(incident, Incident)
    assert incident.kind is IncidentKind.STALE
    assert incident.dataset_id == dataset_id
    assert incident.resolved_date_time is None
    expanded = client.incidents.get(incident.id or "", expand="dataset,process")
    assert expanded.dataset is not None
    assert expanded.dataset.name == name
    assert expanded.process is None
    stale = f"kind eq 'stale' and datasetId eq '{dataset_id}'"
    assert [i.id for i in client.incidents.list(stale)] == [incident.id]

    paused = client.datasets.update_expectation(dataset_id, paused=True, if_match=written)
    assert (paused.state, paused.written_every) == (FreshnessState.PAUSED, "P1D")
    assert client.incidents.get(incident.id or "").resolved_date_time is not None
    assert client.datasets.expectation(dataset_id).state is FreshnessState.PAUSED
    client.datasets.remove_expectation(dataset_id)
    with pytest.raises(NotFoundError):
        client.datasets.expectation(dataset_id)


def test_the_asynchronous_client_writes_and_reads_a_freshness_expectation(
    server: Server, client: Client, process: Process
) -> None:
    _, dataset_id = _written_two_days_ago(client, process)

    async def scenario() -> None:
        async with AsyncClient(f"{server.base}/beta", TOKEN) as sdk:
            written = await sdk.datasets.expect(dataset_id, written_every="P3D")
            assert written.state is FreshnessState.FRESH
            changed = await sdk.datasets.update_expectation(dataset_id, owner="ops")
            assert (changed.owner, changed.written_every) == ("ops", "P3D")
            assert (await sdk.datasets.expectation(dataset_id)).owner == "ops"
            assert [i async for i in sdk.datasets.incidents(dataset_id)] == []
            await sdk.datasets.remove_expectation(dataset_id)
            with pytest.raises(NotFoundError):
                await sdk.datasets.expectation(dataset_id)

    asyncio.run(scenario())
