"""``/docs`` as a reader uses it: each body and response shown inline with an example, and a
curl line per operation that works when pasted into a shell."""

from __future__ import annotations

import html
import os
import re
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest
from starlette.testclient import TestClient

from flowruns import __version__
from flowruns.api.routes import ROUTES
from flowruns.dashboard.routes import CONTENT_SECURITY_POLICY
from flowruns.edm.openapi import openapi_document
from tests.api.steps import DATA_SHARE
from tests.conftest import HUB
from tests.servers import AUTH, Server, running
from tests.webhooks import Receiver, start_receiver

DOCUMENT = openapi_document("flowruns", __version__, ROUTES.described())
CURL = re.compile(r'<pre class="curl" tabindex="0"><code>(.*?)</code></pre>', re.DOTALL)
OPERATION = re.compile(r'<details class="op" id="op-[^"]*">.*?</details>', re.DOTALL)


def _operation(page: str, method: str, path: str) -> str:
    """The HTML of one operation's entry."""
    code = f"<code>/beta{html.escape(path)}</code>"
    summary = f'<span class="m {method}">{method.upper()}</span> {code}'
    [entry] = [entry for entry in OPERATION.findall(page) if summary in entry]
    return str(entry)


def test_a_request_body_is_shown_inline_with_its_members_and_an_example(
    client: TestClient,
) -> None:
    del client.headers["Authorization"]
    page = client.get("/docs").text
    assert '"$ref"' not in page
    assert "#/components/schemas" not in page
    create = _operation(page, "post", "/external/industryData/processes")
    body = create[create.index("<h3>Request body</h3>") : create.index("<h3>Responses</h3>")]
    for member in ("@odata.type", "displayName", "readinessStatus", "shareName", "sharingState"):
        assert f"<code>{member}</code>" in body
    assert "<code>dataShareOutgoingFlow</code>" in body or "dataShareOutgoingFlow" in body
    assert "at most" in body  # displayName's length limit
    assert html.escape('"shareName": "nightly-roster"') in body  # the example
    # A response: the created process, its members and nested types resolved, with an example.
    responses = create[create.index("<h3>Responses</h3>") :]
    assert "<h4>201: The created process.</h4>" in responses
    assert "<code>readinessStatus</code>" in responses
    assert html.escape('"inviteeUserIds": [') in responses  # the example, of a data share flow
    # A run's blocking error is a table of its own members inside the run's.
    get_run = _operation(page, "get", "/external/industryData/runs/{run-id}")
    blocking = get_run[get_run.index("<code>blockingError</code>") :]
    assert "<code>innerError</code>" in blocking
    assert html.escape('"status": "completed"') in get_run


def test_every_example_is_valid_for_its_schema() -> None:
    components = DOCUMENT["components"]
    examples = 0
    for name, schema in components["schemas"].items():
        validator = jsonschema_rs.Draft202012Validator(
            {"components": components, "$ref": f"#/components/schemas/{name}"}
        )
        for example in schema.get("examples", []):
            examples += 1
            assert [e.message for e in validator.iter_errors(example)] == [], name
            # Schemas leave room for members they do not name; an example names none but
            # those of its own type (an example of a base type is one of a derived type).
            own = components["schemas"].get(example.get("@odata.type", "#").removeprefix("#"))
            declared = (own or schema).get("properties")
            if declared and not schema.get("additionalProperties"):
                assert set(example) <= set(declared), name
    assert examples >= 10


def test_the_page_loads_nothing_but_this_servers_files(client: TestClient) -> None:
    del client.headers["Authorization"]
    page = client.get("/docs")
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert re.findall(r'<script[^>]*src="([^"]+)"', page.text) == ["/dashboard/docs.js"]
    assert re.findall(r'<link[^>]*href="([^"]+)"', page.text) == ["/dashboard/docs.css"]
    assert "<style" not in page.text
    assert "<script>" not in page.text  # no inline script


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    where = tmp_path_factory.mktemp("reference")
    allow = {"FLOWRUNS_NOTIFICATION_ALLOW_PRIVATE": "1"}  # the receiver is on loopback
    with running(where / "server.log", "--data-dir", str(where / "data"), env=allow) as started:
        yield started


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    started = start_receiver(tmp_path / "notifications.jsonl")
    yield started
    started.stop()


