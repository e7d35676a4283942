"""The dashboard's lineage: a run's inputs and outputs on its page, the Datasets page searched by
name (in the address), a dataset's page with its freshness and its writers and readers over
time, and each of them accessible on a laptop and on a phone, in light and dark."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import (
    LAPTOP,
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

LOADER = "Orders loader"
ORDERS = "warehouse.orders"
RAW = "raw.orders"
WAREHOUSE = "postgres://warehouse:5432"
REPORT = "Revenue report"
UNREAD = "archive.orders_2019"
LOADS = 12  # runs that wrote the orders: enough for a chart


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class Lineage:
    def __init__(self, history: History) -> None:
        self.history = history
        self.datasets: dict[str, str] = {}  # name → id

    def record(self, run: str, direction: str, name: str, **body: Any) -> None:
        run_id = self.history.runs[run]["id"]
        url = f"{HUB}/runs/{run_id}/{direction}"
        response = self.history.http.post(url, json={"name": name, **body})
        assert response.status_code in (200, 201), response.text
        self.datasets[name] = response.json()["datasetId"]


@pytest.fixture(scope="module")
def lineage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lineage]:
    where = tmp_path_factory.mktemp("lineage")
    with (
        running(where / "server.log", "--data-dir", str(where / "data")) as server,
        httpx.Client(base_url=server.base, headers=AUTH) as http,
    ):
        history = History(server, http)
        made = Lineage(history)
        history.create_process(LOADER, "insightsOutgoingFlow")
        history.create_process(REPORT, "insightsOutgoingFlow")
        now = datetime.now(UTC)
        for i in range(LOADS):
            start = now - timedelta(days=LOADS - i, hours=2)
            name = f"{LOADER} {i + 1}"
            history.create_run(LOADER, name, startDateTime=_iso(start))
            made.record(name, "inputs", RAW, namespace=WAREHOUSE, rowCount=1000 + 10 * i)
            made.record(name, "outputs", ORDERS, rowCount=1000 + 10 * i)
            status = "failed" if i == LOADS - 2 else "completed"
            url = f"{HUB}/runs/{history.runs[name]['id']}"
            ended = {"status": status, "endDateTime": _iso(start + timedelta(minutes=9))}
            response = http.patch(url, json=ended)
            assert response.status_code == 200, response.text
        history.create_run(REPORT, f"{REPORT} 1", startDateTime=_iso(now - timedelta(hours=1)))
        made.record(f"{REPORT} 1", "inputs", ORDERS, rowCount=1110)
        made.record(f"{REPORT} 1", "outputs", UNREAD)
        yield made


def test_a_run_lists_its_inputs_and_outputs(page: Page, lineage: Lineage) -> None:
    run = lineage.history.runs[f"{LOADER} 3"]
    sign_in(page, lineage.history, f"#/runs/{run['id']}")
    datasets = page.get_by_role("region", name="Datasets")
    inputs = datasets.get_by_role("table", name=re.compile("^Inputs"))
    outputs = datasets.get_by_role("table", name=re.compile("^Outputs"))
    expect(inputs.get_by_role("row")).to_have_count(2)  # heading and one dataset
    expect(inputs).to_contain_text(WAREHOUSE)
    expect(inputs).to_contain_text("1,020")
    written = outputs.get_by_role("link", name=ORDERS)
    expect(written).to_have_attribute("href", f"#/datasets/{lineage.datasets[ORDERS]}")
    expect(outputs).to_contain_text("flowruns")
    written.click()
    expect(page.get_by_role("heading", level=1, name=ORDERS)).to_be_visible()
    assert accessibility_problems(page) == []


def test_a_dataset_shows_its_freshness_writers_and_readers(page: Page, lineage: Lineage) -> None:
    sign_in(page, lineage.history, f"#/datasets/{lineage.datasets[ORDERS]}")
    expect(page.get_by_role("heading", level=1, name=ORDERS)).to_be_visible()
    freshness = page.get_by_role("region", name="Freshness")
    # The last load ended a day and two hours ago.
    expect(freshness).to_contain_text("A successful run last wrote it yesterday.")
    # A load a day, one of which failed: ten gaps between eleven successful writes.
    expect(freshness).to_contain_text(
        "Successful writes came every 1 d 0 h (the median of the 10 gaps between the latest 11)."
    )
    last = lineage.history.runs[f"{LOADER} {LOADS}"]["id"]
    expect(freshness.get_by_role("link", name="The run that wrote it")).to_have_attribute(
        "href", f"#/runs/{last}"
    )
    writers = page.get_by_role("region", name="Writers over time")
    expect(writers.get_by_role("img", name=re.compile(f"latest {LOADS} runs"))).to_be_visible()
    writers.get_by_text("Show the runs that wrote it as a table").click()
    table = writers.get_by_role("table")
    expect(table.get_by_role("row")).to_have_count(LOADS + 1)
    first = table.get_by_role("row").nth(1)  # newest first
    expect(first).to_contain_text(f"{LOADER} {LOADS}")
    expect(first).to_contain_text("1,110")
    expect(table.get_by_role("row").nth(2)).to_contain_text("Failed")
    readers = page.get_by_role("region", name="Readers over time")
    expect(readers).to_contain_text("One run, started")
    readers.get_by_text("Show the runs that read it as a table").click()
    expect(readers.get_by_role("link", name=f"{REPORT} 1")).to_be_visible()
    screenshot(page, "dataset-laptop")
    assert accessibility_problems(page) == []

    # A bar of the chart opens the run it stands for.
    writers.locator(".chart .target").last.click()
    expect(page).to_have_url(re.compile(f"#/runs/{last}$"))
    page.go_back()

    # The Runs page lists every run that wrote it.
    writers.get_by_role("link", name="Every run that wrote it").click()
    expect(page).to_have_url(re.compile(rf"#/runs\?output={re.escape(ORDERS)}$"))
    expect(page.get_by_role("search")).to_contain_text(f"Only runs that wrote {ORDERS}.")
    expect(page.locator("table.runs tbody tr")).to_have_count(LOADS)
    page.go_back()
    readers.get_by_role("link", name="Every run that read it").click()
    expect(page.locator("table.runs tbody tr")).to_have_count(1)
    expect(page.locator("table.runs tbody tr")).to_contain_text(f"{REPORT} 1")
    page.get_by_role("link", name="Every run", exact=True).click()
    expect(page).to_have_url(re.compile(r"#/runs$"))


def test_a_dataset_no_successful_run_wrote(page: Page, lineage: Lineage) -> None:
    sign_in(page, lineage.history, f"#/datasets/{lineage.datasets[UNREAD]}")
    freshness = page.get_by_role("region", name="Freshness")
    expect(freshness).to_contain_text("No successful run has written it yet.")
    expect(page.get_by_role("region", name="Readers over time")).to_contain_text(
        "No run has read this dataset."
    )


def test_datasets_are_searched_by_name_in_the_address(page: Page, lineage: Lineage) -> None:
    sign_in(page, lineage.history, "#/datasets")
    expect(page.get_by_role("heading", level=1, name="Datasets")).to_be_visible()
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Datasets")
    ).to_have_attribute("aria-current", "page")
    expect(page.locator("table.datasets tbody tr").first).to_be_visible()
    page.get_by_label("Name contains").fill("ORDERS")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"#/datasets\?q=ORDERS$"))
    rows = page.locator("table.datasets tbody tr")
    expect(rows).to_have_count(3)  # any case: raw.orders, warehouse.orders, archive.orders_2019
    page.goto(f"{lineage.history.base}/#/datasets?q=warehouse")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("yesterday")
    expect(page.locator("p.results-status")).to_contain_text("1 dataset.")
    page.goto(f"{lineage.history.base}/#/datasets?q=nothing")
    expect(page.locator("p.results-status")).to_contain_text(
        "No dataset's name contains “nothing”."
    )
    page.goto(f"{lineage.history.base}/#/datasets?namespace={WAREHOUSE}")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(RAW)
    assert accessibility_problems(page) == []


def test_a_new_dataset_appears_live(page: Page, lineage: Lineage) -> None:
    sign_in(page, lineage.history, "#/datasets?q=live")
    expect(page.locator("p.results-status")).to_contain_text("No dataset's name contains")
    lineage.record(f"{REPORT} 1", "outputs", "live.summary")
    expect(page.locator("table.datasets tbody tr")).to_have_count(1, timeout=LIVE_TIMEOUT_MS)


def test_a_running_run_shows_a_dataset_it_records_live(page: Page, lineage: Lineage) -> None:
    run = lineage.history.runs[f"{REPORT} 1"]  # still running
    sign_in(page, lineage.history, f"#/runs/{run['id']}")
    outputs = page.get_by_role("region", name="Datasets").get_by_role(
        "table", name=re.compile("^Outputs")
    )
    expect(outputs).to_be_visible()
    lineage.record(f"{REPORT} 1", "outputs", "fresh.extract", rowCount=42)
    expect(outputs.get_by_role("link", name="fresh.extract")).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    expect(outputs).to_contain_text("42")


@pytest.mark.parametrize("dark", [False, True])
@pytest.mark.parametrize("view", ["datasets", "dataset", "run"])
def test_each_lineage_page_on_a_phone_and_a_laptop(
    browser: Browser, lineage: Lineage, view: str, dark: bool
) -> None:
    routes = {
        "datasets": "#/datasets",
        "dataset": f"#/datasets/{lineage.datasets[ORDERS]}",
        "run": f"#/runs/{lineage.history.runs[f'{LOADER} 1']['id']}",
    }
    for size, viewport in (("phone", PHONE), ("laptop", LAPTOP)):
        page, problems = open_page(browser, viewport, dark=dark)
        try:
            sign_in(page, lineage.history, routes[view])
            expect(page.locator("main h1")).to_be_visible()
            expect(page.locator("main .loading")).to_have_count(0)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0
            assert accessibility_problems(page) == []
            screenshot(page, f"{view}-lineage-{size}{'-dark' if dark else ''}")
        finally:
            page.context.close()
        assert problems.messages == []
