"""Browser tests of the dashboard: Debian's chromium driven by Playwright, against a real
``flowruns serve`` holding a small history written through the API.

Chromium is found at /usr/lib/chromium/chromium (Debian) or on the PATH; Playwright's own browser
download is never used. Without chromium these tests are skipped locally and fail under ``CI``
(``make test`` installs it when it runs as root). One browser and one server per module.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Error,
    Page,
    ViewportSize,
    expect,
    sync_playwright,
)

from tests.conftest import HUB, NS
from tests.servers import AUTH, Server, running

DEBIAN_CHROMIUM = Path("/usr/lib/chromium/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
TOKEN = AUTH["Authorization"].removeprefix("Bearer ")
LAPTOP: ViewportSize = {"width": 1366, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}
# Live views poll every 5 s; give a change two rounds to show.
LIVE_TIMEOUT_MS = 15_000

expect.set_options(timeout=10_000)


def chromium_path() -> str | None:
    if DEBIAN_CHROMIUM.exists():
        return str(DEBIAN_CHROMIUM)
    return shutil.which("chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    path = chromium_path()
    if path is None:
        message = "chromium is not installed (Debian: apt-get install chromium; make test does it)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI runs the browser tests", pytrace=False)
        pytest.skip(message)
    arguments = ["--no-sandbox"] if os.geteuid() == 0 else []
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, headless=True, args=arguments)
        yield launched
        launched.close()


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@dataclass
class History:
    """What the server holds, by name, for the tests to look for."""

    server: Server
    http: httpx.Client
    processes: dict[str, str] = field(default_factory=dict)  # display name → id
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)  # display name → run

    @property
    def base(self) -> str:
        return self.server.base

    def create_process(self, name: str, odata_type: str, **extra: Any) -> str:
        body = {"@odata.type": f"{NS}.{odata_type}", "displayName": name, **extra}
        response = self.http.post(f"{HUB}/processes", json=body)
        assert response.status_code == 201, response.text
        self.processes[name] = response.json()["id"]
        return self.processes[name]

    def create_run(self, process: str, name: str, **fields: Any) -> dict[str, Any]:
        url = f"{HUB}/processes/{self.processes[process]}/runs"
        response = self.http.post(url, json={"displayName": name, **fields})
        assert response.status_code == 201, response.text
        self.runs[name] = response.json()
        return self.runs[name]

    def finish(self, name: str, status: str = "completed") -> None:
        url = f"{HUB}/runs/{self.runs[name]['id']}"
        response = self.http.patch(url, json={"status": status})
        assert response.status_code == 200, response.text


# The process with a known success rate: 60 completed, 5 with warnings, 3 with errors, 2 failed.
ROSTER = "Nightly roster export"
ROSTER_STATUSES = ["completed"] * 60 + ["completedWithWarnings"] * 5
ROSTER_STATUSES += ["completedWithErrors"] * 3 + ["failed"] * 2
ATTENDANCE = "Attendance insights"
FAILED_RUN = "Attendance insights 7"
RUNNING_RUN = "Attendance insights 8"
LIVE = "Live updates"
BLOCKING_CODE = "quotaExceeded"
BLOCKING_MESSAGE = "The destination share is over its quota"
BLOCKING_TARGET = "attendance.csv"
DETAIL_CODE = "shareFull"
DETAIL_MESSAGE = "Share 'attendance' holds 5 GiB of 5 GiB"
BLOCKING_ERROR = {
    "code": BLOCKING_CODE,
    "message": BLOCKING_MESSAGE,
    "target": BLOCKING_TARGET,
    "details": [{"code": DETAIL_CODE, "message": DETAIL_MESSAGE, "target": "attendance"}],
}
FAILED_STATISTICS = {
    "recordsProcessed": 1520,
    "recordsSucceeded": 1508,
    "recordsFailed": 12,
    "errorCount": 12,
    "errors": [
        {"code": "invalidDate", "message": "enrollmentDate is not a date", "target": "rows.csv"}
    ],
}


def _seed(history: History) -> None:
    now = datetime.now(UTC)
    history.create_process(
        ROSTER,
        "dataShareOutgoingFlow",
        shareName="nightly-roster",
        sharingState="running",
        readinessStatus="ready",
    )
    history.create_process(ATTENDANCE, "insightsOutgoingFlow")
    history.create_process(LIVE, "insightsOutgoingFlow")
    for i, status in enumerate(ROSTER_STATUSES):
        start = now - timedelta(hours=7 * (len(ROSTER_STATUSES) - i))
        fields: dict[str, Any] = {
            "status": status,
            "startDateTime": _iso(start),
            "endDateTime": _iso(start + timedelta(minutes=5 + i % 9)),
            "statistics": {"recordsProcessed": 1000 + i, "warningCount": 0},
        }
        if status == "failed":
            fields["blockingError"] = {"code": "connectionFailed", "message": "Timed out"}
        history.create_run(ROSTER, f"{ROSTER} {i + 1}", **fields)
    for i in range(1, 7):
        start = now - timedelta(days=i, minutes=30)
        history.create_run(
            ATTENDANCE,
            f"{ATTENDANCE} {i}",
            status="completed",
            startDateTime=_iso(start),
            endDateTime=_iso(start + timedelta(minutes=2)),
        )
    start = now - timedelta(hours=3)
    history.create_run(
        ATTENDANCE,
        FAILED_RUN,
        status="failed",
        startDateTime=_iso(start),
        endDateTime=_iso(start + timedelta(minutes=4)),
        blockingError=BLOCKING_ERROR,
        statistics=FAILED_STATISTICS,
    )
    history.create_run(ATTENDANCE, RUNNING_RUN, startDateTime=_iso(now - timedelta(minutes=20)))


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[History]:
    where = tmp_path_factory.mktemp("browser")
    with (
        running(where / "server.log", "--data-dir", str(where / "data")) as server,
        httpx.Client(base_url=server.base, headers=AUTH) as http,
    ):
        seeded = History(server, http)
        _seed(seeded)
        yield seeded


@dataclass
class Problems:
    """What went wrong inside the page: uncaught exceptions and console errors (a CSP refusal
    is one). A 4xx the API answered on purpose is logged by chromium as a failed load: not one."""

    messages: list[str] = field(default_factory=list)

    def console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and "Failed to load resource" not in message.text:
            self.messages.append(message.text)

    def exception(self, error: Error) -> None:
        self.messages.append(f"{error.name}: {error.message}")


def open_page(
    browser: Browser, viewport: ViewportSize, *, dark: bool = False
) -> tuple[Page, Problems]:
    context = browser.new_context(
        viewport=viewport,
        locale="en-US",
        timezone_id="UTC",
        color_scheme="dark" if dark else "light",
    )
    page = context.new_page()
    problems = Problems()
    page.on("console", problems.console)
    page.on("pageerror", problems.exception)
    return page, problems


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh laptop-sized tab in a browser context of its own (its own local storage) that
    must end without page errors."""
    tab, problems = open_page(browser, LAPTOP)
    yield tab
    tab.context.close()
    assert problems.messages == []


def sign_in(page: Page, history: History, route: str = "#/") -> None:
    """Open the sign-in link, then go to ``route``."""
    page.goto(f"{history.base}/#token={TOKEN}")
    expect(page.get_by_role("heading", level=1, name="Overview")).to_be_visible()
    if route != "#/":
        page.goto(f"{history.base}/{route}")


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def accessibility_problems(page: Page) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now."""
    violations = Axe().run(page).response["violations"]
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])} times, e.g. {v['nodes'][0]['target']})"
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]
