"""The SDK's process health: expectations written and read as models, health, and incidents
listed, counted and read, against a real server on each engine."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from flowruns.client import Client, GraphAPIError, NotFoundError
from flowruns.client.models import (
    Expectation,
    HealthState,
    Incident,
    IncidentKind,
    Process,
    ProcessHealth,
)

WITHIN_SECONDS = 60


def test_an_overdue_run_through_the_sdk(client: Client, process: Process) -> None:
    assert process.id is not None
    with pytest.raises(NotFoundError):
        client.processes.expectation(process.id)
    written = client.processes.expect(process.id, max_duration="PT1S", owner="ops", tags=["a"])
    assert isinstance(written, Expectation)
    assert (written.max_duration, written.owner, written.tags) == ("PT1S", "ops", ["a"])
    changed = client.processes.update_expectation(process.id, owner="data", if_match=written)
    assert (changed.owner, changed.max_duration) == ("data", "PT1S")
    with pytest.raises(GraphAPIError) as refused:
        client.processes.update_expectation(process.id, grace="an hour")
    assert refused.value.target == "grace"

    client.processes.create_run(process.id, "export", start=datetime.now(UTC))
    deadline = time.monotonic() + WITHIN_SECONDS
    while True:
        health = client.processes.health(process.id)
        assert isinstance(health, ProcessHealth)
        if health.state is HealthState.OVERDUE:
            break
        assert time.monotonic() < deadline, health
        time.sleep(0.5)
    [incident] = list(client.processes.incidents(process.id))
    assert isinstance(incident, Incident)
    assert incident.kind is IncidentKind.OVERDUE
    assert incident.resolved_date_time is None
    assert incident.opened_date_time is not None
    assert incident.opened_date_time < datetime.now(UTC) + timedelta(seconds=1)
    assert client.incidents.get(incident.id or "").message == incident.message
    kind_filter = f"kind eq 'overdue' and process/id eq '{process.id}'"
    assert [i.id for i in client.incidents.list(kind_filter)] == [incident.id]
    assert client.incidents.count(kind_filter) == 1
    expanded = client.processes.get(process.id, expand="expectation,health")
    assert expanded.expectation is not None
    assert expanded.expectation.owner == "data"
    assert expanded.health is not None
    assert expanded.health.state is HealthState.OVERDUE

    client.processes.remove_expectation(process.id)
    resolved = client.incidents.get(incident.id or "")
    assert resolved.resolved_date_time is not None
