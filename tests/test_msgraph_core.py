"""Microsoft's Graph core library for Python (``msgraph-core``) batching against a real
``flowruns serve``: ``BatchRequestContent`` and ``BatchRequestItem`` build the batch the way a
Graph SDK does (absolute item URLs below the service root, ``%24``-encoded query options, the
dependency list as ``depends_on``) and ``BatchRequestBuilder`` sends it.

Its ``BatchResponseContent`` drops a response body that is a JSON object (kiota-python issue
#737: ``JsonParseNode.get_bytes_value`` reads only strings), so the runs themselves are read from
the same request sent through the library's request adapter as bytes, the workaround docs/api.md
gives.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from kiota_abstractions.authentication import AnonymousAuthenticationProvider
from kiota_abstractions.method import Method
from kiota_abstractions.request_information import RequestInformation
from kiota_abstractions.serialization import (
    ParseNodeFactoryRegistry,
    SerializationWriterFactoryRegistry,
)
from kiota_serialization_json.json_parse_node_factory import JsonParseNodeFactory
from kiota_serialization_json.json_serialization_writer_factory import (
    JsonSerializationWriterFactory,
)
from msgraph_core import BaseGraphRequestAdapter, GraphClientFactory
from msgraph_core.requests.batch_request_builder import BatchRequestBuilder
from msgraph_core.requests.batch_request_content import BatchRequestContent
from msgraph_core.requests.batch_request_item import BatchRequestItem
from msgraph_core.requests.batch_response_content import BatchResponseContent

from tests.conftest import HUB, NS
from tests.servers import AUTH, Server, running

JSON = "application/json"
RUNS_TEMPLATE = "{+baseurl}/external/industryData/runs"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("msgraph")
    with running(directory / "server.log", "--data-dir", str(directory / "data")) as started:
        yield started


@asynccontextmanager
async def _adapter(server: Server) -> AsyncIterator[BaseGraphRequestAdapter]:
    """A Graph request adapter as the Graph SDK builds one, sending the test token."""
    # What a Graph SDK registers on import: JSON both ways.
    ParseNodeFactoryRegistry().CONTENT_TYPE_ASSOCIATED_FACTORIES[JSON] = JsonParseNodeFactory()
    writers = SerializationWriterFactoryRegistry().CONTENT_TYPE_ASSOCIATED_FACTORIES
    writers[JSON] = JsonSerializationWriterFactory()
    # The library wraps the client's transport in its middleware, and closing the client does
    # not close the transport inside: that one is closed here.
    connections = httpx.AsyncHTTPTransport()
    http = GraphClientFactory.create_with_default_middleware(
        client=httpx.AsyncClient(headers=AUTH, transport=connections)
    )
    adapter = BaseGraphRequestAdapter(AnonymousAuthenticationProvider(), http_client=http)
    adapter.base_url = f"{server.base}/beta"
    async with connections, http:
        yield adapter


def _request(
    adapter: BaseGraphRequestAdapter, method: Method, template: str, **path: str
) -> RequestInformation:
    return RequestInformation(method, template, {"baseurl": adapter.base_url, **path})


def _get_run(adapter: BaseGraphRequestAdapter, run_id: str) -> RequestInformation:
    """GET a run with ``$select``, the query option written as generated SDKs write it."""
    information = _request(adapter, Method.GET, RUNS_TEMPLATE + "/{id}{?%24select}", id=run_id)
    information.query_parameters["%24select"] = ["id", "displayName"]
    return information


def _create_run(adapter: BaseGraphRequestAdapter, name: str) -> RequestInformation:
    information = _request(adapter, Method.POST, RUNS_TEMPLATE)
    information.headers.try_add("Content-Type", JSON)
    body = {"@odata.type": f"#{NS}.outgoingFlowRun", "displayName": name}
    information.content = json.dumps(body).encode()
    return information


async def _send(
    adapter: BaseGraphRequestAdapter, content: BatchRequestContent
) -> tuple[BatchResponseContent, dict[str, dict[str, Any]]]:
    """The batch sent by ``BatchRequestBuilder``, and the same batch's raw responses by id."""
    builder = BatchRequestBuilder(adapter)
    parsed = await builder.post(content)
    assert isinstance(parsed, BatchResponseContent)
    information = await builder.to_post_request_information(content)
    sent = json.loads(information.content or b"{}")
    raw = await adapter.send_primitive_async(information, "bytes", {})
    assert isinstance(raw, bytes)
    responses = {answer["id"]: answer for answer in json.loads(raw)["responses"]}
    return parsed, {"sent": sent, **responses}


