"""``client.batch()``: up to 20 requests sent as one JSON batch against a real server, each with
its typed result or the typed error it would have raised alone."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from flowruns.client import (
    AsyncClient,
    Batch,
    BatchItem,
    Client,
    FailedDependencyError,
    FlowrunsClientError,
    InsightsOutgoingFlow,
    NotFoundError,
    OutgoingFlowRun,
    Page,
    PermissionDeniedError,
    Process,
    Run,
    RunStatus,
)
from flowruns.client.batching import MAX_BATCH_REQUESTS
from tests.client.conftest import TOKEN
from tests.servers import TOKEN_SECRET, Server


def test_reads_and_writes_come_back_typed(client: Client, process: Process) -> None:
    assert process.id is not None
    existing = client.runs.create("existing", process_id=process.id)
    assert existing.id is not None
    batch = client.batch()
    assert isinstance(batch, Batch)
    got = batch.runs.get(existing.id)
    made = batch.runs.create("made in a batch", process_id=process.id)
    closed = batch.runs.update(existing.id, status="completed", depends_on=[got])
    page = batch.runs.page(filter=f"process/id eq '{process.id}'", top=1, count=True)
    counted = batch.runs.count(depends_on=[made])
    flow = batch.processes.get(process.id, select=["displayName"])
    gone = batch.runs.delete(str(uuid.uuid4()))
    items = batch.send()
    assert items == [got, made, closed, page, counted, flow, gone]
    run = got.result()
    assert isinstance(run, OutgoingFlowRun)
    assert run.display_name == "existing"
    created = made.result()
    assert isinstance(created, Run)
    assert created.display_name == "made in a batch"
    assert closed.result().status is RunStatus.COMPLETED
    first: Page[Run] = page.result()
    assert len(first.items) == 1
    assert first.count is not None
    assert first.count >= 1
    assert counted.result() >= 2
    assert isinstance(flow.result(), InsightsOutgoingFlow)
    assert (gone.status, gone.ok) == (404, False)
    with pytest.raises(NotFoundError) as missing:
        gone.result()
    assert missing.value.request_id is not None
    assert gone.error is missing.value
    assert client.runs.get(created.id or "").display_name == "made in a batch"


def test_a_failed_dependency_is_a_typed_error_and_the_rest_runs(
    client: Client, process: Process
) -> None:
    assert process.id is not None
    batch = client.batch()
    missing = batch.runs.get(str(uuid.uuid4()))
    never = batch.runs.create("never", process_id=process.id, depends_on=[missing])
    neither = batch.runs.count(depends_on=[never])
    independent = batch.processes.create_run(process.id, "independent")
    batch.send()
    assert isinstance(missing.error, NotFoundError)
    for item in (never, neither):
        with pytest.raises(FailedDependencyError) as failed:
            item.result()
        assert failed.value.status == 424
        assert failed.value.code == "failedDependency"
    assert independent.result().display_name == "independent"
    names = [run.display_name for run in client.processes.runs(process.id)]
    assert names == ["independent"]


def test_a_batch_holds_twenty_requests_each_depending_on_one_before(client: Client) -> None:
    batch = client.batch()
    for _ in range(MAX_BATCH_REQUESTS):
        batch.runs.count()
    with pytest.raises(ValueError, match="20"):
        batch.runs.count()
    stranger = client.batch().runs.count()
    with pytest.raises(ValueError, match="not a request added"):
        client.batch().runs.count(depends_on=[stranger])
    assert len(batch) == MAX_BATCH_REQUESTS
    assert all(item.ok for item in batch.send())


def test_results_wait_for_the_batch_and_an_empty_batch_sends_nothing(client: Client) -> None:
    batch = client.batch()
    assert batch.send() == []
    item = batch.runs.count()
    assert not item.done
    with pytest.raises(FlowrunsClientError, match="not been sent"):
        item.result()


def test_the_requests_it_sends() -> None:
    """The body of the batch, as a Graph client would write it."""
    seen: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        answers = [{"id": r["id"], "status": 404, "headers": {}} for r in seen[-1]["requests"]]
        return httpx.Response(200, json={"responses": answers})

    with Client("http://runs.test/beta", "t", transport=httpx.MockTransport(handler)) as client:
        batch = client.batch()
        made = batch.runs.create("x", idempotency_key="key-1")
        batch.runs.update("r 1", status="completed", if_match='W/"1"', depends_on=[made])
        batch.runs.page(filter="status eq 'failed'", top=5)
        batch.send()
    requests = seen[0]["requests"]
    assert requests[0] == {
        "id": "1",
        "method": "POST",
        "url": "/external/industryData/runs",
        "body": {
            "displayName": "x",
            "@odata.type": "#microsoft.graph.industryData.outgoingFlowRun",
        },
        "headers": {"Idempotency-Key": "key-1", "Content-Type": "application/json"},
    }
    assert requests[1]["url"] == "/external/industryData/runs/r%201"
    assert requests[1]["headers"]["If-Match"] == 'W/"1"'
    assert requests[1]["dependsOn"] == ["1"]
    assert requests[2]["url"] == (
        "/external/industryData/runs?%24filter=status+eq+%27failed%27&%24top=5"
    )


def test_a_request_the_token_does_not_allow_fails_alone(server: Server) -> None:
    claims = jwt.decode(TOKEN, options={"verify_signature": False})
    claims["scp"] = "IndustryData-Run.Read.All"
    reader = jwt.encode(claims, TOKEN_SECRET, algorithm="HS256")
    with Client(f"{server.base}/beta", reader) as client:
        batch = client.batch()
        count = batch.runs.count()
        refused = batch.runs.create("refused")
        batch.send()
        assert count.result() >= 0
        with pytest.raises(PermissionDeniedError):
            refused.result()


def test_the_async_batch(server: Server) -> None:
    async def scenario() -> list[BatchItem[Any]]:
        async with AsyncClient(f"{server.base}/beta", TOKEN) as client:
            batch = client.batch()
            flow = batch.processes.create(f"async flow {uuid.uuid4()}")
            batch.runs.count(depends_on=[flow])
            return await batch.send()

    flow, counted = asyncio.run(scenario())
    assert isinstance(flow.result(), InsightsOutgoingFlow)
    assert counted.result() >= 0


def test_the_example_of_the_sdk_guide_prints_what_it_shows(server: Server) -> None:
    guide = (Path(__file__).resolve().parents[2] / "docs" / "sdk.md").read_text()
    start = guide.index("\n## Batches\n")
    [example] = re.findall(r"^```python\n(.*?)^```$", guide[start:], re.DOTALL | re.MULTILINE)[:1]
    shown = [
        line.split("# ", 1)[1] for line in example.splitlines() if "print(" in line and "# " in line
    ]
    env = {**os.environ, "FLOWRUNS_URL": f"{server.base}/beta", "FLOWRUNS_TOKEN": TOKEN}
    result = subprocess.run(
        [sys.executable, "-c", example],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == shown
