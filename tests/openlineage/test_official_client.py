"""The official OpenLineage Python client (``openlineage-python``, its HTTP transport) emitting
to a real ``flowruns serve``."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
import requests
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    error_message_run,
    output_statistics_output_dataset,
    parent_run,
)
from openlineage.client.transport.http import (
    ApiKeyTokenProvider,
    HttpCompression,
    HttpConfig,
    HttpTransport,
)

from flowruns.settings import DEFAULT_TENANT, LOCAL_AUDIENCE, LOCAL_ISSUER
from tests.conftest import HUB
from tests.servers import AUTH, TOKEN_SECRET, Server, running

PRODUCER = "https://github.com/flowruns/flowruns/tests"
WRITE_BOTH = "IndustryData-Run.ReadWrite.All IndustryData-OutboundFlow.ReadWrite.All"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("openlineage")
    with running(folder / "server.log", "--data-dir", str(folder / "data")) as started:
        yield started


def token(scopes: str = WRITE_BOTH, tenant: str = DEFAULT_TENANT) -> str:
    now = int(time.time())
    claims = {
        "iss": LOCAL_ISSUER,
        "aud": LOCAL_AUDIENCE,
        "tid": tenant,
        "appid": "emitter",
        "scp": scopes,
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
    }
    return jwt.encode(claims, TOKEN_SECRET, algorithm="HS256")


def emitter(url: str, api_key: str | None = None, *, gzip: bool = False) -> OpenLineageClient:
    config = HttpConfig(
        url=url,
        auth=ApiKeyTokenProvider({"apiKey": api_key or token()}),
        compression=HttpCompression.GZIP if gzip else None,
    )
    return OpenLineageClient(transport=HttpTransport(config))


def at(seconds: int) -> str:
    return (datetime(2026, 11, 30, 8, tzinfo=UTC) + timedelta(seconds=seconds)).isoformat()


def run(server: Server, run_id: str) -> dict[str, Any]:
    response = httpx.get(f"{server.base}{HUB}/runs/{run_id}", headers=AUTH)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def event(state: RunState, run_id: str, seconds: int, **members: Any) -> RunEvent:
    members.setdefault("job", Job(namespace="warehouse", name="nightly_load"))
    facets = members.pop("run_facets", None)
    return RunEvent(
        eventType=state,
        eventTime=at(seconds),
        run=Run(runId=run_id, facets=facets),
        producer=PRODUCER,
        **members,
    )


def test_start_running_complete_with_datasets_and_facets(server: Server) -> None:
    client = emitter(server.base)
    run_id = str(uuid.uuid4())
    inputs = [InputDataset(namespace="postgres://src", name="public.orders")]
    statistics = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(
        rowCount=1200, size=65536
    )
    outputs = [
        OutputDataset(
            namespace="s3://lake", name="orders", outputFacets={"outputStatistics": statistics}
        )
    ]
    client.emit(event(RunState.START, run_id, 0, inputs=inputs))
    assert run(server, run_id)["status"] == "running"
    client.emit(event(RunState.RUNNING, run_id, 30))
    client.emit(event(RunState.COMPLETE, run_id, 90, inputs=inputs, outputs=outputs))
    finished = run(server, run_id)
    assert (finished["status"], finished["displayName"]) == ("completed", "nightly_load")
    assert finished["statistics"] == {"recordsProcessed": 1200, "bytesWritten": 65536}
    assert finished["endDateTime"] == "2026-11-30T08:01:30Z"


def test_fail_with_an_error_message_through_the_service_root(server: Server) -> None:
    client = emitter(f"{server.base}/beta/")  # urljoin → /beta/api/v1/lineage
    run_id = str(uuid.uuid4())
    error = error_message_run.ErrorMessageRunFacet(
        message="disk full", programmingLanguage="PYTHON"
    )
    client.emit(event(RunState.START, run_id, 0))
    client.emit(event(RunState.FAIL, run_id, 5, run_facets={"errorMessage": error}))
    failed = run(server, run_id)
    assert failed["status"] == "failed"
    assert (failed["blockingError"]["code"], failed["blockingError"]["message"]) == (
        "failed",
        "disk full",
    )


def test_a_parent_and_its_children_gzip_coded(server: Server) -> None:
    client = emitter(server.base, gzip=True)
    parent_id = str(uuid.uuid4())
    children = [str(uuid.uuid4()) for _ in range(3)]
    dag = Job(namespace="airflow", name="nightly")
    parent = parent_run.ParentRunFacet(
        run=parent_run.Run(runId=parent_id), job=parent_run.Job(namespace="airflow", name="nightly")
    )
    for n, child in enumerate(children):  # children first: the group starts as a placeholder
        task = Job(namespace="airflow", name=f"nightly.task_{n}")
        client.emit(event(RunState.START, child, n, job=task, run_facets={"parent": parent}))
        client.emit(
            event(RunState.COMPLETE, child, 60 + n, job=task, run_facets={"parent": parent})
        )
    client.emit(event(RunState.START, parent_id, 0, job=dag))
    client.emit(event(RunState.COMPLETE, parent_id, 70, job=dag))
    response = httpx.get(f"{server.base}{HUB}/runGroups/{parent_id}?$expand=runs", headers=AUTH)
    group = response.json()
    assert group["status"] == "completed"
    assert sorted(r["id"] for r in group["runs"]) == sorted(children)


@pytest.mark.parametrize(
    ("api_key", "status"),
    [
        ("not-a-token", 401),
        (token("IndustryData-Run.ReadWrite.All"), 403),
        (token("IndustryData-Run.Read.All IndustryData-OutboundFlow.Read.All"), 403),
    ],
)
def test_auth_and_permission_failures_reach_the_emitter(
    server: Server, api_key: str, status: int
) -> None:
    client = emitter(server.base, api_key)
    run_id = str(uuid.uuid4())
    with pytest.raises(requests.HTTPError) as raised:
        client.emit(event(RunState.START, run_id, 0))
    assert raised.value.response is not None
    assert raised.value.response.status_code == status
    assert httpx.get(f"{server.base}{HUB}/runs/{run_id}", headers=AUTH).status_code == 404


def test_a_tenant_of_its_own(server: Server) -> None:
    tenant = str(uuid.uuid4())
    run_id = str(uuid.uuid4())
    emitter(server.base, token(tenant=tenant)).emit(event(RunState.START, run_id, 0))
    assert httpx.get(f"{server.base}{HUB}/runs/{run_id}", headers=AUTH).status_code == 404
    theirs = {"Authorization": f"Bearer {token(tenant=tenant)}"}
    assert httpx.get(f"{server.base}{HUB}/runs/{run_id}", headers=theirs).status_code == 200
