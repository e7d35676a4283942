"""The Runs page as a place to work: what went wrong in each run, how many runs match, sorting
that lives in the address, and processes of the same name told apart in the filter."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import (
    BLOCKING_CODE,
    BLOCKING_MESSAGE,
    FAILED_RUN,
    History,
    accessibility_problems,
    screenshot,
    sign_in,
)
from tests.conftest import HUB

TWIN = "Roster export"  # two processes carry this name
WARNED = "Roster export with warnings"
ERRORED = "Roster export with errors"


@pytest.fixture(scope="module")
def twins(history: History) -> dict[str, str]:
    """Two processes named alike, of different types, with a run each: type → process id."""
    ids = {}
    for odata_type in ("dataShareOutgoingFlow", "insightsOutgoingFlow"):
        ids[odata_type] = history.create_process(TWIN, odata_type)
        history.create_run(TWIN, f"{TWIN} by {odata_type}")
        history.finish(f"{TWIN} by {odata_type}")
    history.create_run(
        TWIN,
        WARNED,
        status="completedWithWarnings",
        statistics={"recordsProcessed": 10, "warningCount": 3, "errorCount": 0},
    )
    history.create_run(
        TWIN,
        ERRORED,
        status="completedWithErrors",
        statistics={"recordsProcessed": 10, "warningCount": 1, "errorCount": 2},
    )
    return ids


def _total(history: History) -> int:
    response = history.http.get(f"{HUB}/runs/$count")
    assert response.status_code == 200, response.text
    return int(response.text)


def test_each_run_says_what_went_wrong_and_the_page_says_how_many_match(
    page: Page, history: History, twins: dict[str, str]
) -> None:
    sign_in(page, history, "#/runs")
    rows = page.locator("table.runs tbody tr")
    expect(rows).to_have_count(50)
    expect(page.locator(".results-status")).to_have_text(
        f"Runs 1\u201350 of {_total(history):,}, newest first; more on the next page."
    )
    expect(page.get_by_role("row", name=re.compile(WARNED))).to_contain_text("3 warnings")
    expect(page.get_by_role("row", name=re.compile(ERRORED))).to_contain_text("2 errors, 1 warning")

    page.goto(f"{history.base}/#/runs?status=failed&q=Attendance")
    expect(page.locator(".results-status")).to_have_text("1 run, newest first.")
    failed = page.get_by_role("row", name=re.compile(FAILED_RUN))
    expect(failed).to_contain_text(BLOCKING_CODE)
    expect(failed).to_contain_text(BLOCKING_MESSAGE)
    assert accessibility_problems(page) == []


def test_sorting_lives_in_the_address(page: Page, history: History) -> None:
    sign_in(page, history, "#/runs")
    rows = page.locator("table.runs tbody tr")
    expect(rows).to_have_count(50)
    started = page.get_by_role("columnheader", name="Started")
    expect(started).to_have_attribute("aria-sort", "descending")

    page.get_by_role("button", name="Run", exact=True).click()
    expect(page).to_have_url(re.compile(r"#/runs\?sort=name$"))
    names = page.get_by_role("columnheader", name="Run")
    expect(names).to_have_attribute("aria-sort", "ascending")
    expect(started).not_to_have_attribute("aria-sort", re.compile(".*"))
    first = rows.first.locator("td").nth(1).inner_text()
    listed = [row.locator("td").nth(1).inner_text() for row in rows.all()]
    assert listed == sorted(listed)
    expect(page.locator(".results-status")).to_contain_text("name, A to Z")
    assert accessibility_problems(page) == []
    screenshot(page, "runs-sorted-laptop")

    # Again: the other way round. A shared link opens in the same order, the choice shown.
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page).to_have_url(re.compile(r"#/runs\?sort=name-desc$"))
    expect(names).to_have_attribute("aria-sort", "descending")
    expect(rows.first.locator("td").nth(1)).not_to_have_text(first)
    page.goto(f"{history.base}/#/runs?status=completed&sort=longest")
    page.reload()
    expect(page.get_by_label("Sort by")).to_have_value("longest")
    expect(page.get_by_role("columnheader", name="Duration")).to_have_attribute(
        "aria-sort", "descending"
    )
    # Sorting keeps the filters, and choosing from the list sorts as well.
    page.get_by_label("Sort by").select_option(label="Oldest first")
    expect(page).to_have_url(re.compile(r"#/runs\?status=completed&sort=oldest$"))
    expect(started).to_have_attribute("aria-sort", "ascending")


def test_processes_of_the_same_name_are_told_apart(
    page: Page, history: History, twins: dict[str, str]
) -> None:
    sign_in(page, history, "#/runs")
    choices = page.get_by_label("Process").locator("option", has_text=re.compile(f"^{TWIN} · "))
    expect(choices).to_have_count(2)
    share = twins["dataShareOutgoingFlow"]
    label = f"{TWIN} · Data share outgoing flow · {share[:8]}"
    expect(page.get_by_label("Process").locator("option", has_text=label)).to_have_count(1)
    expect(
        page.get_by_label("Process").locator("option", has_text="Insights outgoing flow · ")
    ).not_to_have_count(0)
    page.get_by_label("Process").select_option(label=label)
    expect(page).to_have_url(re.compile(f"process={share}"))
    expect(page.get_by_role("link", name=f"{TWIN} by dataShareOutgoingFlow")).to_be_visible()
    expect(page.get_by_role("link", name=f"{TWIN} by insightsOutgoingFlow")).to_have_count(0)