def test_three_runs_read_in_one_batch(server: Server) -> None:
    names = ["first", "second", "third"]
    ids = []
    for name in names:
        created = httpx.post(
            f"{server.base}{HUB}/runs",
            json={"@odata.type": f"#{NS}.outgoingFlowRun", "displayName": name},
            headers=AUTH,
        )
        assert created.status_code == 201, created.text
        ids.append(created.json()["id"])

    async def read() -> tuple[BatchResponseContent, dict[str, dict[str, Any]]]:
        async with _adapter(server) as adapter:
            content = BatchRequestContent()
            for index, run_id in enumerate(ids):
                item = BatchRequestItem(_get_run(adapter, run_id), id=str(index))
                content.add_request(item.id, item)
            return await _send(adapter, content)

    parsed, raw = asyncio.run(read())
    # What the library sent: absolute URLs of this server, %24-encoded options.
    urls = [request["url"] for request in raw["sent"]["requests"]]
    assert all(url.startswith(f"{server.base}/beta/external/") for url in urls)
    assert all("?%24select=id,displayName" in url for url in urls)
    assert parsed.get_response_status_codes() == {"0": 200, "1": 200, "2": 200}
    for index in range(3):
        item = parsed.get_response_by_id(str(index))
        assert item is not None
        assert item.content_type is not None
        assert item.content_type.startswith(JSON)
    bodies = [raw[str(index)]["body"] for index in range(3)]
    assert [body["displayName"] for body in bodies] == names
    assert [body["id"] for body in bodies] == ids


def test_a_dependent_pair_and_a_failed_dependency(server: Server) -> None:
    async def write() -> tuple[BatchResponseContent, dict[str, dict[str, Any]]]:
        async with _adapter(server) as adapter:
            content = BatchRequestContent()
            create = BatchRequestItem(_create_run(adapter, "made in a batch"), id="create")
            content.add_request(create.id, create)
            counting = _request(adapter, Method.GET, RUNS_TEMPLATE + "/%24count")
            count = BatchRequestItem(counting, id="count", depends_on=[create])
            content.add_request(count.id, count)
            missing = _get_run(adapter, "00000000-0000-0000-0000-00000000dead")
            content.add_request("missing", BatchRequestItem(missing, id="missing"))
            never = _create_run(adapter, "never")
            after = BatchRequestItem(never, id="after", depends_on=["missing"])
            content.add_request(after.id, after)
            return await _send(adapter, content)

    before = int(httpx.get(f"{server.base}{HUB}/runs/$count", headers=AUTH).text)
    parsed, raw = asyncio.run(write())
    sent = {request["id"]: request for request in raw["sent"]["requests"]}
    assert sent["count"]["depends_on"] == ["create"]
    statuses = parsed.get_response_status_codes()
    # The pair is sent twice (parsed, then raw): two runs made, each counted after its create.
    assert statuses == {"create": 201, "count": 200, "missing": 404, "after": 424}
    count = parsed.get_response_stream_by_id("count")
    assert count is not None
    assert int(count.read()) == before + 1
    assert raw["count"]["body"] == base64.b64encode(str(before + 2).encode()).decode()
    assert raw["create"]["body"]["displayName"] == "made in a batch"
    assert raw["after"]["body"]["error"]["code"] == "failedDependency"
    after_count = int(httpx.get(f"{server.base}{HUB}/runs/$count", headers=AUTH).text)
    assert after_count == before + 2
