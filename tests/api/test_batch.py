"""JSON batching (``POST /beta/$batch``), as Microsoft Graph does it: up to 20 requests, each
answered exactly as if it had been sent alone with the batch's token, ordered only by
``dependsOn``, a failed dependency answering ``424``; a malformed batch is one 400 and runs
nothing."""

from __future__ import annotations

import base64
import json
import logging
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from flowruns.api.app import create_app
from flowruns.api.batch import read_batch
from flowruns.auth.scopes import FLOW_READ_WRITE, RUN_READ, RUN_READ_WRITE
from flowruns.edm.capabilities import MAX_BATCH_REQUESTS
from flowruns.errors import InvalidRequest
from flowruns.settings import Settings
from tests.api import forged
from tests.api.steps import (
    BASE_URL,
    INSIGHTS,
    JSON_CONTENT_TYPE,
    OUTGOING,
    assert_error,
    count,
    create_process,
    create_run,
    finished_run,
    get_json,
    run_url,
)
from tests.conftest import HUB, ROOT, bearer

BATCH = f"{ROOT}/$batch"
RUNS = "/external/industryData/runs"
OTHER_TENANT = "00000000-0000-0000-0000-0000000000b2"
JSON_HEADERS = {"Content-Type": "application/json"}
# The address the guides show.
DOCS_URL = "http://127.0.0.1:8000"


def _get(request_id: str, url: str, **extra: Any) -> dict[str, Any]:
    return {"id": request_id, "method": "GET", "url": url, **extra}


def _write(request_id: str, method: str, url: str, body: Any, **extra: Any) -> dict[str, Any]:
    request = {"id": request_id, "method": method, "url": url, "body": body}
    return {**request, "headers": JSON_HEADERS, **extra}


def _new_run(request_id: str, name: str, **extra: Any) -> dict[str, Any]:
    body = {"@odata.type": OUTGOING, "displayName": name}
    return {**_write(request_id, "POST", RUNS, body), **extra}


def batch(
    client: TestClient, requests: list[dict[str, Any]], **kwargs: Any
) -> dict[str, dict[str, Any]]:
    """POST the batch, assert 200, and return its responses by id (checking each answers once)."""
    response = client.post(BATCH, json={"requests": requests}, **kwargs)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == JSON_CONTENT_TYPE
    answers = response.json()["responses"]
    by_id = {answer["id"]: answer for answer in answers}
    assert sorted(by_id) == sorted(r["id"] for r in requests)
    return by_id


def text(answer: dict[str, Any]) -> str:
    """A non-JSON body of a batch's answer (base64, as Graph writes it) as its text."""
    return base64.b64decode(answer["body"]).decode()


def assert_item_error(answer: dict[str, Any], status: int, code: str) -> dict[str, Any]:
    assert answer["status"] == status, answer
    assert answer["headers"]["content-type"] == JSON_CONTENT_TYPE
    error: dict[str, Any] = answer["body"]["error"]
    assert error["code"] == code
    assert error["innerError"]["request-id"] == answer["headers"]["request-id"]
    return error


# -- what a batch answers -------------------------------------------------------------------


