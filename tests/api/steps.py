"""Steps the HTTP tests take against the API: create entities, read them, check errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx2
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Receive, Scope, Send

from tests.conftest import HUB, NS

BASE_URL = "http://testserver"
OUTGOING = f"#{NS}.outgoingFlowRun"
INCOMING = f"#{NS}.incomingFlowRun"
RUN_GROUP = f"#{NS}.runGroup"
INSIGHTS = f"#{NS}.insightsOutgoingFlow"
DATA_SHARE = f"#{NS}.dataShareOutgoingFlow"
JSON_CONTENT_TYPE = (
    "application/json;odata.metadata=minimal;odata.streaming=true;"
    "IEEE754Compatible=false;charset=utf-8"
)


def create_process(
    client: TestClient,
    display_name: str = "nightly export",
    odata_type: str = INSIGHTS,
    **extra: Any,
) -> dict[str, Any]:
    """POST a process and return its JSON."""
    response = client.post(
        f"{HUB}/processes", json={"@odata.type": odata_type, "displayName": display_name, **extra}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def create_run(
    client: TestClient,
    display_name: str = "run",
    odata_type: str = OUTGOING,
    *,
    collection: str = f"{HUB}/runs",
    **extra: Any,
) -> dict[str, Any]:
    """POST a run (to ``collection``) and return its JSON."""
    body: dict[str, Any] = {"displayName": display_name, **extra}
    if odata_type:
        body["@odata.type"] = odata_type
    response = client.post(collection, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def create_group(client: TestClient, display_name: str = "batch") -> dict[str, Any]:
    """POST a run group to ``runGroups`` (its type defaults) and return its JSON."""
    return create_run(client, display_name, odata_type="", collection=f"{HUB}/runGroups")


def add_member(client: TestClient, group_id: str, run_id: str) -> httpx2.Response:
    """POST a run's reference to a run group's ``runs/$ref``."""
    return client.post(
        f"{HUB}/runGroups/{group_id}/runs/$ref", json={"@odata.id": f"{BASE_URL}{run_url(run_id)}"}
    )


def finished_run(
    client: TestClient,
    display_name: str = "run",
    status: str = "completed",
    start: str = "2026-01-01T00:00:00Z",
    end: str = "2026-01-01T01:00:00Z",
    **extra: Any,
) -> dict[str, Any]:
    """A run created already finished (a backfill), with both times given."""
    return create_run(
        client, display_name, status=status, startDateTime=start, endDateTime=end, **extra
    )


def run_url(run_id: str) -> str:
    return f"{HUB}/runs/{run_id}"


def process_url(process_id: str) -> str:
    return f"{HUB}/processes/{process_id}"


def get_json(client: TestClient, url: str) -> dict[str, Any]:
    """GET ``url``, assert 200 and return the body."""
    response = client.get(url)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def count(client: TestClient, collection: str) -> int:
    """The ``/$count`` of a collection path below the hub (``runs``, ``processes``, …)."""
    response = client.get(f"{HUB}/{collection}/$count")
    assert response.status_code == 200, response.text
    return int(response.text)


def assert_error(
    response: httpx2.Response, status: int, code: str, target: str | None = None
) -> dict[str, Any]:
    """Assert a Graph error envelope with ``status``, ``code`` and (when given) ``target``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == JSON_CONTENT_TYPE
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str)
    assert error["message"]
    if target is not None:
        assert error.get("target") == target
    return error


def collect_all(client: TestClient, url: str, **kwargs: Any) -> list[dict[str, Any]]:
    """Every row of a collection, following ``@odata.nextLink`` to the end."""
    rows: list[dict[str, Any]] = []
    next_url: str | None = url
    pages = 0
    while next_url is not None:
        page = client.get(next_url, **kwargs)
        assert page.status_code == 200, page.text
        body = page.json()
        if "@odata.nextLink" in body:
            assert body["value"], "a page with a nextLink must not be empty"
        rows.extend(body["value"])
        next_url = body.get("@odata.nextLink")
        pages += 1
        assert pages < 1000
    return rows


def assert_unchanged(client: TestClient, url: str, before: dict[str, Any]) -> None:
    """The entity at ``url`` reads exactly as ``before`` (same values, same ETag)."""
    current = get_json(client, url)
    assert current == before


@contextmanager
def raw_header_client(app: ASGIApp, headers: dict[str, str]) -> Iterator[TestClient]:
    """A client of ``app`` whose header values arrive as a raw HTTP client sends them.

    The test client encodes a header value as UTF-8, where a server receives the bytes sent and
    reads them as latin-1; here a value latin-1 can encode arrives as those bytes, so ``²``
    reaches the server as ``²``, not as ``Â²``.
    """

    def as_sent(value: bytes) -> bytes:
        try:
            return value.decode("utf-8").encode("latin-1")
        except UnicodeError:
            return value

    async def raw(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = {**scope, "headers": [(n, as_sent(v)) for n, v in scope["headers"]]}
        await app(scope, receive, send)

    with TestClient(raw, base_url=BASE_URL, headers=headers) as client:
        yield client
