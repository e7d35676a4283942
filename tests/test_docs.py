"""The documentation shows what a user sees: the README's start banner and five-minute walkthrough
run against a real server started as ``make serve`` starts it, and their output, with ids, times
and tokens normalised, is what the README shows; revision numbers in the docs are the migrations'.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from flowruns.auth.keys import local_signing_key
from flowruns.auth.scopes import READ_WRITE_PERMISSIONS
from flowruns.auth.tokens import mint_token
from flowruns.settings import DEFAULT_TENANT
from flowruns.store.migrations import head
from tests.servers import Server, start, wait_ready

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = [README, ROOT / "DEVELOPERS.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.DOTALL | re.MULTILINE)
SHOWN_PORT = 8000
DEFAULT_ADDRESS = f"http://127.0.0.1:{SHOWN_PORT}"

# What differs from one run to the next, and how the README writes it.
_NORMALISE = (
    (re.compile(r"eyJ[\w.-]*…?"), "eyJ…"),  # tokens, shown cut short with … in the README
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"), "<id>"),
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"), "<time>"),
    (re.compile(r'W/\\"[0-9a-f]{16}\\"'), 'W/\\"<etag>\\"'),
    (re.compile(r"\$skiptoken=[\w%.~-]+…?"), "$skiptoken=<skiptoken>"),
)


def normalised(text: str) -> str:
    for pattern, replacement in _NORMALISE:
        text = pattern.sub(replacement, text)
    return text.rstrip("\n")


def section(markdown: str, title: str) -> str:
    """The text of the ``## title`` section."""
    start = markdown.index(f"\n## {title}\n")
    end = markdown.find("\n## ", start + 1)
    return markdown[start : end if end > 0 else None]


@dataclass
class Step:
    """A shell block of the walkthrough and the output block that follows it, if any."""

    commands: str
    shown: str | None


def steps(text: str) -> list[Step]:
    found: list[Step] = []
    for language, body in FENCE.findall(text):
        if language == "sh":
            found.append(Step(body, None))
        elif found and found[-1].shown is None:
            found[-1].shown = body
    return found


@dataclass
class Started:
    server: Server
    banner: str


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Started]:
    """``make serve`` on a fresh clone: the demo history loaded into ``.flowruns``, then the
    server on it, printing its token. (The demo activity is left out: the walkthrough's list of
    runs would change while it runs; it changes nothing in the banner.)"""
    where = tmp_path_factory.mktemp("readme")
    flowruns = [sys.executable, "-m", "flowruns"]
    seed = [*flowruns, "demo", "seed", "--data-dir", ".flowruns", "--runs", "2000"]
    subprocess.run(seed, cwd=where, check=True, capture_output=True, timeout=120)
    # The data directory named as make serve names it: relative.
    server = start(where / "serve.log", "--data-dir", ".flowruns", "--print-token", cwd=where)
    try:
        wait_ready(server)
        yield Started(server, server.log.read_text())
    finally:
        server.stop()


def _as_shown(text: str, server: Server) -> str:
    return normalised(text.replace(server.base, f"http://127.0.0.1:{SHOWN_PORT}"))


def test_the_start_banner_is_what_the_readme_and_the_dashboard_guide_show(demo: Started) -> None:
    for doc in (README, ROOT / "docs" / "dashboard.md"):
        [shown] = [b for lang, b in FENCE.findall(doc.read_text()) if "flowruns serving" in b]
        lines = normalised(shown).splitlines()
        printed = _as_shown(demo.banner, demo.server).splitlines()[: len(lines)]
        assert printed == lines, doc.name


def _walk(demo: Started, walkthrough: list[Step], placeholder: str, token: str) -> None:
    """Run the shell blocks of a walkthrough in order, the token written in for
    ``placeholder``, and compare what each prints with the block shown after it."""
    marks = []
    script = []
    for i, step in enumerate(walkthrough):
        commands = step.commands.replace(placeholder, placeholder.replace("…", token))
        commands = commands.replace(f"http://127.0.0.1:{SHOWN_PORT}", demo.server.base)
        marks.append(f"--- step {i} ---")
        script += [f"echo '{marks[-1]}'", commands]
    # The flowruns command of this environment, as an installed flowruns puts it on the PATH.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    result = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=demo.server.log.parent,
        env={**os.environ, "PATH": path},
    )
    outputs = re.split(r"^--- step \d+ ---\n", result.stdout, flags=re.MULTILINE)[1:]
    assert len(outputs) == len(walkthrough), result.stdout
    for step, output in zip(walkthrough, outputs, strict=True):
        if step.shown is None:
            assert output == "", step.commands
        else:
            assert _as_shown(output, demo.server) == normalised(step.shown), step.commands


def _token(demo: Started) -> str:
    token = re.search(r"export TOKEN=(\S+)", demo.banner)
    assert token, demo.banner
    return token[1]