def test_reads_and_writes_in_one_batch_answer_as_they_would_alone(client: TestClient) -> None:
    first, second = create_run(client, "first"), create_run(client, "second")
    answers = batch(
        client,
        [
            _get("1", f"{RUNS}/{first['id']}"),
            _get("2", f"{RUNS}/{second['id']}?$select=displayName"),
            _get("3", f"{RUNS}/$count"),
            _new_run("4", "made in a batch"),
            # Only dependsOn orders requests: the writes wait for the reads of what they change.
            {
                **_write("5", "PATCH", f"{RUNS}/{first['id']}", {"displayName": "renamed"}),
                "dependsOn": ["1"],
            },
            {
                "id": "6",
                "method": "DELETE",
                "url": f"{RUNS}/{second['id']}",
                "dependsOn": ["2", "3"],
            },
        ],
    )
    alone = client.get(run_url(first["id"]))
    assert answers["1"]["status"] == 200
    assert answers["1"]["body"]["id"] == first["id"]
    assert answers["1"]["body"]["@odata.context"] == alone.json()["@odata.context"]
    assert answers["1"]["headers"]["content-type"] == JSON_CONTENT_TYPE
    assert answers["1"]["headers"]["odata-version"] == "4.0"
    # A request of a batch negotiates no encoding: the compression layer's Vary is not its own.
    assert "vary" not in answers["1"]["headers"]
    assert answers["2"]["body"]["displayName"] == "second"
    assert "statistics" not in answers["2"]["body"]
    assert answers["3"]["status"] == 200
    assert answers["3"]["headers"]["content-type"].startswith("text/plain")
    assert text(answers["3"]) in ("2", "3")  # the count runs beside the create
    created = answers["4"]
    assert created["status"] == 201
    assert created["headers"]["location"].endswith(f"/runs/{created['body']['id']}")
    assert created["headers"]["location"].startswith(f"{BASE_URL}{ROOT}/")
    assert created["headers"]["etag"] == created["body"]["@odata.etag"]
    assert answers["5"]["status"] == 200
    assert answers["5"]["body"]["displayName"] == "renamed"
    assert answers["6"] == {"id": "6", "status": 204, "headers": answers["6"]["headers"]}
    # The writes happened, once each.
    assert get_json(client, run_url(first["id"]))["displayName"] == "renamed"
    assert client.get(run_url(second["id"])).status_code == 404
    assert get_json(client, run_url(created["body"]["id"]))["displayName"] == "made in a batch"
    assert count(client, "runs") == 2


def test_each_request_has_its_own_request_id_and_the_batch_client_request_id(
    client: TestClient,
) -> None:
    run = create_run(client)
    answers = batch(
        client,
        [
            _get("a", f"{RUNS}/{run['id']}"),
            _get("b", f"{RUNS}/{uuid.uuid4()}"),
            _get("c", f"{RUNS}/{run['id']}", headers={"client-request-id": "own-id"}),
        ],
        headers={"client-request-id": "batch-id"},
    )
    request_ids = {answer["headers"]["request-id"] for answer in answers.values()}
    assert len(request_ids) == 3
    assert answers["a"]["headers"]["client-request-id"] == "batch-id"
    error = assert_item_error(answers["b"], 404, "itemNotFound")
    assert error["innerError"]["client-request-id"] == "batch-id"
    assert answers["c"]["headers"]["client-request-id"] == "own-id"


def test_a_non_json_answer_is_base64(client: TestClient) -> None:
    answers = batch(client, [_get("count", f"{RUNS}/$count"), _get("csdl", "/$metadata")])
    assert text(answers["count"]) == "0"
    assert answers["csdl"]["headers"]["content-type"] == "application/xml"
    csdl = base64.b64decode(answers["csdl"]["body"])
    assert csdl == client.get(f"{ROOT}/$metadata").content


def test_a_request_without_a_body_has_none_in_its_answer(client: TestClient) -> None:
    run = create_run(client)
    answers = batch(client, [{"id": "1", "method": "DELETE", "url": f"{RUNS}/{run['id']}"}])
    assert answers["1"]["status"] == 204
    assert "body" not in answers["1"]
    assert "content-length" not in answers["1"]["headers"]


# -- the batch itself -------------------------------------------------------------------------


def test_twenty_requests_are_a_batch_and_twenty_one_are_refused_whole(client: TestClient) -> None:
    requests = [_new_run(str(n), f"run {n}") for n in range(MAX_BATCH_REQUESTS + 1)]
    refused = client.post(BATCH, json={"requests": requests})
    assert_error(refused, 400, "invalidRequest", "requests")
    assert "20" in refused.json()["error"]["message"]
    assert count(client, "runs") == 0
    answers = batch(client, requests[:MAX_BATCH_REQUESTS])
    assert {answer["status"] for answer in answers.values()} == {201}
    assert count(client, "runs") == MAX_BATCH_REQUESTS


