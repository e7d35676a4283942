"""How many requests naming a run or a process costs: none for a whole id, one otherwise."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from flowruns.cli import lookup
from flowruns.client import Client

NS = "#microsoft.graph.industryData"


def _client(found: list[dict[str, Any]], sent: list[httpx.Request]) -> Client:
    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"value": found})

    return Client("http://flowruns.test/beta", "token", transport=httpx.MockTransport(answer))


def test_a_whole_run_id_needs_no_lookup() -> None:
    sent: list[httpx.Request] = []
    whole = str(uuid.uuid4())
    with _client([], sent) as client:
        assert lookup.run_id(client, whole) == whole
    assert sent == []


def test_a_prefix_is_one_query_for_two_matches_at_most() -> None:
    sent: list[httpx.Request] = []
    run = {"@odata.type": f"{NS}.outgoingFlowRun", "id": "13dea4c0-8ff3-47b1-95d0-ab14c0000000"}
    with _client([run], sent) as client:
        assert lookup.run_id(client, "13dea4") == run["id"]
    [request] = sent
    assert request.url.params["$filter"] == "startswith(id,'13dea4')"
    assert request.url.params["$top"] == "2"


def test_two_matches_are_ambiguous_and_listed() -> None:
    sent: list[httpx.Request] = []
    found = [
        {"@odata.type": f"{NS}.insightsOutgoingFlow", "id": f"ab{i}", "displayName": f"flow {i}"}
        for i in range(2)
    ]
    with _client(found, sent) as client, pytest.raises(lookup.NotOne) as raised:
        lookup.process_id(client, "ab")
    assert str(raised.value) == (
        "more than one process is named 'ab' or has an id starting with 'ab': "
        "ab0 (flow 0); ab1 (flow 1); name it by more of its id"
    )
    [request] = sent
    assert request.url.params["$filter"] == "displayName eq 'ab' or startswith(id,'ab')"
