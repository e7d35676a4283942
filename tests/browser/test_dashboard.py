"""The dashboard as a person uses it: sign in, look at the overview, filter runs, open a failed
run, read a process's history, and watch a running run finish without reloading."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import (
    ATTENDANCE,
    BLOCKING_CODE,
    BLOCKING_MESSAGE,
    BLOCKING_TARGET,
    DETAIL_CODE,
    DETAIL_MESSAGE,
    FAILED_RUN,
    LIVE,
    LIVE_TIMEOUT_MS,
    PHONE,
    ROSTER,
    ROSTER_STATUSES,
    RUNNING_RUN,
    TOKEN,
    History,
    accessibility_problems,
    open_page,
    screenshot,
    sign_in,
)
from tests.servers import running


def _main(page: Page) -> None:
    expect(page.locator("main .loading")).to_have_count(0)


def test_sign_in_by_pasting_a_token(page: Page, history: History) -> None:
    page.goto(history.base)
    token = page.get_by_label("Access token")
    expect(token).to_be_visible()
    assert accessibility_problems(page) == []
    screenshot(page, "sign-in-laptop")

    token.fill("not a token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("That is not a token")

    # Well-formed, but the server does not trust its signature: the server's own words are shown.
    forged = TOKEN[: TOKEN.rindex(".") + 1] + "AAAA"
    token.fill(forged)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Please sign in again")
    assert page.evaluate("localStorage.length") == 0

    # The line `flowruns serve` prints can be pasted as it is.
    page.get_by_label("Access token").fill(f"    export TOKEN={TOKEN}\n")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1, name="Overview")).to_be_visible()
    page.locator(".session-details summary").click()
    expect(page.locator(".session-claims")).to_contain_text("IndustryData-Run.ReadWrite.All")
    expect(page.locator(".session-claims")).to_contain_text("00000000-0000-0000-0000-000000000001")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Access token")).to_be_visible()
    assert page.evaluate("localStorage.length") == 0


def test_the_sign_in_link_keeps_the_token_out_of_the_address_and_the_log(
    page: Page, history: History
) -> None:
    page.goto(f"{history.base}/#token={TOKEN}")
    expect(page.get_by_role("heading", level=1, name="Overview")).to_be_visible()
    assert page.url == f"{history.base}/#/"
    page.go_back()  # the address with the token was replaced, not kept in the history
    assert page.url == "about:blank"
    page.go_forward()
    assert page.evaluate("localStorage.getItem('flowruns.token')") == TOKEN
    page.reload()  # the browser keeps the sign-in
    expect(page.get_by_role("heading", level=1, name="Overview")).to_be_visible()
    assert TOKEN not in history.server.log.read_text()


def test_a_server_without_authentication_needs_no_sign_in(page: Page, tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    with running(log, "--no-auth", "--data-dir", str(tmp_path / "data")) as server:
        page.goto(server.base)
        expect(page.get_by_role("heading", level=1, name="Overview")).to_be_visible()
        expect(page.locator("#session")).to_have_text("Authentication is off on this server")
        expect(page.get_by_role("region", name="Latest failures")).to_contain_text(
            "No run has failed."
        )


def test_overview_shows_runs_per_day_counts_running_runs_and_failures(
    page: Page, history: History
) -> None:
    sign_in(page, history)
    _main(page)
    # The keyboard can go straight to the content.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    failed = page.locator(".tile[data-status='failed'] .tile-number")
    expect(failed).to_have_text(str(ROSTER_STATUSES.count("failed") + 1))
    chart = page.get_by_role("img", name=re.compile("Runs per day over the last 30 days"))
    expect(chart).to_be_visible()
    assert chart.locator("rect.bar").count() >= 20  # 20 days with runs, some with several statuses
    expect(page.locator("figcaption").first).to_contain_text("UTC")
    running = page.get_by_role("region", name=re.compile("Running now"))
    expect(running.get_by_role("link", name=RUNNING_RUN)).to_be_visible()
    failures = page.get_by_role("region", name="Latest failures")
    expect(failures.get_by_role("link", name=FAILED_RUN)).to_be_visible()
    expect(failures).to_contain_text(BLOCKING_CODE)
    expect(failures).to_contain_text(BLOCKING_MESSAGE)
    # The chart's numbers as a table, for those who cannot see it.
    page.get_by_text("Show the numbers as a table").click()
    expect(page.locator(".chart-data table tbody tr")).to_have_count(30)
    assert accessibility_problems(page) == []
    screenshot(page, "overview-laptop")

    # A day's bar opens that day's runs.
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    chart.locator("g.target").nth(28).click()
    expect(page).to_have_url(re.compile(rf"#/runs\?from={yesterday}&to={yesterday}$"))
    expect(page.locator("table.runs tbody tr").first).to_be_visible()


def test_runs_filters_live_in_the_address_and_pages_follow_next_links(
    page: Page, history: History
) -> None:
    sign_in(page, history, "#/runs")
    rows = page.locator("table.runs tbody tr")
    expect(rows).to_have_count(50)

    page.get_by_label("Failed").check()
    expect(page).to_have_url(re.compile(r"#/runs\?status=failed$"))
    expect(rows).to_have_count(ROSTER_STATUSES.count("failed") + 1)
    for chip in rows.locator(".chip").all():
        expect(chip).to_have_text("Failed")

    search = page.get_by_label("Name contains")
    search.fill(ATTENDANCE)
    search.press("Enter")
    expect(page).to_have_url(re.compile(r"#/runs\?status=failed&q=Attendance\+insights$"))
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(FAILED_RUN)
    assert accessibility_problems(page) == []
    screenshot(page, "runs-filtered-laptop")

    # Back restores the previous filters, in the form and in the table.
    page.go_back()
    expect(page).to_have_url(re.compile(r"#/runs\?status=failed$"))
    expect(search).to_have_value("")
    expect(rows).to_have_count(ROSTER_STATUSES.count("failed") + 1)

    # A shared link opens the same view; Next follows the server's nextLink, Previous goes back.
    page.goto(f"{history.base}/#/runs?status=completed")
    expect(page.get_by_label("Completed", exact=True)).to_be_checked()
    status = page.locator(".results-status")
    completed = ROSTER_STATUSES.count("completed") + 6  # and Attendance insights 1 to 6
    expect(status).to_have_text(re.compile(rf"^Runs 1\u201350 of {completed}, newest first; more"))
    first_page = rows.first.get_attribute("data-run-id")
    assert first_page
    page.get_by_role("button", name="Next page").click()
    expect(status).to_have_text(
        re.compile(rf"^Runs 51\u2013{completed} of {completed}, newest first\.$")
    )
    expect(rows.first).not_to_have_attribute("data-run-id", first_page)
    expect(page.get_by_role("button", name="Next page")).to_be_disabled()
    page.get_by_role("button", name="Previous page").click()
    expect(status).to_have_text(re.compile(r"^Runs 1\u201350"))
    expect(rows.first).to_have_attribute("data-run-id", first_page)

    # The process filter offers every process by name, type and the start of its id.
    live = history.processes[LIVE]
    page.get_by_label("Process").select_option(
        label=f"{LIVE} · Insights outgoing flow · {live[:8]}"
    )
    expect(page).to_have_url(re.compile(f"process={history.processes[LIVE]}"))


def test_a_failed_run_shows_its_blocking_error_and_statistics(page: Page, history: History) -> None:
    sign_in(page, history, "#/runs?status=failed")
    page.get_by_role("link", name=FAILED_RUN).click()
    expect(page.get_by_role("heading", level=1, name=FAILED_RUN)).to_be_visible()
    assert page.url.endswith(f"#/runs/{history.runs[FAILED_RUN]['id']}")
    error = page.get_by_role("region", name="Blocking error")
    expect(error).to_contain_text(BLOCKING_MESSAGE)
    expect(error).to_contain_text(BLOCKING_CODE)
    expect(error).to_contain_text(BLOCKING_TARGET)
    expect(error.get_by_role("row", name=re.compile(DETAIL_CODE))).to_contain_text(DETAIL_MESSAGE)
    statistics = page.get_by_role("region", name="Statistics")
    expect(statistics.get_by_role("row", name="Records processed")).to_contain_text("1,520")
    expect(statistics.get_by_role("row", name=re.compile("invalidDate"))).to_contain_text(
        "enrollmentDate is not a date"
    )
    statistics.get_by_text("Statistics as JSON").click()
    expect(statistics.locator("pre")).to_contain_text('"recordsFailed": 12')
    neighbours = page.get_by_role("region", name="Neighbouring runs of this process")
    expect(neighbours.get_by_role("link", name=f"{ATTENDANCE} 1", exact=True)).to_be_visible()
    expect(neighbours.get_by_role("link", name=RUNNING_RUN)).to_be_visible()
    process = page.get_by_role("region", name="Process", exact=True)
    expect(process).to_contain_text("Insights outgoing flow")
    _main(page)
    assert accessibility_problems(page) == []
    screenshot(page, "run-failed-laptop")


def test_a_process_page_charts_its_runs_with_the_success_rate(page: Page, history: History) -> None:
    sign_in(page, history, f"#/processes/{history.processes[ROSTER]}")
    expect(page.get_by_role("heading", level=1, name=ROSTER)).to_be_visible()
    chart = page.get_by_role("img", name=re.compile("Duration and status of the latest 70 runs"))
    expect(chart).to_be_visible()
    expect(chart.locator("rect.bar")).to_have_count(len(ROSTER_STATUSES))
    expect(chart.locator(".marker")).to_have_count(10)  # every run that did not simply complete
    finished = len(ROSTER_STATUSES)
    rate = page.locator(".tile", has_text="Success rate")
    expect(rate).to_contain_text(f"{60 / finished:.1%}")
    expect(rate).to_contain_text(f"60 of {finished} finished runs")
    expect(page.locator(".tile", has_text="Typical duration")).to_contain_text("min")
    expect(page.get_by_role("region", name="Properties")).to_contain_text("nightly-roster")
    assert accessibility_problems(page) == []
    screenshot(page, "process-laptop")


def test_running_runs_finish_on_screen_without_reloading(page: Page, history: History) -> None:
    started = (datetime.now(UTC) - timedelta(minutes=2)).isoformat().replace("+00:00", "Z")
    history.create_run(LIVE, "Live run A", startDateTime=started)
    history.create_run(LIVE, "Live run B")
    history.create_run(LIVE, "Live run C")

    sign_in(page, history, f"#/runs/{history.runs['Live run A']['id']}")
    chip = page.locator(".title-row .chip")
    expect(chip).to_have_text("Running")
    ticking = page.get_by_role("region", name="Summary").locator("[data-since]")
    before = ticking.inner_text()
    expect(ticking).not_to_have_text(before)  # the duration counts up in the browser
    history.finish("Live run A")
    expect(chip).to_have_text("Completed", timeout=LIVE_TIMEOUT_MS)
    expect(page.locator("#announcer")).to_have_text("This run is now Completed.")
    expect(page.get_by_role("region", name="Summary")).not_to_contain_text("Still running")

    page.goto(f"{history.base}/#/")
    running = page.get_by_role("region", name=re.compile("Running now"))
    expect(running.get_by_role("link", name="Live run B")).to_be_visible()
    history.finish("Live run B", "completedWithWarnings")
    expect(running.get_by_role("link", name="Live run B")).to_have_count(0, timeout=LIVE_TIMEOUT_MS)
    expect(page.locator("#announcer")).to_have_text(
        "Live run B finished: Completed with warnings.", timeout=LIVE_TIMEOUT_MS
    )

    # The first page of a process's runs: a run finishing changes its row, a run starting
    # appears at the top, both announced; the focus stays on the link it was on.
    page.goto(f"{history.base}/#/runs?process={history.processes[LIVE]}")
    row = page.get_by_role("row", name=re.compile("Live run C"))
    expect(row.locator(".chip")).to_have_text("Running")
    row.get_by_role("link", name="Live run C").focus()
    history.finish("Live run C", "failed")
    expect(row.locator(".chip")).to_have_text("Failed", timeout=LIVE_TIMEOUT_MS)
    expect(page.locator("#announcer")).to_have_text("Live run C finished: Failed.")
    history.create_run(LIVE, "Live run D")
    first = page.locator("table.runs tbody tr").first
    expect(first).to_contain_text("Live run D", timeout=LIVE_TIMEOUT_MS)
    expect(page.locator("#announcer")).to_have_text("New run: Live run D.")
    expect(page.get_by_role("link", name="Live run C")).to_be_focused()
    history.finish("Live run D")
    expect(first.locator(".chip")).to_have_text("Completed", timeout=LIVE_TIMEOUT_MS)

    # A process's page follows its runs too: one starting shows in its figures.
    page.goto(f"{history.base}/#/processes/{history.processes[LIVE]}")
    expect(page.get_by_role("region", name="Runs over time")).to_contain_text("Live run D")
    history.create_run(LIVE, "Live run E")
    expect(page.locator("#announcer")).to_have_text("New run: Live run E.", timeout=LIVE_TIMEOUT_MS)
    history.finish("Live run E")
    expect(page.locator("#announcer")).to_have_text(
        "Live run E finished: Completed.", timeout=LIVE_TIMEOUT_MS
    )


@pytest.mark.parametrize("view", ["sign-in", "overview", "runs", "run", "process"])
def test_a_phone_shows_every_page_without_sideways_scrolling(
    browser: Browser, history: History, view: str
) -> None:
    # In the dark theme, so axe checks its contrast too (the laptop tests use the light one).
    page, problems = open_page(browser, PHONE, dark=True)
    routes = {
        "overview": "#/",
        "runs": "#/runs",
        "run": f"#/runs/{history.runs[FAILED_RUN]['id']}",
        "process": f"#/processes/{history.processes[ROSTER]}",
    }
    try:
        if view == "sign-in":
            page.goto(history.base)
        else:
            sign_in(page, history, routes[view])
        expect(page.locator("main h1")).to_be_visible()
        _main(page)
        expect(page.locator("main p.loading, main [role=status].loading")).to_have_count(0)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0
        assert accessibility_problems(page) == []
        screenshot(page, f"{view}-phone")
    finally:
        page.context.close()
    assert problems.messages == []


def test_live_updates_follow_delta_links_and_read_nothing_else_when_nothing_changed(
    page: Page, history: History
) -> None:
    sign_in(page, history, "#/")
    _main(page)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))

    def follows(url: str) -> bool:
        return "/runs/delta()" in url and "deltatoken=latest" not in url

    # Live updates until two in a row find nothing changed (the history's own runs may still
    # move, and health is read again at the update after a change).
    quiet = 0
    for _ in range(10):
        with page.expect_response(lambda r: follows(r.url), timeout=LIVE_TIMEOUT_MS) as answer:
            pass
        quiet = quiet + 1 if answer.value.json()["value"] == [] else 0
        if quiet == 2:
            break
    requests.clear()
    with page.expect_request(lambda r: follows(r.url), timeout=LIVE_TIMEOUT_MS):
        pass
    # A whole live update with no change in between: one delta page for each collection the
    # overview follows (runs, incidents, processes), and nothing re-read.
    api = [url for url in requests if "/beta/" in url]
    assert all("/delta()" in url and "$deltatoken=" in url for url in api), api
    assert sum("/runs/delta()" in url for url in api) == 1, api
    # A change makes the next update read the overview again.
    history.create_run(LIVE, "Live run F")
    running = page.get_by_role("region", name=re.compile("Running now"))
    expect(running.get_by_role("link", name="Live run F")).to_be_visible(timeout=LIVE_TIMEOUT_MS)