@pytest.mark.parametrize(
    ("requests", "target"),
    [
        ([_new_run("1", "a"), _new_run("1", "b")], "id"),
        ([_new_run("A", "a"), _new_run("a", "b")], "id"),  # ids compare without case
        ([_new_run("1", "a"), _new_run("2", "b", dependsOn=["3"])], "dependsOn"),
        ([_new_run("1", "a", dependsOn=["2"]), _new_run("2", "b", dependsOn=["1"])], None),
        ([_new_run("1", "a", dependsOn=["1"])], None),
        ([_new_run("1", "a", dependsOn=["2"], depends_on=["2"]), _new_run("2", "b")], None),
        ([_new_run("1", "a", dependsOn="2"), _new_run("2", "b")], None),
        ([_new_run("1", "a"), {"id": "2", "method": "GET"}], "requests[1].url"),
        ([_new_run("1", "a"), {"method": "GET", "url": RUNS}], "requests[1].id"),
        ([_new_run("1", "a"), {"id": 2, "method": "GET", "url": RUNS}], "requests[1].id"),
        ([_new_run("1", "a"), _get("2", RUNS, method="OPTIONS")], "requests[1].method"),
        ([_new_run("1", "a"), _get("2", RUNS, headers=["x"])], "requests[1].headers"),
        ([_new_run("1", "a"), _get("2", RUNS, headers={"Prefer": 5})], "requests[1].headers"),
        (
            [_new_run("1", "a"), _get("2", RUNS, headers={"Prefer": "a\r\nb"})],
            "requests[1].headers",
        ),
        ([{"id": "1", "method": "POST", "url": RUNS, "body": {"displayName": "x"}}], None),
        ([_new_run("1", "a"), "GET /runs"], "requests[1]"),
        ([], "requests"),
    ],
)
def test_a_malformed_batch_is_one_400_and_runs_nothing(
    client: TestClient, requests: list[Any], target: str | None
) -> None:
    response = client.post(BATCH, json={"requests": requests})
    error = assert_error(response, 400, "invalidRequest")
    if target is not None:
        assert error["target"].startswith(target), error
    assert count(client, "runs") == 0


@pytest.mark.parametrize(
    "body", [b"{", b"[]", b'{"requests": {}}', b'{"request": []}', b'"requests"']
)
def test_a_batch_that_is_not_a_batch_object_is_400(client: TestClient, body: bytes) -> None:
    response = client.post(BATCH, content=body, headers=JSON_HEADERS)
    assert_error(response, 400, "invalidRequest")


def test_a_batch_is_json_within_the_body_limit(settings: Settings) -> None:
    settings.max_body_bytes = 2000
    with TestClient(create_app(settings), headers=bearer(settings)) as client:
        name = "x" * 3000
        too_large = client.post(BATCH, json={"requests": [_new_run("1", name)]})
        assert_error(too_large, 413, "requestEntityTooLarge")
        form = client.post(BATCH, content=b"requests=", headers={"Content-Type": "text/plain"})
        assert_error(form, 415, "unsupportedMediaType")
        assert count(client, "runs") == 0


def test_batch_answers_only_post(client: TestClient) -> None:
    for method in ("GET", "PUT", "PATCH", "DELETE"):
        response = client.request(method, BATCH)
        assert_error(response, 405, "notAllowed")
        assert response.headers["Allow"] == "POST"


def test_a_batch_needs_a_valid_token(client: TestClient) -> None:
    response = client.post(
        BATCH, json={"requests": [_new_run("1", "a")]}, headers={"Authorization": "Bearer no"}
    )
    assert_error(response, 401, "InvalidAuthenticationToken")
    assert count(client, "runs") == 0


def test_a_batch_inside_a_batch_is_refused_for_that_request(client: TestClient) -> None:
    inner = {"requests": [_new_run("1", "inner")]}
    answers = batch(client, [_write("outer", "POST", "/$batch", inner), _new_run("2", "outer")])
    assert_item_error(answers["outer"], 400, "invalidRequest")
    assert answers["2"]["status"] == 201
    assert count(client, "runs") == 1


# -- dependsOn ------------------------------------------------------------------------------


