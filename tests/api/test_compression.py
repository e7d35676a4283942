"""Compression both ways: answers brotli- or gzip-coded when the client accepts it and they are
large enough, request bodies accepted gzip-coded within the same body limit (docs/api.md,
"Compression")."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from typing import Any

import brotli
import pytest
from starlette.testclient import TestClient

from flowruns.api.app import create_app
from flowruns.api.compression import MIN_COMPRESSED_BYTES, negotiate
from flowruns.settings import Settings
from tests.api.steps import BASE_URL, assert_error, create_process, create_run, run_url
from tests.conftest import HUB, NS, ROOT, bearer

INSIGHTS = f"#{NS}.insightsOutgoingFlow"


@pytest.fixture
def raw(settings: Settings) -> Iterator[TestClient]:
    """A client that sends no Accept-Encoding unless told and never decodes an answer."""
    with TestClient(create_app(settings), base_url=BASE_URL, headers=bearer(settings)) as client:
        client.headers["Accept-Encoding"] = "identity"
        yield client


def _get(client: TestClient, url: str, accept: str | None) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and the body bytes exactly as sent."""
    headers = {} if accept is None else {"Accept-Encoding": accept}
    with client.stream("GET", url, headers=headers) as response:
        body = b"".join(response.iter_raw())
        return response.status_code, dict(response.headers), body


def _page(client: TestClient, runs: int) -> str:
    for i in range(runs):
        create_run(client, f"run {i:03d} of a page large enough to compress")
    return f"{HUB}/runs?$top={runs}"


def test_a_large_page_is_gzip_coded_for_a_client_that_accepts_it(raw: TestClient) -> None:
    url = _page(raw, 30)
    status, plain_headers, plain = _get(raw, url, None)
    assert status == 200
    assert "content-encoding" not in plain_headers
    status, headers, coded = _get(raw, url, "gzip, deflate")
    assert status == 200
    assert headers["content-encoding"] == "gzip"
    assert int(headers["content-length"]) == len(coded)
    assert "Accept-Encoding" in headers["vary"]
    assert headers["content-type"] == plain_headers["content-type"]
    assert len(coded) < len(plain) / 3
    decoded = json.loads(gzip.decompress(coded))
    assert decoded["value"] == json.loads(plain)["value"]


def test_a_client_that_accepts_brotli_gets_brotli(raw: TestClient) -> None:
    """Browsers and httpx with brotli installed send ``gzip, deflate, br``: brotli is smaller for
    less CPU, so it is preferred when both are accepted alike."""
    url = _page(raw, 30)
    _, _, plain = _get(raw, url, None)
    _, _, gzipped = _get(raw, url, "gzip")
    status, headers, coded = _get(raw, url, "gzip, deflate, br")
    assert (status, headers["content-encoding"]) == (200, "br")
    assert int(headers["content-length"]) == len(coded)
    assert "Accept-Encoding" in headers["vary"]
    assert len(coded) < len(gzipped)
    assert brotli.decompress(coded) == plain
    # A client that decodes transparently sees the same answer whichever coding it took.
    assert raw.get(url, headers={"Accept-Encoding": "br"}).json() == json.loads(plain)


@pytest.mark.parametrize(
    ("accept", "coding"),
    [
        ("gzip", "gzip"),
        ("GZIP;q=0.5", "gzip"),
        ("x-gzip", "gzip"),
        ("br", "br"),
        ("gzip, deflate, br", "br"),
        ("gzip;q=1, br;q=0.5", "gzip"),
        ("br;q=0, gzip", "gzip"),
        ("*", "br"),
        ("br, *;q=0.1", "br"),
        ("gzip;q=0, *", "br"),
        ("gzip;q=0", None),
        ("*;q=0", None),
        ("identity", None),
        ("deflate, zstd", None),
        ("gzip;q=abc", None),
        ("", None),
    ],
)
def test_accept_encoding_is_read_with_its_qualities(accept: str, coding: str | None) -> None:
    assert negotiate(accept) == coding


def test_a_small_answer_is_never_compressed(raw: TestClient) -> None:
    run = create_run(raw, "small")
    status, headers, body = _get(raw, run_url(run["id"]), "gzip")
    assert status == 200
    assert len(body) < MIN_COMPRESSED_BYTES
    assert "content-encoding" not in headers
    # It would have been, were it larger: caches must still tell the two apart.
    assert "Accept-Encoding" in headers["vary"]
    status, headers, body = _get(raw, f"{HUB}/runs/$count", "gzip")
    assert (status, body) == (200, b"1")
    assert "content-encoding" not in headers


def test_errors_and_empty_answers_stay_as_they_are(raw: TestClient) -> None:
    status, headers, _ = _get(raw, f"{HUB}/runs/not-a-run", "gzip")
    assert status == 404
    assert "content-encoding" not in headers
    run = create_run(raw, "deleted")
    deleted = raw.delete(run_url(run["id"]), headers={"Accept-Encoding": "gzip"})
    assert deleted.status_code == 204
    assert "content-encoding" not in deleted.headers


def test_metadata_and_the_dashboard_are_compressed_too(raw: TestClient) -> None:
    status, headers, body = _get(raw, f"{ROOT}/$metadata", "gzip")
    assert status == 200
    assert headers["content-encoding"] == "gzip"
    assert gzip.decompress(body).startswith(b"<?xml")
    status, headers, body = _get(raw, "/openapi.json", "gzip")
    assert (status, headers["content-encoding"]) == (200, "gzip")
    json.loads(gzip.decompress(body))