def test_the_readme_walkthrough_prints_what_the_readme_shows(demo: Started) -> None:
    walkthrough = steps(section(README.read_text(), "Five-minute walkthrough"))
    assert "export TOKEN=…" in walkthrough[0].commands
    _walk(demo, walkthrough, "export TOKEN=…", _token(demo))


def test_the_monitoring_guide_prints_what_it_shows(demo: Started) -> None:
    guide = (ROOT / "docs" / "monitoring.md").read_text()
    walkthrough = steps(section(guide, "Try it"))
    assert "FLOWRUNS_TOKEN=…" in walkthrough[0].commands
    _walk(demo, walkthrough, "FLOWRUNS_TOKEN=…", _token(demo))


def test_the_lineage_guide_prints_what_it_shows(demo: Started) -> None:
    guide = (ROOT / "docs" / "lineage.md").read_text()
    walkthrough = steps(section(guide, "Try it"))
    assert "FLOWRUNS_TOKEN=…" in walkthrough[0].commands
    _walk(demo, walkthrough, "FLOWRUNS_TOKEN=…", _token(demo))


def test_readiness_answers_as_the_operations_guide_shows(demo: Started) -> None:
    guide = (ROOT / "docs" / "operations.md").read_text()
    shown = re.search(r"\| `GET /readyz` \| `200 (\{.*?\})`", guide)
    assert shown, "the readiness row of the health table"
    answer = httpx.get(f"{demo.server.base}/readyz")
    assert answer.status_code == 200
    assert answer.text == shown[1]


def test_revision_numbers_in_the_docs_are_the_migrations() -> None:
    """A revision the docs call current is the latest migration; the next one a new migration
    would take is the one after it; any other revision they name exists."""
    latest = head()
    following = f"{int(latest) + 1:04d}"
    revisions = {p.name[:4] for p in (ROOT / "src/flowruns/store/migrations/versions").glob("0*")}
    claims = (
        (re.compile(r"current revision is (\d{4})"), latest),
        (re.compile(r'"schema":\s*"(\d{4})"'), latest),
        (re.compile(r"--rev-id (\d{4})"), following),
    )
    named = re.compile(r"(?<![\w+-])(00(?:0[1-9]|[1-9]\d))(?![\w-])")
    checked = 0
    for doc in DOCS:
        text = doc.read_text()
        for pattern, expected in claims:
            for found in pattern.findall(text):
                checked += 1
                assert found == expected, f"{doc.name}: {pattern.pattern} says {found}"
        for found in named.findall(text):
            assert found in revisions | {following}, f"{doc.name} names revision {found}"
    assert checked >= 3


def test_the_troubleshooting_page_quotes_what_the_server_says(
    demo: Started, tmp_path: Path
) -> None:
    """Each situation the page describes, made real: the message the server answers with is the
    one the page quotes."""
    # Words as a reader reads them: the page wraps long messages over lines.
    page = " ".join((ROOT / "docs" / "troubleshooting.md").read_text().split())
    data = demo.server.log.parent / ".flowruns"
    hub = f"{demo.server.base}/beta/external/industryData"

    def mint(data_dir: Path, **options: Any) -> dict[str, str]:
        options.setdefault("scopes", READ_WRITE_PERMISSIONS)
        token = mint_token(data_dir, tenant=DEFAULT_TENANT, ttl_seconds=3600, **options)
        return {"Authorization": f"Bearer {token}"}

    another = tmp_path / "another"
    local_signing_key(another)  # a key of another server: its tokens are not trusted here
    auth = mint(data)
    process = httpx.post(
        f"{hub}/processes",
        headers=auth,
        json={
            "@odata.type": "#microsoft.graph.industryData.insightsOutgoingFlow",
            "displayName": "t",
        },
    ).json()["id"]
    run = httpx.post(f"{hub}/processes/{process}/runs", headers=auth, json={"displayName": "t"})
    run_url = f"{hub}/runs/{run.json()['id']}"
    answers = [
        httpx.get(f"{hub}/runs"),
        httpx.get(f"{hub}/runs", headers=mint(data, now=time.time() - 7200)),
        httpx.get(f"{hub}/runs", headers=mint(another)),
        httpx.patch(run_url, headers=mint(data, scopes=["IndustryData-Run.Read.All"]), json={}),
        httpx.get(f"{demo.server.base}/external/industryData/runs", headers=auth),
        httpx.get(f"{hub}/runs", headers=auth, params={"$filter": "status eq failed"}),
        httpx.delete(f"{hub}/processes/{process}", headers=auth),
        httpx.patch(run_url, headers={**auth, "If-Match": 'W/"0"'}, json={}),
        httpx.post(f"{hub}/runGroups", headers=auth, data={"displayName": "t"}),
        httpx.patch(run_url, headers=auth, json={"status": "completed"}),
        httpx.patch(run_url, headers=auth, json={"status": "running"}),
    ]
    for answer in answers:
        if answer.is_success:
            continue
        # The page shows the default address where the server names its own.
        message = answer.json()["error"]["message"].replace(demo.server.base, DEFAULT_ADDRESS)
        assert message in page, f"{answer.status_code}: {message}"
