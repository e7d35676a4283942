"""The dashboard's view of process health: the Processes page with healthy, late, missed,
overdue and paused flows, filters, sorting and paging in the address; the overview's health
summary; incidents opening and resolving on screen; a process's expectation set in the browser.

The server evaluates no health itself (``FLOWRUNS_HEALTH_EVALUATION=off``): the test evaluates
its database with a clock of its own, as tests/api/test_health.py does, so every state is
reached at a known moment. Schedules start in 2030, after the expectations are written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from flowruns.api.app import open_database
from flowruns.edm.datetimes import parse
from flowruns.service import health
from flowruns.settings import Settings
from flowruns.store.database import Database
from tests.browser.conftest import (
    LIVE_TIMEOUT_MS,
    PHONE,
    History,
    accessibility_problems,
    open_page,
    screenshot,
    sign_in,
)
from tests.conftest import HUB
from tests.servers import AUTH, running

# Everything below is judged at this moment of the test's clock.
JUDGED = "2030-01-01T03:00:00Z"
DAILY = "R/2030-01-01T02:00:00Z/P1D"
TWIN = "Payroll export"  # two processes carry this name
FILLERS = 30  # processes without an expectation, enough for two pages


@dataclass
class Health:
    history: History
    db: Database

    def evaluate(self, at: str) -> None:
        moment = parse(at)
        health.evaluate_due(self.db, now=lambda: moment)

    def expect(self, name: str, **members: Any) -> None:
        url = f"{HUB}/processes/{self.history.processes[name]}/expectation"
        response = self.history.http.put(url, json=members)
        assert response.status_code in (200, 201), response.text

    def get(self, path: str) -> Any:
        response = self.history.http.get(f"{HUB}/{path}")
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="module")
def flows(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Health]:
    """A server holding one flow in each state, judged at :data:`JUDGED`."""
    where = tmp_path_factory.mktemp("health")
    with (
        running(
            where / "server.log",
            "--data-dir",
            str(where / "data"),
            env={"FLOWRUNS_HEALTH_EVALUATION": "off"},
        ) as server,
        httpx.Client(base_url=server.base, headers=AUTH) as http,
    ):
        history = History(server, http)
        db = open_database(Settings(data_dir=where / "data"))
        flows = Health(history, db)
        for name in ("Healthy export", "Late export", "Missed export", "Overdue export"):
            history.create_process(name, "insightsOutgoingFlow")
        history.create_process("Paused export", "dataShareOutgoingFlow")
        flows.expect("Healthy export", schedule=DAILY, grace="PT30M", owner="finance")
        history.create_run(
            "Healthy export",
            "Healthy export 1",
            status="completed",
            startDateTime="2030-01-01T02:05:00Z",
            endDateTime="2030-01-01T02:15:00Z",
        )
        flows.expect("Late export", schedule=DAILY, grace="PT30M", owner="finance", tags=["daily"])
        flows.expect(
            "Missed export", schedule="R/2029-12-31T02:00:00Z/P1D", grace="PT30M", owner="ops"
        )
        flows.expect("Overdue export", maxDuration="PT1H", owner="ops", tags=["daily"])
        history.create_run(
            "Overdue export", "Overdue export 1", startDateTime="2030-01-01T01:00:00Z"
        )
        flows.expect("Paused export", schedule=DAILY, paused=True, owner="ops")
        for odata_type in ("dataShareOutgoingFlow", "insightsOutgoingFlow"):
            history.create_process(TWIN, odata_type)
        for i in range(FILLERS):
            history.create_process(f"Filler {i:02}", "insightsOutgoingFlow")
        flows.evaluate(JUDGED)
        yield flows
        db.dispose()


def _row(page: Page, name: str) -> Any:
    return page.locator("table.processes tbody tr").filter(
        has=page.get_by_role("link", name=name, exact=True)
    )


def test_each_flow_shows_its_health_in_words(page: Page, flows: Health) -> None:
    sign_in(page, flows.history, "#/processes")
    expect(page.get_by_role("heading", level=1, name="Processes")).to_be_visible()
    for name, state in (
        ("Healthy export", "Healthy"),
        ("Late export", "Late"),
        ("Missed export", "Missed"),
        ("Overdue export", "Overdue"),
        ("Paused export", "Paused"),
    ):
        expect(_row(page, name).locator("td").first).to_contain_text(state)
    # Worst first: paused, missed, overdue, late, …, healthy.
    first = page.locator("table.processes tbody tr td:nth-child(2) a").first
    expect(first).to_have_text("Paused export")
    late = _row(page, "Late export")
    expect(late).to_contain_text("finance")
    expect(late).to_contain_text("daily")
    expect(
        late.get_by_role("link", name=re.compile("^Late incident: Late export: no run"))
    ).to_have_attribute("href", re.compile("#/incidents/"))
    healthy = _row(page, "Healthy export")
    expect(healthy).to_contain_text("Completed")
    strip = healthy.get_by_role("list", name=re.compile("Latest 1 runs"))
    expect(strip.get_by_role("link", name=re.compile("Healthy export 1: Completed"))).to_have_count(
        1
    )
    expect(healthy.locator("td").nth(4).locator("time")).to_have_attribute(
        "datetime", "2030-01-02T02:00:00Z"
    )
    screenshot(page, "processes-laptop")
    assert accessibility_problems(page) == []


def test_processes_of_the_same_name_are_told_apart(page: Page, flows: Health) -> None:
    sign_in(page, flows.history, f"#/processes?q={TWIN}")
    rows = page.locator("table.processes tbody tr")
    expect(rows).to_have_count(2)
    identities = rows.locator(".process-identity").all_inner_texts()
    identities = [text for text in identities if "·" in text]
    assert len(set(identities)) == 2, identities
    assert any("Data share outgoing flow" in text for text in identities)
    assert any("Insights outgoing flow" in text for text in identities)


def test_filters_and_sorting_live_in_the_address(page: Page, flows: Health) -> None:
    sign_in(page, flows.history, "#/processes?health=late&health=missed")
    rows = page.locator("table.processes tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator(".results-status")).to_have_text("2 processes, health, worst first.")
    owner = page.get_by_label("Owner")
    owner.fill("finance")
    owner.press("Enter")
    expect(page).to_have_url(re.compile(r"owner=finance"))
    expect(rows).to_have_count(1)
    expect(_row(page, "Late export")).to_have_count(1)
    page.goto(f"{flows.history.base}/#/processes?tag=daily&sort=name")
    expect(rows).to_have_count(2)
    expect(rows.locator("td:nth-child(2) a")).to_have_text(["Late export", "Overdue export"])
    expect(page.get_by_role("columnheader", name="Process")).to_have_attribute(
        "aria-sort", "ascending"
    )
    page.get_by_role("button", name="Process").click()
    expect(page).to_have_url(re.compile(r"sort=name-desc"))
    expect(rows.locator("td:nth-child(2) a")).to_have_text(["Overdue export", "Late export"])
    page.go_back()
    expect(rows.locator("td:nth-child(2) a")).to_have_text(["Late export", "Overdue export"])
    page.goto(
        f"{flows.history.base}/#/processes?type=microsoft.graph.industryData.dataShareOutgoingFlow"
    )
    expect(rows).to_have_count(2)  # the paused flow and one of the twins


def test_thousands_of_processes_are_paged_one_request_a_page(page: Page, flows: Health) -> None:
    sign_in(page, flows.history)
    asked: list[str] = []
    page.on(
        "request",
        lambda request: asked.append(request.url) if "/delta()" not in request.url else None,
    )
    page.goto(f"{flows.history.base}/#/processes?health=none&sort=name")
    status = page.locator(".results-status")
    total = FILLERS + 2
    expect(status).to_have_text(
        f"Processes 1\u201325 of {total}, name, A to Z; more on the next page."
    )
    page.get_by_role("button", name="Next page").click()
    expect(status).to_have_text(f"Processes 26\u2013{total} of {total}, name, A to Z.")
    # Everything a row shows comes with its page: no request per process (a live update asks
    # the page shown again, with the same URL).
    api = {url for url in asked if "/beta/" in url}
    assert len(api) == 2, api
    assert all("/processes?" in url for url in api), api
    expect(page.locator("table.processes tbody tr")).to_have_count(total - 25)
    page.get_by_role("button", name="Previous page").click()
    expect(page.locator("table.processes tbody tr")).to_have_count(25)


def test_the_overview_counts_flows_by_health_and_lists_open_incidents(
    page: Page, flows: Health
) -> None:
    sign_in(page, flows.history)
    summary = page.get_by_role("region", name="Health of processes")
    late = summary.get_by_role("link", name=re.compile("Late"))
    expect(late).to_contain_text("1")
    incidents = page.get_by_role("region", name="Open incidents")
    expect(incidents.locator("tbody tr")).to_have_count(3)  # late, missed, overdue
    expect(incidents).to_contain_text("Late export: no run started since 2030-01-01 02:00 UTC")
    late.click()
    expect(page).to_have_url(re.compile(r"#/processes\?health=late$"))
    expect(page.locator("table.processes tbody tr")).to_have_count(1)
    assert accessibility_problems(page) == []


def test_an_incident_links_its_process_and_run(page: Page, flows: Health) -> None:
    sign_in(page, flows.history, "#/incidents?state=open&kind=overdue")
    rows = page.locator("table.incidents tbody tr")
    expect(rows).to_have_count(1)
    assert accessibility_problems(page) == []
    rows.get_by_role("link", name=re.compile("still running after")).click()
    expect(page.get_by_role("heading", level=1, name="Incident")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Open")
    expect(page.get_by_role("link", name="Overdue export 1")).to_be_visible()
    screenshot(page, "incident-laptop")
    assert accessibility_problems(page) == []
    page.get_by_role("link", name="Overdue export", exact=True).click()
    expect(page.get_by_role("heading", level=1, name="Overdue export")).to_be_visible()
    region = page.get_by_role("region", name="Health and expectation")
    expect(region).to_contain_text("Overdue")
    expect(region).to_contain_text("No schedule, at most 1 h a run.")
    expect(page.get_by_role("region", name="Incidents").locator("tbody tr")).to_have_count(1)


def test_an_incident_opens_and_resolves_on_screen(page: Page, flows: Health) -> None:
    history = flows.history
    history.create_process("Live feed", "insightsOutgoingFlow")
    flows.expect("Live feed", schedule="R/2030-01-01T04:00:00Z/P1D", grace="PT10M")
    sign_in(page, history, "#/processes?q=Live feed")
    row = _row(page, "Live feed")
    expect(row.locator("td").first).to_contain_text("Unknown")
    flows.evaluate("2030-01-01T04:11:00Z")
    expect(row.locator("td").first).to_contain_text("Late", timeout=LIVE_TIMEOUT_MS)
    expect(page.locator("#announcer")).to_have_text(
        "Live feed is now Late.", timeout=LIVE_TIMEOUT_MS
    )
    page.goto(f"{history.base}/#/incidents?state=open")
    live = page.locator("table.incidents tbody tr").filter(has_text="Live feed")
    expect(live).to_have_count(1)
    history.create_run(
        "Live feed",
        "Live feed 1",
        status="completed",
        startDateTime="2030-01-01T04:20:00Z",
        endDateTime="2030-01-01T04:25:00Z",
    )
    flows.evaluate("2030-01-01T04:30:00Z")
    expect(live).to_have_count(0, timeout=LIVE_TIMEOUT_MS)


def test_a_change_of_health_without_an_incident_shows_live(page: Page, flows: Health) -> None:
    history = flows.history
    process = history.create_process("Resting feed", "insightsOutgoingFlow")
    flows.expect(
        "Resting feed",
        schedule="R/2030-01-02T02:00:00Z/P1D",
        paused=True,
        pausedUntil="2030-01-01T05:00:00Z",
    )
    flows.evaluate("2030-01-01T04:40:00Z")
    sign_in(page, history, "#/processes?q=Resting feed")
    row = _row(page, "Resting feed")
    expect(row.locator("td").first).to_contain_text("Paused")
    flows.evaluate("2030-01-01T05:01:00Z")  # the pause ends; nothing is expected yet
    assert flows.get(f"processes/{process}/health")["state"] == "unknown"
    opened = flows.get(f"incidents?$filter=process/id eq '{process}'&$count=true")
    assert opened["@odata.count"] == 0
    expect(row.locator("td").first).to_contain_text("Unknown", timeout=LIVE_TIMEOUT_MS)
    expect(page.locator("#announcer")).to_have_text(
        "Resting feed is now Unknown.", timeout=LIVE_TIMEOUT_MS
    )
    page.goto(f"{history.base}/#/processes/{process}")
    region = page.get_by_role("region", name="Health and expectation")
    expect(region).to_contain_text("Unknown")
    flows.expect("Resting feed", schedule="R/2030-01-02T02:00:00Z/P1D", paused=True)
    expect(region).to_contain_text("Paused", timeout=LIVE_TIMEOUT_MS)


def test_an_expectation_is_set_in_the_browser(page: Page, flows: Health) -> None:
    history = flows.history
    process = history.create_process("New nightly job", "insightsOutgoingFlow")
    sign_in(page, history, f"#/processes/{process}")
    region = page.get_by_role("region", name="Health and expectation")
    expect(region).to_contain_text("No expectation")
    page.get_by_text("Set an expectation").click()
    page.get_by_label("Schedule").fill("0 2 * * *")
    page.get_by_label("Time zone").fill("Europe/Paris")
    page.get_by_label("Grace").fill("half an hour")
    page.get_by_role("button", name="Save expectation").click()
    grace = page.get_by_label("Grace")
    expect(grace).to_have_attribute("aria-invalid", "true")
    expect(grace).to_be_focused()
    expect(grace).to_have_accessible_description(re.compile("grace: 'half an hour' is not a"))
    expect(page.get_by_role("alert")).to_contain_text("Not saved")
    response = history.http.get(f"{HUB}/processes/{process}/expectation")
    assert response.status_code == 404  # nothing was written
    assert accessibility_problems(page) == []
    grace.fill("PT30M")
    page.get_by_label("Owner").fill("night shift")
    page.get_by_label("Tags").fill("nightly, payroll")
    page.get_by_role("button", name="Save expectation").click()
    expect(page.get_by_text("Expectation saved.")).to_be_visible()
    expect(grace).not_to_have_attribute("aria-invalid", "true")
    expect(region).to_contain_text("Expected every day at 02:00 Europe/Paris, 30 min grace.")
    saved = flows.get(f"processes/{process}/expectation")
    assert (saved["schedule"], saved["timeZone"], saved["grace"]) == (
        "0 2 * * *",
        "Europe/Paris",
        "PT30M",
    )
    assert (saved["owner"], saved["tags"]) == ("night shift", ["nightly", "payroll"])
    expect(page.get_by_text("Edit the expectation")).to_be_visible()
    screenshot(page, "process-expectation-laptop")
    page.get_by_role("button", name="Remove expectation").click()
    expect(page.get_by_text("Expectation removed.")).to_be_visible()
    expect(region).to_contain_text("No expectation")
    gone = history.http.get(f"{HUB}/processes/{process}/expectation")
    assert gone.status_code == 404


@pytest.mark.parametrize("view", ["processes", "incidents", "incident", "process", "overview"])
def test_each_health_page_on_a_phone_in_the_dark(
    browser: Browser, flows: Health, view: str
) -> None:
    page, problems = open_page(browser, PHONE, dark=True)
    incident = flows.get("incidents?$filter=kind eq 'missed'&$select=id")["value"][0]["id"]
    routes = {
        "processes": "#/processes",
        "incidents": "#/incidents",
        "incident": f"#/incidents/{incident}",
        "process": f"#/processes/{flows.history.processes['Late export']}",
        "overview": "#/",
    }
    try:
        sign_in(page, flows.history, routes[view])
        expect(page.locator("main h1")).to_be_visible()
        expect(page.locator("main .loading")).to_have_count(0)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0
        assert accessibility_problems(page) == []
        screenshot(page, f"{view}-health-phone")
    finally:
        page.context.close()
    assert problems.messages == []


def test_the_process_chart_marks_expected_starts_in_words_too(
    page: Page, browser: Browser, flows: Health
) -> None:
    history = flows.history
    process = history.create_process("Marked export", "insightsOutgoingFlow")
    flows.expect("Marked export", schedule="R/2029-12-30T02:00:00Z/P1D", grace="PT30M")
    for name, day in (("Marked export 1", "2029-12-30"), ("Marked export 2", "2030-01-01")):
        history.create_run(
            "Marked export",
            name,
            status="completed",
            startDateTime=f"{day}T02:04:00Z",
            endDateTime=f"{day}T02:14:00Z",
        )
    flows.evaluate(JUDGED)  # 2029-12-31's start was missed; the run of 2030-01-01 resolved it
    sign_in(page, history, f"#/processes/{process}")
    chart = page.get_by_role("region", name="Runs over time")
    expect(chart.locator("figcaption")).to_contain_text(
        re.compile(r"3 expected starts: 2 answered by a run, 1 missed \(Dec 31, 2029")
    )
    expect(chart.locator("svg g.expected")).to_have_count(3)
    expect(chart.locator("svg g.expected.missed")).to_have_count(1)
    expect(chart.get_by_role("list").filter(has_text="Expected start missed")).to_have_count(1)
    chart.get_by_text("Show the expected starts as a table").click()
    rows = chart.locator("table.expected-starts tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text(re.compile(r"Expected Jan 1, 2030.*, run started Jan 1"))
    expect(rows.nth(0).get_by_role("link", name="Marked export 2")).to_have_count(1)
    expect(rows.nth(1)).to_contain_text(re.compile(r"Expected Dec 31, 2029.* — missed"))
    expect(rows.nth(2).get_by_role("link", name="Marked export 1")).to_have_count(1)
    screenshot(page, "process-expected-starts-laptop")
    assert accessibility_problems(page) == []
    phone, problems = open_page(browser, PHONE, dark=True)
    try:
        sign_in(phone, history, f"#/processes/{process}")
        chart = phone.get_by_role("region", name="Runs over time")
        expect(chart.locator("svg g.expected.missed")).to_have_count(1)
        overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0
        assert accessibility_problems(phone) == []
        screenshot(phone, "process-expected-starts-phone")
    finally:
        phone.context.close()
    assert problems.messages == []