# The examples' receivers and times, replaced by a real receiver's and a time to come.
_EXAMPLE_RECEIVERS = ("http://127.0.0.1:8400/notify", "http://127.0.0.1:8400/lifecycle")
_EXAMPLE_TIMES = ("2026-11-29T18:23:45.9356913Z", "2026-11-30T18:23:45.9356913Z")


def _subscribable(line: str, receiver: Receiver) -> str:
    """A curl line of ``/subscriptions`` whose example body names ``receiver`` and a time an
    hour or two from now."""
    for url in _EXAMPLE_RECEIVERS:
        line = line.replace(url, receiver.url)
    for hours, example in enumerate(_EXAMPLE_TIMES, start=1):
        later = datetime.now(UTC) + timedelta(hours=hours)
        line = line.replace(example, later.isoformat().replace("+00:00", "Z"))
    return line


def _ids(http: httpx.Client, receiver: Receiver) -> dict[str, str]:
    """A process with a run, a group with that run as member, a process with no running
    run, a dataset with a stale incident, and a subscription."""

    def post(path: str, body: dict[str, Any]) -> str:
        response = http.post(f"{HUB}/{path}", json=body)
        assert response.status_code == 201, response.text
        identifier: str = response.json()["id"]
        return identifier

    process = post("processes", {"@odata.type": DATA_SHARE, "displayName": "curl test"})
    group = post("runGroups", {"displayName": "curl test group"})
    incident = _incident(http, process)
    run = _member_run(http, process, group)
    accesses = {
        side: http.post(f"{HUB}/runs/{run}/{side}s", json={"name": "warehouse.orders"}).json()
        for side in ("input", "output")
    }
    dataset = accesses["output"]["datasetId"]
    return {
        "DATASET_ID": dataset,
        "STALE_INCIDENT_ID": _stale_incident(http, dataset),
        "INPUT_ID": accesses["input"]["id"],
        "OUTPUT_ID": accesses["output"]["id"],
        "INCIDENT_ID": incident,
        "PROCESS_ID": process,
        "RUN_ID": run,
        "RUN_GROUP_ID": group,
        "SPARE_PROCESS_ID": post("processes", {"@odata.type": DATA_SHARE, "displayName": "x"}),
        "SUBSCRIPTION_ID": _subscription(http, receiver),
    }


def _incident(http: httpx.Client, process: str) -> str:
    """An incident of ``process``: a run overdue a second after it started, found by the
    server's own evaluation."""
    expectation = http.put(f"{HUB}/processes/{process}/expectation", json={"maxDuration": "PT1S"})
    assert expectation.status_code == 201, expectation.text
    started = datetime.now(UTC) + timedelta(milliseconds=10)
    body = {"displayName": "overdue", "startDateTime": started.isoformat()}
    assert http.post(f"{HUB}/processes/{process}/runs", json=body).status_code == 201
    return _first_opened(http, f"{HUB}/incidents")


def _stale_incident(http: httpx.Client, dataset: str) -> str:
    """An incident of ``dataset``, never written and expected every second: stale, found by the
    server's own evaluation."""
    expectation = http.put(f"{HUB}/datasets/{dataset}/expectation", json={"writtenEvery": "PT1S"})
    assert expectation.status_code == 201, expectation.text
    return _first_opened(http, f"{HUB}/datasets/{dataset}/incidents")


def _first_opened(http: httpx.Client, url: str) -> str:
    """The id of the first incident at ``url``, once the server's evaluation has opened one."""
    deadline = time.monotonic() + 60
    while True:
        found = http.get(url).json()["value"]
        if found:
            return str(found[0]["id"])
        assert time.monotonic() < deadline, f"no incident was opened at {url}"
        time.sleep(0.5)


