"""Schemathesis drives every operation of ``/openapi.json`` with a valid token.

No answer may be a 5xx, and every answer must match the document: its status is declared, its
content type is the declared one and its body validates against the declared schema. The
examples are derived from a fixed seed, so CI runs the same requests every time; ``make fuzz``
runs many more.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.testclient import TestClient

from flowruns import __version__
from flowruns.api.app import create_app
from flowruns.edm.industrydata import HUB_PATH
from flowruns.edm.openapi import openapi_document
from flowruns.settings import Settings
from tests.api.steps import add_member, create_group, create_process, create_run
from tests.conftest import HUB, bearer

# Per operation; about 35 operations, so CI sends more than a thousand requests.
EXAMPLES = int(os.environ.get("FLOWRUNS_FUZZ_EXAMPLES", "40"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass
class Fuzzed:
    """The server under test, a client that keeps it started, and a read-write token."""

    session: Any
    auth: dict[str, str]


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    """A server with a little data of each kind, and a read-write token for it."""
    data_dir = tmp_path_factory.mktemp("fuzz") / "data"
    server_settings = Settings(data_dir=data_dir, secret_key="fuzz-secret")
    server_settings.rate_limit_per_second = 0  # the fuzzer is one client sending fast
    app = create_app(server_settings)
    auth = bearer(server_settings)
    with TestClient(app, base_url="http://testserver", headers=auth) as client:
        process = create_process(client, "fuzzed process")
        run = create_run(client, "fuzzed run", collection=f"{HUB}/processes/{process['id']}/runs")
        group = create_group(client, "fuzzed group")
        add_member(client, group["id"], run["id"])
        with asgi.get_client(app) as session:  # type: ignore[arg-type]
            yield Fuzzed(session, auth)


schema = schemathesis.openapi.from_dict(openapi_document("flowruns", __version__))


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
    case.call_and_validate(session=fuzzed.session, headers=fuzzed.auth, checks=CHECKS)


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
    assert "<script" not in page.text
    assert "https://" not in page.text
