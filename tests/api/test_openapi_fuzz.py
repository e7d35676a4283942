"""Schemathesis drives every operation of ``/openapi.json`` with a valid token.

No answer may be a 5xx (but the 501 of a Microsoft Graph member flowruns does not implement,
which a path parameter can name: ``runGroups/{id}/runs/start`` is Graph's ``start`` action), and
every answer must match the document: its status is declared, its
content type is the declared one and its body validates against the declared schema. The
examples are derived from a fixed seed, so CI runs the same requests every time; ``make fuzz``
runs many more.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.testclient import TestClient

from flowruns import __version__
from flowruns.api.routes import ROUTES
from flowruns.edm.industrydata import HUB_PATH
from flowruns.edm.openapi import openapi_document
from flowruns.errors import NotSupported
from flowruns.odata import path as paths
from tests.api.steps import INSIGHTS
from tests.conftest import HUB
from tests.servers import AUTH, running

# Per operation; about 35 operations, so CI sends more than a thousand requests.
EXAMPLES = int(os.environ.get("FLOWRUNS_FUZZ_EXAMPLES", "30"))


def not_a_server_error_but_graph_only(
    ctx: Any, response: Any, case: schemathesis.Case[Any]
) -> bool | None:
    """``not_a_server_error``, except the 501 of a path that resolves to a Graph member that
    flowruns declares it does not implement."""
    if response.status_code == 501:
        below_root = urlsplit(response.request.url).path.removeprefix("/beta/")
        try:
            paths.resolve(below_root)
        except NotSupported:
            return None
    result: bool | None = not_a_server_error(ctx, response, case)
    return result


CHECKS = [
    not_a_server_error_but_graph_only,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass
class Fuzzed:
    """The server under test (a real process), a session to it and a read-write token."""

    base_url: str
    session: requests.Session


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    """A server with a little data of each kind."""
    where = tmp_path_factory.mktemp("fuzz")
    # The fuzzer is one client sending as fast as it can: no rate limit.
    env = {"FLOWRUNS_RATE_LIMIT": "0"}
    with (
        running(where / "server.log", "--data-dir", str(where / "data"), env=env) as server,
        httpx.Client(base_url=server.base, headers=AUTH) as client,
        requests.Session() as session,
    ):
        process = client.post(
            f"{HUB}/processes", json={"@odata.type": INSIGHTS, "displayName": "p"}
        )
        runs = f"{HUB}/processes/{process.json()['id']}/runs"
        run = client.post(runs, json={"displayName": "fuzzed run"}).json()
        group = client.post(f"{HUB}/runGroups", json={"displayName": "fuzzed group"}).json()
        member = {"@odata.id": f"{server.base}{HUB}/runs/{run['id']}"}
        client.post(f"{HUB}/runGroups/{group['id']}/runs/$ref", json=member)
        session.headers.update(AUTH)
        yield Fuzzed(f"{server.base}/beta", session)


schema = schemathesis.openapi.from_dict(
    openapi_document("flowruns", __version__, ROUTES.described())
)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented(
    case: schemathesis.Case[Any], fuzzed: Fuzzed
) -> None:
    case.call_and_validate(base_url=fuzzed.base_url, session=fuzzed.session, checks=CHECKS)


def test_the_description_and_its_page_need_no_token_and_nothing_online(client: TestClient) -> None:
    del client.headers["Authorization"]
    document = client.get("/openapi.json")
    assert document.status_code == 200
    assert document.json()["openapi"] == "3.1.0"
    assert f"/{HUB_PATH}/runs/{{run-id}}" in document.json()["paths"]
    page = client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert f"/beta/{HUB_PATH}/runGroups/{{runGroup-id}}/runs/$ref" in page.text
    assert "https://" not in page.text