def _subscription(http: httpx.Client, receiver: Receiver) -> str:
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    body = {
        "changeType": "created",
        "notificationUrl": receiver.url,
        "resource": "external/industryData/runs",
        "expirationDateTime": later,
    }
    response = http.post("/beta/subscriptions", json=body)
    assert response.status_code == 201, response.text
    identifier: str = response.json()["id"]
    return identifier


def _member_run(http: httpx.Client, process: str, group: str) -> str:
    """A new run of ``process`` that is a member of ``group``."""
    response = http.post(f"{HUB}/processes/{process}/runs", json={"displayName": "curl test run"})
    assert response.status_code == 201, response.text
    run: str = response.json()["id"]
    member = http.post(
        f"{HUB}/runGroups/{group}/runs/$ref",
        json={"@odata.id": f"external/industryData/runs/{run}"},
    )
    assert member.status_code == 204, member.text
    return run


# Reads first, then writes, then removals: links, then runs (each its own), then the group, then
# a process: the order in which every line can succeed on one set of entities.
_ORDER = {"get": 0, "post": 1, "put": 1, "patch": 2, "delete": 3}


def _sequence(path: str, method: str) -> tuple[int, int]:
    if method != "delete":
        return _ORDER[method], 0
    if path.endswith("$ref"):
        return 3, 0
    return 3, 1 if path.endswith("{run-id}") else 2 if path.endswith("{runGroup-id}") else 3


def test_every_curl_line_works_as_pasted(
    server: Server, tmp_path: Path, receiver: Receiver
) -> None:
    page = httpx.get(f"{server.base}/docs").text
    lines = {}
    for entry in OPERATION.findall(page):
        found = re.search(r'<span class="m (\w+)">\w+</span> <code>/beta([^<]*)</code>', entry)
        [curl] = CURL.findall(entry)
        assert found, entry[:200]
        lines[(html.unescape(found[2]), found[1])] = html.unescape(curl)
    assert len(lines) == sum(len(methods) for methods in DOCUMENT["paths"].values())
    with httpx.Client(base_url=server.base, headers=AUTH) as http:
        ids = _ids(http, receiver)
        environment = {**os.environ, "TOKEN": AUTH["Authorization"].removeprefix("Bearer "), **ids}
        for path, method in sorted(lines, key=lambda key: _sequence(*key)):
            line = lines[(path, method)]
            if path.startswith("/subscriptions"):
                line = _subscribable(line, receiver)
            assert line.startswith("curl -s ")
            assert f'"{server.base}/beta' in line
            env = dict(environment)
            # A run's input is an access below inputs or reads; its output below the others.
            read = "/inputs/" in path or "/reads/" in path
            env["DATASET_ACCESS_ID"] = ids["INPUT_ID" if read else "OUTPUT_ID"]
            if "/datasets/" in path or path.endswith("/dataset"):
                env["INCIDENT_ID"] = ids["STALE_INCIDENT_ID"]  # a dataset's incident
            if method == "delete" and path.endswith("{process-id}"):
                env["PROCESS_ID"] = ids["SPARE_PROCESS_ID"]  # a process may be deleted once idle
            elif method == "delete" and path.endswith("{run-id}"):
                # Each of the paths that delete a run deletes a run of its own.
                env["RUN_ID"] = _member_run(http, ids["PROCESS_ID"], ids["RUN_GROUP_ID"])
            # As pasted into bash, then asked for the status alone.
            result = subprocess.run(
                ["bash", "-c", f"{line} -o /dev/null -w '%{{http_code}}'"],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            )
            documented = DOCUMENT["paths"][path][method]["responses"]
            success = [code for code in documented if code.startswith("2")]
            assert result.stdout in success, (method, path, line, result.stdout)