def test_depends_on_orders_requests(client: TestClient) -> None:
    """Each read sees the write it depends on, and each write the read before it: a chain
    that only holds when the requests run in that order."""
    run = create_run(client, "start")
    url = f"{RUNS}/{run['id']}"
    requests = []
    for step in range(5):
        previous = [f"read {step - 1}"] if step else []
        change = {"displayName": f"step {step}"}
        requests.append(_write(f"write {step}", "PATCH", url, change, dependsOn=previous))
        requests.append(_get(f"read {step}", url, dependsOn=[f"write {step}"]))
    answers = batch(client, list(reversed(requests)))
    for step in range(5):
        assert answers[f"read {step}"]["body"]["displayName"] == f"step {step}"


def test_a_failed_dependency_answers_424_down_the_chain_and_runs_nothing(
    client: TestClient,
) -> None:
    answers = batch(
        client,
        [
            _get("missing", f"{RUNS}/{uuid.uuid4()}"),
            _new_run("after missing", "never", dependsOn=["missing"]),
            _new_run("after that", "never either", dependsOn=["after missing"]),
            _new_run("independent", "runs anyway"),
            _new_run("after independent", "runs too", dependsOn=["independent"]),
        ],
    )
    assert_item_error(answers["missing"], 404, "itemNotFound")
    failed = assert_item_error(answers["after missing"], 424, "failedDependency")
    assert "missing" in failed["message"]
    assert_item_error(answers["after that"], 424, "failedDependency")
    assert answers["independent"]["status"] == 201
    assert answers["after independent"]["status"] == 201
    names = {run["displayName"] for run in get_json(client, f"{HUB}/runs")["value"]}
    assert names == {"runs anyway", "runs too"}


def test_depends_on_as_microsofts_python_client_spells_it(client: TestClient) -> None:
    answers = batch(
        client,
        [
            _get("missing", f"{RUNS}/{uuid.uuid4()}"),
            _new_run("2", "never", depends_on=["missing"]),
        ],
    )
    assert_item_error(answers["2"], 424, "failedDependency")
    assert count(client, "runs") == 0


def test_a_dependency_on_several_requests_waits_for_all(client: TestClient) -> None:
    process = create_process(client)
    answers = batch(
        client,
        [
            _new_run("a", "a"),
            _new_run("b", "b"),
            _get("all", f"{RUNS}/$count", dependsOn=["a", "b"]),
            _get("bad", "/external/industryData/processes/not-a-guid-at-all"),
            _get(
                "some", f"/external/industryData/processes/{process['id']}", dependsOn=["a", "bad"]
            ),
        ],
    )
    assert text(answers["all"]) == "2"
    assert answers["some"]["status"] == 424


# -- security: exactly what the requests could do alone ------------------------------------


def test_another_tenants_ids_answer_as_missing_ones_inside_a_batch(settings: Settings) -> None:
    with TestClient(create_app(settings), headers=bearer(settings, tenant=OTHER_TENANT)) as other:
        theirs = create_run(other, "tenant-b run")
        their_process = create_process(other, "tenant-b process")
    with TestClient(create_app(settings), headers=bearer(settings)) as client:
        missing = str(uuid.uuid4())
        requests = []
        for label, run_id in (("theirs", theirs["id"]), ("missing", missing)):
            url = f"{RUNS}/{run_id}"
            requests += [
                _get(f"get {label}", url),
                _write(f"patch {label}", "PATCH", url, {"displayName": "mine now"}),
                {"id": f"delete {label}", "method": "DELETE", "url": url},
                _get(f"process {label}", f"{url}/process"),
            ]
        bound = {
            "@odata.type": OUTGOING,
            "displayName": "bound",
            "process@odata.bind": f"external/industryData/processes/{their_process['id']}",
        }
        requests.append(_write("bind theirs", "POST", RUNS, bound))
        answers = batch(client, requests)
        for what in ("get", "patch", "delete", "process"):
            theirs_answer, missing_answer = answers[f"{what} theirs"], answers[f"{what} missing"]
            assert theirs_answer["status"] == missing_answer["status"] == 404, what
            message = theirs_answer["body"]["error"]["message"].replace(theirs["id"], missing)
            assert message == missing_answer["body"]["error"]["message"]
        assert answers["bind theirs"]["status"] in (400, 404)
        assert count(client, "runs") == 0
    with TestClient(create_app(settings), headers=bearer(settings, tenant=OTHER_TENANT)) as other:
        assert get_json(other, run_url(theirs["id"]))["displayName"] == "tenant-b run"


