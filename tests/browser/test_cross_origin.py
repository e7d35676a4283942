"""A page on another origin uses the API from the real browser: allowed by the operator
(``--cors-origin``), it lists, pages and patches runs with ``fetch``; a page on an origin not
allowed is stopped by the browser itself. Both pages are served by a second little server on
other loopback ports, so every call is a real cross-origin request with its preflight."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page

from tests.browser.conftest import LAPTOP, TOKEN, Problems, open_page
from tests.conftest import NS
from tests.servers import AUTH, Server, free_port, running

HUB_PATH = "/beta/external/industryData"
PAGE = b"<!doctype html><html lang=en><title>Runs elsewhere</title><p id=out>ready</p></html>"


class _PageHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _page_server(port: int) -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", port), _PageHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="module")
def allowed_origin() -> Iterator[str]:
    yield from _page_server(free_port())


@pytest.fixture(scope="module")
def other_origin() -> Iterator[str]:
    yield from _page_server(free_port())


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, allowed_origin: str) -> Iterator[Server]:
    where = tmp_path_factory.mktemp("cross-origin")
    args = ("--data-dir", str(where / "data"), "--cors-origin", allowed_origin)
    with running(where / "server.log", *args) as server:
        with httpx.Client(base_url=server.base, headers=AUTH) as http:
            for i in range(5):
                body = {"@odata.type": f"#{NS}.outgoingFlowRun", "displayName": f"far run {i}"}
                assert http.post(f"{HUB_PATH}/runs", json=body).status_code == 201
        yield server


@pytest.fixture
def tab(browser: Browser) -> Iterator[tuple[Page, Problems]]:
    page, problems = open_page(browser, LAPTOP)
    yield page, problems
    page.context.close()


# Runs in the page: every request carries the token, If-Match and Prefer, so each needs a
# preflight the browser must see answered.
_USE_THE_API = """
async ([api, token]) => {
  const headers = {Authorization: `Bearer ${token}`, "client-request-id": "from-the-page"};
  const names = [];
  let url = `${api}/runs?$top=2&$orderby=displayName`;
  let pages = 0;
  while (url) {
    const answer = await fetch(url, {headers});
    if (!answer.ok) throw new Error(`list answered ${answer.status}`);
    const body = await answer.json();
    names.push(...body.value.map((run) => run.displayName));
    url = body["@odata.nextLink"];
    pages += 1;
  }
  const first = await fetch(`${api}/runs?$top=1&$orderby=displayName`, {headers});
  const run = (await first.json()).value[0];
  const read = await fetch(`${api}/runs/${run.id}`, {headers});
  const etag = read.headers.get("ETag");
  const patched = await fetch(`${api}/runs/${run.id}`, {
    method: "PATCH",
    headers: {...headers, "Content-Type": "application/json", "If-Match": etag,
              Prefer: "return=representation"},
    body: JSON.stringify({displayName: "renamed from another origin"}),
  });
  return {
    names, pages, status: patched.status, renamed: (await patched.json()).displayName,
    etag, newEtag: patched.headers.get("ETag"), requestId: patched.headers.get("request-id"),
    clientRequestId: patched.headers.get("client-request-id"),
  };
}
"""

_TRY_TO_LIST = """
async ([api, token]) => {
  try {
    await fetch(`${api}/runs`, {headers: {Authorization: `Bearer ${token}`}});
    return "read";
  } catch (error) {
    return error.name;
  }
}
"""


def test_a_page_on_an_allowed_origin_lists_pages_and_patches_runs(
    tab: tuple[Page, Problems], api: Server, allowed_origin: str
) -> None:
    page, problems = tab
    page.goto(f"{allowed_origin}/app")
    result = page.evaluate(_USE_THE_API, [f"{api.base}{HUB_PATH}", TOKEN])
    assert problems.messages == []
    assert result["names"] == [f"far run {i}" for i in range(5)]
    assert result["pages"] == 3
    assert result["status"] == 200
    assert result["renamed"] == "renamed from another origin"
    # The exposed headers are readable by the page.
    assert result["etag"].startswith('W/"')
    assert result["newEtag"] != result["etag"]
    assert result["requestId"]
    assert result["clientRequestId"] == "from-the-page"
    with httpx.Client(base_url=api.base, headers=AUTH) as http:
        names = [r["displayName"] for r in http.get(f"{HUB_PATH}/runs").json()["value"]]
    assert "renamed from another origin" in names


def test_a_page_on_another_origin_is_stopped_by_the_browser(
    tab: tuple[Page, Problems], api: Server, other_origin: str
) -> None:
    page, problems = tab
    page.goto(f"{other_origin}/app")
    assert page.evaluate(_TRY_TO_LIST, [f"{api.base}{HUB_PATH}", TOKEN]) == "TypeError"
    assert any("CORS" in message for message in problems.messages)
