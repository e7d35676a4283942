"""The public base URL: with ``FLOWRUNS_PUBLIC_URL`` set, every absolute URL the server writes
starts with it, whatever ``Host`` a request names; without it, the request's own address."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from flowruns.api.app import create_app
from flowruns.settings import InvalidSetting, Settings, parse_public_url
from tests.api.steps import INSIGHTS, OUTGOING, create_process
from tests.conftest import HUB, bearer

FORGED_HOST = "http://attacker.example:8443"


def _absolute_urls(client: TestClient) -> dict[str, str]:
    """Every kind of absolute URL the server writes, by where it appears."""
    created = client.post(f"{HUB}/runs", json={"@odata.type": OUTGOING, "displayName": "a"})
    assert created.status_code == 201, created.text
    run_id = created.json()["id"]
    client.post(f"{HUB}/runs", json={"@odata.type": OUTGOING, "displayName": "b"})
    process = create_process(client)
    minimal = client.post(
        f"{HUB}/runs",
        json={"@odata.type": OUTGOING, "displayName": "c"},
        headers={"Prefer": "return=minimal"},
    )
    linked = client.put(
        f"{HUB}/runs/{run_id}/process/$ref",
        json={"@odata.id": f"{HUB.removeprefix('/beta/')}/processes/{process['id']}"},
    )
    assert linked.status_code == 204, linked.text
    page: dict[str, Any] = client.get(f"{HUB}/runs?$top=1&$select=displayName").json()
    return {
        "Location": created.headers["Location"],
        "entity @odata.context": created.json()["@odata.context"],
        "OData-EntityId": minimal.headers["OData-EntityId"],
        "collection @odata.context": page["@odata.context"],
        "@odata.nextLink": page["@odata.nextLink"],
        "service document": client.get("/beta").json()["@odata.context"],
        "$ref @odata.id": client.get(f"{HUB}/runs/{run_id}/process/$ref").json()["@odata.id"],
    }


@pytest.fixture
def public_client(settings: Settings) -> Iterator[TestClient]:
    """A server configured with a public URL, called with a forged Host."""
    settings.public_url = "https://runs.example.com:8443/"
    app = create_app(settings)
    with TestClient(app, base_url=FORGED_HOST, headers=bearer(settings)) as test_client:
        yield test_client


def test_with_a_public_url_no_link_follows_the_host_header(public_client: TestClient) -> None:
    for where, url in _absolute_urls(public_client).items():
        assert url.startswith("https://runs.example.com:8443/beta/"), (where, url)
        assert "attacker" not in url, where
    next_link = _absolute_urls(public_client)["@odata.nextLink"]
    relative = next_link.removeprefix("https://runs.example.com:8443")
    follow = public_client.get(relative)  # the link leads on to the next page
    assert follow.status_code == 200, follow.text
    assert len(follow.json()["value"]) == 1


def test_a_link_the_server_wrote_can_be_sent_back(public_client: TestClient) -> None:
    """``@odata.id`` and ``@odata.bind`` URLs on the public origin name this server's entities."""
    process = public_client.post(
        f"{HUB}/processes", json={"@odata.type": INSIGHTS, "displayName": "p"}
    ).headers["Location"]
    assert process.startswith("https://runs.example.com:8443/beta/")
    bound = public_client.post(
        f"{HUB}/runs",
        json={"@odata.type": OUTGOING, "displayName": "a", "process@odata.bind": process},
    )
    assert bound.status_code == 201, bound.text
    run_id = bound.json()["id"]
    linked = public_client.put(f"{HUB}/runs/{run_id}/process/$ref", json={"@odata.id": process})
    assert linked.status_code == 204, linked.text


def test_without_a_public_url_links_follow_the_address_the_client_used(
    settings: Settings,
) -> None:
    with TestClient(create_app(settings), base_url=FORGED_HOST, headers=bearer(settings)) as client:
        for where, url in _absolute_urls(client).items():
            assert url.startswith(f"{FORGED_HOST}/beta/"), (where, url)


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("https://runs.example.com", "https://runs.example.com"),
        ("https://runs.example.com/", "https://runs.example.com"),
        (" http://10.0.0.7:8080/ ", "http://10.0.0.7:8080"),
        ("https://[2001:db8::1]:8443", "https://[2001:db8::1]:8443"),
    ],
)
def test_a_public_url_is_kept_without_its_trailing_slash(given: str, kept: str) -> None:
    assert parse_public_url(given) == kept


@pytest.mark.parametrize(
    "given",
    [
        "runs.example.com",
        "ftp://runs.example.com",
        "https://",
        "https://runs.example.com/?x=1",
        "https://runs.example.com/#top",
        "https://user:secret@runs.example.com",
        "https://runs.example.com:99999",
        "https://[::1/x",
        "https://runs.example.com/a b",
        "https://runs.example.com/a\tb",
        "https://runs.example.com/beta",
        "https://example.com/flowruns",
    ],
)
def test_a_public_url_that_is_no_base_url_is_refused(
    given: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(InvalidSetting):
        parse_public_url(given)
    monkeypatch.setenv("FLOWRUNS_PUBLIC_URL", given)
    with pytest.raises(InvalidSetting, match="FLOWRUNS_PUBLIC_URL"):
        Settings.from_env()


def test_the_public_url_reaches_the_worker_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWRUNS_PUBLIC_URL", "https://runs.example.com/")
    settings = Settings.from_env()
    assert settings.public_url == "https://runs.example.com"
    assert settings.environment()["FLOWRUNS_PUBLIC_URL"] == "https://runs.example.com"


def test_serve_refuses_a_public_url_flag_that_is_no_base_url(tmp_path: Path) -> None:
    serve = [sys.executable, "-m", "flowruns", "serve", "--data-dir", str(tmp_path)]
    result = subprocess.run(
        [*serve, "--public-url", "runs.example.com"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "is not a public base URL" in result.stderr
    assert "Traceback" not in result.stderr