def test_a_permission_missing_for_one_request_refuses_that_request_only(
    settings: Settings,
) -> None:
    run_reader = bearer(settings, scopes=(RUN_READ, FLOW_READ_WRITE))
    with TestClient(create_app(settings), headers=bearer(settings)) as client:
        run = create_run(client, "existing")
        answers = batch(
            client,
            [
                _get("read", f"{RUNS}/{run['id']}"),
                _new_run("create", "refused"),
                _write("patch", "PATCH", f"{RUNS}/{run['id']}", {"displayName": "refused"}),
                _write(
                    "process",
                    "POST",
                    "/external/industryData/processes",
                    {"@odata.type": INSIGHTS, "displayName": "allowed"},
                ),
            ],
            headers=run_reader,
        )
        assert answers["read"]["status"] == 200
        assert_item_error(answers["create"], 403, "accessDenied")
        assert_item_error(answers["patch"], 403, "accessDenied")
        assert answers["process"]["status"] == 201
        assert get_json(client, run_url(run["id"]))["displayName"] == "existing"
        assert count(client, "runs") == 1


def test_an_authorization_header_inside_a_request_is_not_used(settings: Settings) -> None:
    other = bearer(settings, tenant=OTHER_TENANT, scopes=(RUN_READ_WRITE,))
    reader = bearer(settings, scopes=(RUN_READ,))
    with TestClient(create_app(settings), headers=reader) as client:
        answers = batch(client, [_new_run("1", "x", headers={**JSON_HEADERS, **other})])
        assert_item_error(answers["1"], 403, "accessDenied")


def test_each_request_counts_against_the_rate_limit(settings: Settings) -> None:
    """The batch counts as one request at the auth wall and each of its requests as one more."""
    settings.rate_limit_per_second = 0.01
    settings.rate_limit_burst = 4
    with TestClient(create_app(settings)) as client:
        token = forged.bearer_header(forged.signed(settings, forged.claims(appid="batcher")))
        answers = batch(client, [_get(str(n), f"{RUNS}/$count") for n in range(5)], headers=token)
        statuses = sorted(answer["status"] for answer in answers.values())
        assert statuses == [200, 200, 200, 429, 429]
        limited = next(a for a in answers.values() if a["status"] == 429)
        assert_item_error(limited, 429, "tooManyRequests")
        assert int(limited["headers"]["retry-after"]) >= 1
        assert_error(
            client.post(BATCH, json={"requests": [_get("1", RUNS)]}, headers=token),
            429,
            "tooManyRequests",
        )


