"""No response header carries a control character, whatever a request holds (its token, its
ids, its own headers), and request inputs are matched whole: a trailing newline is not ignored."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

import httpx2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.testclient import TestClient

from flowruns.api.middleware import RequestIdMiddleware
from flowruns.settings import DEFAULT_TENANT, Settings
from tests.api import forged
from tests.api.steps import OUTGOING, assert_error, create_run, run_url
from tests.conftest import HUB
from tests.servers import AUTH, running

# RFC 5234 CTL: U+0000 to U+001F and U+007F (HTAB included: no header of ours needs one).
CONTROLS = [chr(code) for code in range(0x20)] + ["\x7f"]


def _control_bytes(value: bytes) -> list[int]:
    return [byte for byte in value if byte < 0x20 or byte == 0x7F]


def assert_control_free(response: httpx2.Response) -> None:
    for name, value in response.headers.raw:
        assert not _control_bytes(value), (name, value)


def _exchanges(client: TestClient, run_id: str, headers: dict[str, str]) -> list[httpx2.Response]:
    """A request of each kind that writes headers from what it was given."""
    created = {"@odata.type": OUTGOING, "displayName": "x"}
    minimal = {**headers, "Prefer": "return=minimal"}
    return [
        client.get(HUB, headers=headers),  # ETag from the tenant
        client.post(f"{HUB}/runs", json=created, headers=headers),  # Location, ETag
        client.post(f"{HUB}/runs", json=created, headers=minimal),  # OData-EntityId
        client.get(f"{HUB}/runs", headers={**headers, "Prefer": "odata.maxpagesize=1"}),
        client.get(run_url(run_id), headers=headers),
        client.patch(run_url(run_id), json={"displayName": "y"}, headers=headers),
        client.get(run_url(str(uuid.uuid4())), headers=headers),  # an error
        client.get(HUB, headers={**headers, "Authorization": ""}),  # WWW-Authenticate
    ]


def test_a_client_request_id_holding_a_control_character_is_not_echoed(
    client: TestClient,
) -> None:
    run_id = create_run(client)["id"]
    for character in CONTROLS:
        sent = f"trace{character}42"
        for response in _exchanges(client, run_id, {"client-request-id": sent}):
            assert_control_free(response)
            echoed = response.headers["client-request-id"]
            assert str(uuid.UUID(echoed)) == echoed, (repr(character), echoed)
            if response.status_code >= 400:
                inner = response.json()["error"]["innerError"]
                assert inner["client-request-id"] == echoed


def test_a_token_whose_tenant_ends_in_a_newline_opens_no_tenant(
    client: TestClient, settings: Settings
) -> None:
    body = forged.claims(tid=f"{DEFAULT_TENANT}\n")
    headers = forged.bearer_header(forged.signed(settings, body))
    response = client.get(HUB, headers=headers)
    assert_error(response, 401, "InvalidAuthenticationToken")
    assert "tid" in response.headers["WWW-Authenticate"]
    assert_control_free(response)


def test_a_key_segment_followed_by_a_newline_names_nothing(client: TestClient) -> None:
    run_id = create_run(client)["id"]
    for suffix in ("%0A", "%0D%0A", "%09", "%00"):
        response = client.get(f"{HUB}/runs('{run_id}'){suffix}")
        assert response.status_code in (400, 404), (suffix, response.text)
        assert_control_free(response)
    assert client.get(f"{HUB}/runs('{run_id}')").status_code == 200


def test_a_header_value_with_a_control_character_never_leaves_the_server() -> None:
    """The last line of defence: whatever a handler writes, the middleware that stamps every
    response escapes what HTTP cannot carry (and the value stays recognisable)."""

    async def careless(request: Request) -> Response:
        return Response(headers={"X-Note": "line one\nline two\x7f", "X-Plain": "kept as is"})

    app = RequestIdMiddleware(Starlette(routes=[Route("/", careless)]))
    response = TestClient(app).get("/")
    assert response.status_code == 200
    assert_control_free(response)
    assert response.headers["X-Note"] == "line one%0Aline two%7F"
    assert response.headers["X-Plain"] == "kept as is"


def _raw_exchange(port: int, request: bytes) -> bytes:
    """The head of the answer to ``request`` sent byte for byte, as no HTTP library would."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    return received.partition(b"\r\n\r\n")[0]


def test_on_the_wire_no_control_character_is_echoed(tmp_path: Path) -> None:
    """The HTTP parser the server runs passes a tab, and bytes past ASCII (0x85 is NEL, a C1
    control once read as Latin-1), inside header values: neither comes back."""
    with running(tmp_path / "log", "--data-dir", str(tmp_path / "data")) as server:
        port = int(server.base.rsplit(":", 1)[1])
        authorization = AUTH["Authorization"].encode()
        for sent in (b"trace\t42", b"trace\x8542"):
            request = (
                b"GET /beta/external/industryData HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Authorization: " + authorization + b"\r\n"
                b"client-request-id: " + sent + b"\r\nConnection: close\r\n\r\n"
            )
            head = _raw_exchange(port, request)
            assert head.startswith(b"HTTP/1.1 200 "), head
            assert not _control_bytes(head.replace(b"\r\n", b"")), head
            assert sent not in head
        printable = b"batch 7 / step 3: load"
        head = _raw_exchange(port, request.replace(b"trace\x8542", printable))
        assert b"client-request-id: " + printable + b"\r\n" in head