def test_a_strong_etag_is_sent_weak_on_a_compressed_answer(raw: TestClient) -> None:
    """The dashboard's files carry strong ETags; the gzip-coded bytes are another
    representation (RFC 9110 §8.8.1), and revalidating with the weak tag still answers 304."""
    _, plain_headers, _ = _get(raw, "/", None)
    strong = plain_headers["etag"]
    assert not strong.startswith("W/")
    status, headers, _ = _get(raw, "/", "gzip")
    assert (status, headers["content-encoding"]) == (200, "gzip")
    assert headers["etag"] == f"W/{strong}"
    again = raw.get("/", headers={"Accept-Encoding": "gzip", "If-None-Match": headers["etag"]})
    assert again.status_code == 304


def test_a_streamed_answer_is_compressed_as_it_streams(raw: TestClient) -> None:
    """The run group's CSV is streamed: no Content-Length, one gzip stream."""
    group = raw.post(f"{HUB}/runGroups", json={"displayName": "night"}).json()
    for i in range(40):
        run = create_run(
            raw,
            f"failed member {i}",
            status="failed",
            blockingError={"code": "timeout", "message": "The share did not answer " * 3},
        )
        linked = raw.post(
            f"{HUB}/runGroups/{group['id']}/runs/$ref",
            json={"@odata.id": f"{BASE_URL}{run_url(run['id'])}"},
        )
        assert linked.status_code == 204
    url = f"{HUB}/runGroups/{group['id']}/getErrorsAndWarningsFile"
    _, _, plain = _get(raw, url, None)
    status, headers, coded = _get(raw, url, "gzip")
    assert (status, headers["content-encoding"]) == (200, "gzip")
    assert "content-length" not in headers
    assert gzip.decompress(coded) == plain


def _post_process(client: TestClient, body: bytes, **headers: str) -> Any:
    return client.post(
        f"{HUB}/processes",
        content=body,
        headers={"Content-Type": "application/json", **headers},
    )


def _process_body(name: str) -> bytes:
    return json.dumps({"@odata.type": INSIGHTS, "displayName": name}).encode()


def test_a_gzip_coded_request_body_is_read(raw: TestClient) -> None:
    created = _post_process(
        raw, gzip.compress(_process_body("sent gzip-coded")), **{"Content-Encoding": "gzip"}
    )
    assert created.status_code == 201, created.text
    assert created.json()["displayName"] == "sent gzip-coded"
    # Several gzip members make one body (RFC 1952 §2.2), as gzip itself concatenates them.
    body = _process_body("in two members")
    members = gzip.compress(body[:20]) + gzip.compress(body[20:])
    created = _post_process(raw, members, **{"Content-Encoding": "gzip"})
    assert created.status_code == 201, created.text
    assert created.json()["displayName"] == "in two members"
    patched = raw.patch(
        f"{HUB}/processes/{created.json()['id']}",
        content=gzip.compress(b'{"displayName": "renamed"}'),
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["displayName"] == "renamed"


def test_a_small_body_that_inflates_past_the_limit_is_413(settings: Settings) -> None:
    """A zip bomb: a few KiB on the wire, far more than the body limit once decoded. It is
    refused on the decoded size, without being decoded whole."""
    settings.max_body_bytes = 64 * 1024
    padding = b" " * (50 * settings.max_body_bytes)
    bomb = gzip.compress(b'{"displayName": "x",' + padding + b'"shareName": "y"}')
    assert len(bomb) < settings.max_body_bytes / 10
    with TestClient(create_app(settings), base_url=BASE_URL, headers=bearer(settings)) as client:
        response = _post_process(client, bomb, **{"Content-Encoding": "gzip"})
        assert_error(response, 413, "requestEntityTooLarge")
        assert client.get(f"{HUB}/processes/$count").text == "0"
        # Within the limit once decoded, the same way of sending is fine.
        within = gzip.compress(_process_body("fits") + b" " * (settings.max_body_bytes // 2))
        assert _post_process(client, within, **{"Content-Encoding": "gzip"}).status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        b"not gzip at all",
        gzip.compress(b'{"displayName": "cut short"}')[:-6],
        gzip.compress(b'{"displayName": "x"}') + b"trailing bytes",
    ],
    ids=["not gzip", "truncated", "trailing garbage"],
)
def test_a_body_that_is_not_valid_gzip_is_400(raw: TestClient, body: bytes) -> None:
    response = _post_process(raw, body, **{"Content-Encoding": "gzip"})
    assert_error(response, 400, "invalidRequest")
    assert raw.get(f"{HUB}/processes/$count").text == "0"


@pytest.mark.parametrize("coding", ["br", "deflate", "zstd", "gzip, br"])
def test_another_content_encoding_is_415(raw: TestClient, coding: str) -> None:
    body = zlib.compress(_process_body("x"))
    response = _post_process(raw, body, **{"Content-Encoding": coding})
    error = assert_error(response, 415, "unsupportedMediaType")
    assert "Content-Encoding" in error["message"]


def test_identity_is_the_same_as_no_coding(raw: TestClient) -> None:
    created = _post_process(raw, _process_body("plain"), **{"Content-Encoding": "identity"})
    assert created.status_code == 201
    assert create_process(raw, "another")["displayName"] == "another"
