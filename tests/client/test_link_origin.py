"""Both clients follow a nextLink only to the origin of their own service root: a link to another
scheme, host or port is refused before anything, the token least of all, is sent there."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from flowruns.client import AsyncClient, Client, ForeignLinkError, RetryPolicy, Run

SERVICE_ROOT = "https://runs.example.com/beta"
TOKEN = "secret-bearer-token"
RUNS = "external/industryData/runs"
RUN = {"@odata.type": "#microsoft.graph.industryData.outgoingFlowRun", "id": "r1"}

FOREIGN = [
    f"https://attacker.example/beta/{RUNS}?$skiptoken=t",
    f"http://runs.example.com/beta/{RUNS}?$skiptoken=t",  # the same host without TLS
    f"https://runs.example.com:8443/beta/{RUNS}?$skiptoken=t",
    f"//attacker.example/beta/{RUNS}?$skiptoken=t",  # scheme-relative: another host all the same
    f"HTTPS://RUNS.EXAMPLE.COM.attacker.example/beta/{RUNS}?$skiptoken=t",
]
SAME_ORIGIN = [
    f"https://runs.example.com/beta/{RUNS}?$skiptoken=t",
    f"https://RUNS.example.com:443/beta/{RUNS}?$skiptoken=t",
    f"{RUNS}?$skiptoken=t",  # relative to the service root
]


class FakeService:
    """Answers the first page with ``next_link`` and every later request with a last page;
    remembers every request that left the client."""

    def __init__(self, next_link: str) -> None:
        self.next_link = next_link
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if "$skiptoken" in request.url.params:
            return httpx.Response(200, json={"value": [RUN]})
        return httpx.Response(200, json={"value": [RUN], "@odata.nextLink": self.next_link})

    def origins(self) -> set[tuple[str, str, int | None]]:
        return {(r.url.scheme, r.url.host, r.url.port) for r in self.requests}


def _list_sync(service: FakeService) -> list[Run]:
    transport = httpx.MockTransport(service)
    with Client(SERVICE_ROOT, TOKEN, transport=transport, retry=RetryPolicy(attempts=1)) as client:
        return list(client.runs.list())


def _list_async(service: FakeService) -> list[Run]:
    async def scenario() -> list[Run]:
        transport = httpx.MockTransport(service)
        async with AsyncClient(
            SERVICE_ROOT, TOKEN, transport=transport, retry=RetryPolicy(attempts=1)
        ) as client:
            return [run async for run in client.runs.list()]

    return asyncio.run(scenario())


CLIENTS: dict[str, Callable[[FakeService], list[Run]]] = {
    "sync": _list_sync,
    "async": _list_async,
}


@pytest.mark.parametrize("link", FOREIGN)
@pytest.mark.parametrize("kind", list(CLIENTS))
def test_a_next_link_to_another_origin_is_refused_and_never_requested(kind: str, link: str) -> None:
    service = FakeService(link)
    with pytest.raises(ForeignLinkError) as raised:
        CLIENTS[kind](service)
    assert service.origins() == {("https", "runs.example.com", None)}
    assert len(service.requests) == 1  # the first page only
    assert "runs.example.com" in str(raised.value)
    assert TOKEN not in str(raised.value)


@pytest.mark.parametrize("link", SAME_ORIGIN)
@pytest.mark.parametrize("kind", list(CLIENTS))
def test_a_next_link_on_the_service_origin_is_followed(kind: str, link: str) -> None:
    service = FakeService(link)
    assert len(CLIENTS[kind](service)) == 2
    assert len(service.requests) == 2
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r in service.requests)


def test_next_page_refuses_a_foreign_link_too() -> None:
    service = FakeService(FOREIGN[0])
    transport = httpx.MockTransport(service)
    with Client(SERVICE_ROOT, TOKEN, transport=transport) as client:
        page = client.runs.page()
        with pytest.raises(ForeignLinkError):
            client.runs.next_page(page)
    assert len(service.requests) == 1
