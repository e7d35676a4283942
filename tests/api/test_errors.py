"""Bad input: the right status and Graph error, and nothing changed (SPEC §3, §4, §6 limits)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.api.steps import (
    INSIGHTS,
    OUTGOING,
    assert_error,
    assert_unchanged,
    count,
    create_group,
    create_process,
    create_run,
    process_url,
    run_url,
)
from tests.conftest import HUB, NS

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def run(client: TestClient) -> dict[str, Any]:
    return create_run(client, "original", statistics={"kept": True})


@pytest.mark.parametrize(
    "raw",
    [b"{", b'{"displayName": }', b"", b"   ", b"\xff\xfe", b"[" * 100_000, b'{"a": NaN}'],
)
def test_malformed_json_is_400(client: TestClient, run: dict[str, Any], raw: bytes) -> None:
    assert_error(client.post(f"{HUB}/runs", content=raw, headers=JSON), 400, "invalidRequest")
    patched = client.patch(run_url(run["id"]), content=raw, headers=JSON)
    assert_error(patched, 400, "invalidRequest")
    assert_unchanged(client, run_url(run["id"]), run)
    assert count(client, "runs") == 1


@pytest.mark.parametrize("raw", [b"[]", b'"text"', b"42", b"null", b"true"])
def test_a_body_that_is_not_an_object_is_400(
    client: TestClient, run: dict[str, Any], raw: bytes
) -> None:
    assert_error(client.post(f"{HUB}/runs", content=raw, headers=JSON), 400, "invalidRequest")
    patched = client.patch(run_url(run["id"]), content=raw, headers=JSON)
    assert_error(patched, 400, "invalidRequest")
    put = client.put(f"{run_url(run['id'])}/process/$ref", content=raw, headers=JSON)
    assert_error(put, 400, "invalidRequest")
    assert_unchanged(client, run_url(run["id"]), run)
    assert count(client, "runs") == 1


@pytest.mark.parametrize(
    ("body", "target"),
    [
        ({"colour": "red"}, "colour"),
        ({"DisplayName": "case matters"}, "DisplayName"),
        ({"eTag": 'W/"1234"'}, "eTag"),
        ({"shareName": "only on data share flows"}, "shareName"),
        ({"displayName": 5}, "displayName"),
        ({"displayName": ["x"]}, "displayName"),
        ({"status": 1}, "status"),
        ({"startDateTime": 1767225600}, "startDateTime"),
        ({"startDateTime": "2026-01-01T00:00:00"}, "startDateTime"),
        ({"statistics": "many"}, "statistics"),
        ({"blockingError": "broken"}, "blockingError"),
        ({"blockingError": {"code": 5}}, "blockingError/code"),
        ({"blockingError": {"severity": "high"}}, "blockingError/severity"),
        ({"blockingError": {"details": [{"code": 1}]}}, "blockingError/details[0]/code"),
        ({"blockingError": {"innerError": {"extra": "x"}}}, "blockingError/innerError/extra"),
        ({"blockingError": {"code": "x" * 257}}, "blockingError/code"),
        ({"@odata.type": 5}, "@odata.type"),
        ({"@odata.type": f"#{NS}.nothing"}, "@odata.type"),
        ({"@odata.type": INSIGHTS}, "@odata.type"),
        ({"@odata.type": "#microsoft.graph.entity"}, "@odata.type"),
    ],
)
def test_bad_properties_name_their_target_and_change_nothing(
    client: TestClient, run: dict[str, Any], body: dict[str, Any], target: str
) -> None:
    create = {"@odata.type": OUTGOING, "displayName": "new", **body}
    assert_error(client.post(f"{HUB}/runs", json=create), 400, "invalidRequest", target)
    assert_error(client.patch(run_url(run["id"]), json=body), 400, "invalidRequest", target)
    assert_unchanged(client, run_url(run["id"]), run)
    assert count(client, "runs") == 1


def test_one_bad_property_rejects_the_whole_patch(client: TestClient, run: dict[str, Any]) -> None:
    response = client.patch(
        run_url(run["id"]),
        json={"displayName": "changed", "statistics": {"new": 1}, "status": "nope"},
    )
    assert_error(response, 400, "invalidRequest", "status")
    assert_unchanged(client, run_url(run["id"]), run)


def test_instance_annotations_are_ignored(client: TestClient, run: dict[str, Any]) -> None:
    response = client.patch(
        run_url(run["id"]), json={"@custom.note": "x", "displayName@custom.hint": "y"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["@odata.etag"] == run["@odata.etag"]


@pytest.mark.parametrize(
    "path",
    [
        f"runs/{NS}.dataShareOutgoingFlow",
        f"runs/{NS}.process",
        f"runs/{NS}.nothing",
        f"processes/{NS}.outgoingFlowRun",
    ],
)
def test_a_cast_to_an_unrelated_type_is_400(client: TestClient, path: str) -> None:
    response = client.get(f"{HUB}/{path}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] in ("BadRequest", "invalidRequest")
    posted = client.post(f"{HUB}/{path}", json={"displayName": "x"})
    assert posted.status_code == 400
    assert count(client, "runs") == 0
    assert count(client, "processes") == 0


def test_a_cast_of_one_run_to_a_non_run_type_is_400(
    client: TestClient, run: dict[str, Any]
) -> None:
    response = client.get(f"{run_url(run['id'])}/{NS}.insightsOutgoingFlow")
    assert response.status_code == 400
    assert response.json()["error"]["code"] in ("BadRequest", "invalidRequest")
    assert f"{NS}.insightsOutgoingFlow" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "runs", "GET, POST"),
        ("PATCH", "runs", "GET, POST"),
        ("PUT", "runs/{run}", "DELETE, GET, PATCH"),
        ("POST", "runs/{run}", "DELETE, GET, PATCH"),
        ("DELETE", "runs/$count", "GET"),
        ("POST", "", "GET"),
        ("DELETE", "processes", "GET, POST"),
        ("PUT", "processes/{process}", "DELETE, GET, PATCH"),
        ("PATCH", "runs/{run}/process/$ref", "DELETE, GET, POST, PUT"),
        ("DELETE", "runGroups/{group}/runs/$ref", "GET, POST"),
    ],
)
def test_wrong_method_is_405_with_allow(
    client: TestClient, method: str, path: str, allowed: str
) -> None:
    run = create_run(client)
    process = create_process(client)
    group = create_group(client)
    url = f"{HUB}/{path}".rstrip("/").format(
        run=run["id"], process=process["id"], group=group["id"]
    )
    response = client.request(method, url, json={"displayName": "x"})
    assert_error(response, 405, "notAllowed")
    assert response.headers["Allow"] == allowed
    assert count(client, "runs") == 2
    assert_unchanged(client, run_url(run["id"]), run)
    assert_unchanged(client, process_url(process["id"]), process)


def test_wrong_method_on_service_root_documents(client: TestClient) -> None:
    for path in ("/beta/", "/beta/$metadata"):
        response = client.post(path, json={})
        assert_error(response, 405, "notAllowed")
        assert response.headers["Allow"] == "GET"


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/xml", "application/x-www-form-urlencoded"]
)
def test_non_json_content_type_is_415(
    client: TestClient, run: dict[str, Any], content_type: str
) -> None:
    body = b'{"@odata.type": "#microsoft.graph.industryData.outgoingFlowRun", "displayName": "x"}'
    headers = {"Content-Type": content_type}
    assert client.post(f"{HUB}/runs", content=body, headers=headers).status_code == 415
    patched = client.patch(run_url(run["id"]), content=b'{"displayName": "x"}', headers=headers)
    assert_error(patched, 415, "unsupportedMediaType")
    assert_unchanged(client, run_url(run["id"]), run)
    assert count(client, "runs") == 1


def test_a_body_without_content_type_is_read_as_json(client: TestClient) -> None:
    response = client.post(
        f"{HUB}/runs",
        content=b'{"@odata.type": "#microsoft.graph.industryData.outgoingFlowRun",'
        b' "displayName": "x"}',
    )
    assert "content-type" not in response.request.headers
    assert response.status_code == 201, response.text


def test_json_content_type_with_parameters_is_accepted(client: TestClient) -> None:
    response = client.post(
        f"{HUB}/runs",
        content=b'{"@odata.type": "#microsoft.graph.industryData.outgoingFlowRun",'
        b' "displayName": "x"}',
        headers={"Content-Type": "application/json;odata.metadata=minimal;charset=utf-8"},
    )
    assert response.status_code == 201


def test_body_over_1_mib_is_413(client: TestClient, run: dict[str, Any]) -> None:
    padding = "x" * (1024 * 1024)
    body = {"@odata.type": OUTGOING, "displayName": "big", "@custom.padding": padding}
    assert_error(client.post(f"{HUB}/runs", json=body), 413, "requestEntityTooLarge")
    patched = client.patch(run_url(run["id"]), json={"@custom.padding": padding})
    assert_error(patched, 413, "requestEntityTooLarge")
    assert_unchanged(client, run_url(run["id"]), run)
    assert count(client, "runs") == 1


def test_streamed_body_over_1_mib_is_413(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"@odata.type": "#microsoft.graph.industryData.outgoingFlowRun",'
        yield b'"displayName": "x",'
        yield b'"@custom.padding": "'
        for _ in range(11):
            yield b"x" * 100_000
        yield b'"}'

    response = client.post(f"{HUB}/runs", content=chunks(), headers=JSON)
    assert_error(response, 413, "requestEntityTooLarge")
    assert count(client, "runs") == 0


def test_body_just_under_1_mib_is_read(client: TestClient) -> None:
    prefix = b'{"@odata.type": "#microsoft.graph.industryData.outgoingFlowRun", "displayName": "x",'
    filler = b' "@custom.padding": "'
    size = 1024 * 1024 - len(prefix) - len(filler) - 2
    raw = prefix + filler + b"x" * size + b'"}'
    assert len(raw) == 1024 * 1024
    response = client.post(f"{HUB}/runs", content=raw, headers=JSON)
    assert response.status_code == 201, response.text


def test_url_over_8_kib_is_414(client: TestClient, run: dict[str, Any]) -> None:
    assert_error(client.get(f"{HUB}/runs/{'a' * 9000}"), 414, "requestUriTooLong")
    assert_error(client.get(f"{HUB}/runs?custom={'a' * 9000}"), 414, "requestUriTooLong")
    patched = client.patch(f"{run_url(run['id'])}?custom={'a' * 9000}", json={"displayName": "z"})
    assert_error(patched, 414, "requestUriTooLong")
    assert_unchanged(client, run_url(run["id"]), run)


def test_unknown_ids_are_404_everywhere(client: TestClient) -> None:
    missing = "00000000-0000-0000-0000-00000000dead"
    for method, url, body in [
        ("GET", f"{HUB}/runs/{missing}", None),
        ("PATCH", f"{HUB}/runs/{missing}", {"displayName": "x"}),
        ("DELETE", f"{HUB}/runs/{missing}", None),
        ("GET", f"{HUB}/processes/{missing}", None),
        ("PATCH", f"{HUB}/processes/{missing}", {"displayName": "x"}),
        ("DELETE", f"{HUB}/processes/{missing}", None),
        ("GET", f"{HUB}/runGroups/{missing}", None),
        ("GET", f"{HUB}/runs/{missing}/process/$ref", None),
        ("DELETE", f"{HUB}/runs/{missing}/process/$ref", None),
        ("GET", f"{HUB}/runGroups/{missing}/runs/$ref", None),
    ]:
        response = client.request(method, url, json=body)
        assert_error(response, 404, "itemNotFound")


def test_an_internal_failure_is_a_500_without_internals(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("connection string postgresql://admin:hunter2@db")

    monkeypatch.setattr("flowruns.service.reading.read_page", broken)
    response = client.get(f"{HUB}/runs", headers={"client-request-id": "trace-me"})
    error = assert_error(response, 500, "generalException")
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text
    assert error["innerError"]["client-request-id"] == "trace-me"
    assert error["innerError"]["request-id"] == response.headers["request-id"]