def test_each_request_is_logged_as_if_sent_alone(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    run = create_run(client)
    with caplog.at_level(logging.INFO, logger="flowruns.requests"):
        answers = batch(
            client,
            [_get("1", f"{RUNS}/{run['id']}"), _get("2", f"{RUNS}/{uuid.uuid4()}")],
        )
    logged = [r.__dict__["fields"] for r in caplog.records if r.name == "flowruns.requests"]
    by_route = {(f["method"], f["route"], f["status"]): f for f in logged}
    item_route = f"{HUB}/runs/{{id}}"
    assert set(by_route) == {
        ("POST", f"{ROOT}/$batch", 200),
        ("GET", item_route, 200),
        ("GET", item_route, 404),
    }
    assert by_route["GET", item_route, 200]["request_id"] == answers["1"]["headers"]["request-id"]
    assert all(f["tenant"] for f in logged)


# -- the URLs Microsoft's clients send -----------------------------------------------------


def test_absolute_urls_below_this_service_root_and_encoded_options(client: TestClient) -> None:
    for name in ("a", "b", "c"):
        create_run(client, name)
    answers = batch(
        client,
        [
            _get("absolute", f"{BASE_URL}{ROOT}{RUNS}?%24top=2&%24orderby=displayName"),
            _get("relative", "external/industryData/runs?$top=1&$orderby=displayName%20desc"),
            _get("count", f"{BASE_URL}{ROOT}{RUNS}/%24count?%24filter=displayName%20ne%20'a'"),
            _get("cased", f"HTTP://TESTSERVER:80{ROOT}{RUNS}?$top=1"),
        ],
    )
    page = answers["absolute"]["body"]
    assert [r["displayName"] for r in page["value"]] == ["a", "b"]
    next_link = page["@odata.nextLink"]
    assert next_link.startswith(f"{BASE_URL}{ROOT}{RUNS}?")
    assert [r["displayName"] for r in get_json(client, next_link)["value"]] == ["c"]
    assert [r["displayName"] for r in answers["relative"]["body"]["value"]] == ["c"]
    assert text(answers["count"]) == "2"
    assert answers["cased"]["status"] == 200


def test_behind_a_proxy_absolute_urls_name_the_public_service_root(settings: Settings) -> None:
    settings.public_url = "https://runs.example.com:8443"
    with TestClient(create_app(settings), headers=bearer(settings)) as client:
        for name in ("a", "b"):
            create_run(client, name)
        public = f"https://runs.example.com:8443{ROOT}{RUNS}?%24top=1"
        answers = batch(client, [_get("public", public), _get("host", f"{BASE_URL}{ROOT}{RUNS}")])
        page = answers["public"]["body"]
        assert page["@odata.nextLink"].startswith(f"https://runs.example.com:8443{ROOT}{RUNS}?")
        assert_item_error(answers["host"], 400, "invalidRequest")


@pytest.mark.parametrize(
    "url",
    [
        f"http://elsewhere.example{ROOT}{RUNS}",
        f"https://testserver{ROOT}{RUNS}",
        f"http://testserver:8080{ROOT}{RUNS}",
        f"{BASE_URL}/v1.0{RUNS}",
        f"{BASE_URL}{RUNS}",
        "http://[::1",
    ],
)
def test_an_absolute_url_elsewhere_is_400_for_that_request(client: TestClient, url: str) -> None:
    answers = batch(client, [_get("elsewhere", url), _new_run("here", "fine")])
    assert_item_error(answers["elsewhere"], 400, "invalidRequest")
    assert answers["here"]["status"] == 201


def test_a_url_the_service_does_not_serve_answers_as_alone(client: TestClient) -> None:
    answers = batch(client, [_get("1", "/nowhere"), _get("2", "/external/industryData/runs/$ref")])
    alone = client.get(f"{ROOT}/nowhere")
    assert answers["1"]["status"] == alone.status_code == 400
    assert answers["1"]["body"]["error"]["message"] == alone.json()["error"]["message"]
    assert answers["2"]["status"] == 405


def test_a_body_of_another_media_type_is_read_as_base64(client: TestClient) -> None:
    body = base64.b64encode(b'{"displayName": "x"}').decode()
    answers = batch(
        client,
        [
            {
                "id": "1",
                "method": "POST",
                "url": RUNS,
                "body": body,
                "headers": {"Content-Type": "application/octet-stream"},
            },
            {
                "id": "2",
                "method": "POST",
                "url": RUNS,
                "body": "cGxhaW4_",  # base64url without padding
                "headers": {"Content-Type": "text/plain"},
            },
        ],
    )
    assert_item_error(answers["1"], 415, "unsupportedMediaType")
    assert_item_error(answers["2"], 415, "unsupportedMediaType")
    refused = client.post(
        BATCH,
        json={
            "requests": [
                {
                    "id": "1",
                    "method": "POST",
                    "url": RUNS,
                    "body": "%%%",
                    "headers": {"Content-Type": "image/png"},
                }
            ]
        },
    )
    assert_error(refused, 400, "invalidRequest", "requests[0].body")


def test_the_metadata_and_openapi_describe_batch(client: TestClient) -> None:
    metadata = client.get(f"{ROOT}/$metadata").text
    assert '<Annotation Term="Org.OData.Capabilities.V1.BatchSupported" Bool="true"' in metadata
    assert "<String>application/json</String>" in metadata
    document = client.get("/openapi.json").json()
    operation = document["paths"]["/$batch"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/batchRequest"
    }
    requests = document["components"]["schemas"]["batchRequest"]["properties"]["requests"]
    assert requests["maxItems"] == MAX_BATCH_REQUESTS


# -- the example of docs/api.md ---------------------------------------------------------------

_DOCS_API = Path(__file__).resolve().parents[2] / "docs" / "api.md"
_VARYING = (
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"), "<id>"),
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?"), "<time>"),
    (re.compile(r'W/\\"[0-9a-f]{16}\\"'), "<etag>"),  # as written inside a JSON string
)


def _without_varying(value: Any) -> Any:
    text = json.dumps(value, sort_keys=True)
    for pattern, replacement in _VARYING:
        text = pattern.sub(replacement, text)
    return json.loads(text)


def _http_message(block: str) -> tuple[dict[str, str], Any]:
    """The headers and the JSON body of an ``http`` block of the docs."""
    head, _, body = block.partition("\n\n")
    lines = head.splitlines()[1:]
    headers = dict(line.split(": ", 1) for line in lines)
    return headers, json.loads(body)


def test_the_example_of_the_api_guide_answers_as_shown(settings: Settings) -> None:
    text = _DOCS_API.read_text()
    start = text.index("\n### JSON batching\n")
    blocks = re.findall(r"^```http\n(.*?)^```$", text[start:], re.DOTALL | re.MULTILINE)
    (request_headers, request), (_, shown) = map(_http_message, blocks[:2])
    with TestClient(create_app(settings), base_url=DOCS_URL, headers=bearer(settings)) as client:
        finished_run(
            client,
            "Nightly roster export 2026-11-27",
            start="2026-11-27T20:55:37.574593Z",
            end="2026-11-27T20:58:02.138Z",
        )
        response = client.post(BATCH, json=request, headers=request_headers)
        assert response.status_code == 200, response.text
        assert _without_varying(response.json()) == _without_varying(shown)


# -- failures inside the application ---------------------------------------------------------


def test_a_request_that_fails_inside_the_server_is_a_500_of_its_own(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    group = create_run(client, "group", odata_type="", collection=f"{HUB}/runGroups")

    def broken(*_: Any) -> Iterator[str]:
        yield "runId,displayName\r\n"
        raise RuntimeError("the database went away part-way")

    def unreachable(*_: Any) -> int:
        raise RuntimeError("the database went away")

    monkeypatch.setattr("flowruns.api.endpoint.errors_and_warnings_csv", broken)
    monkeypatch.setattr("flowruns.service.reading.count_collection", unreachable)
    answers = batch(
        client,
        [
            _get(
                "file", f"/external/industryData/runGroups/{group['id']}/getErrorsAndWarningsFile"
            ),
            _get("count", f"{RUNS}/$count"),
            _get("run", f"{RUNS}/{group['id']}"),
        ],
    )
    for request_id in ("file", "count"):
        error = assert_item_error(answers[request_id], 500, "generalException")
        assert "database" not in error["message"]
    assert answers["run"]["status"] == 200


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_MEMBERS = st.sampled_from(["id", "method", "url", "headers", "body", "dependsOn", "depends_on"])
_REQUEST = st.dictionaries(_MEMBERS, _JSON | st.sampled_from(["1", "2", "GET", "POST", RUNS]))


@given(st.lists(_REQUEST | _JSON, max_size=4) | _JSON)
def test_any_json_is_a_batch_or_one_400(requests: Any) -> None:
    """A malformed batch is an InvalidRequest (400), never anything else."""
    try:
        read = read_batch(json.dumps({"requests": requests}).encode())
    except InvalidRequest:
        return
    assert 1 <= len(read) <= MAX_BATCH_REQUESTS
