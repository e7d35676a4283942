"""The dashboard's view of dataset freshness: a dataset's freshness expectation (state, period,
when the next write is due or since when it is overdue, owner) and its stale incidents on its
page; a dataset's incident named by its dataset, linking to the dataset page, where a process's
is named by its process — in the Incidents list, on the incident's page and among the overview's
open incidents; a successful write turning a stale dataset fresh on screen; the expectation set,
refused, paused and removed in the browser, with a token allowed to; each page accessible.

The server evaluates nothing itself (``FLOWRUNS_HEALTH_EVALUATION=off``): writing an expectation
evaluates its dataset at once, and the test evaluates the rest with the real clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from flowruns.api.app import open_database
from flowruns.edm.datetimes import TICKS_PER_SECOND, now_ticks
from flowruns.service import freshness, health
from flowruns.settings import Settings
from flowruns.store.database import Database
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
from tests.servers import AUTH, running, token

LOADER = "Orders loader"
OVERDUE = "Overdue export"
STALE = "warehouse.orders"  # written two days ago, expected daily
FRESH = "events.weekly"  # written two days ago, expected weekly
LIVE = "live.orders"  # stale, then written while its page is open
EDITED = "staging.customers"  # written now; its expectation is set and removed in the browser
UNWATCHED = "raw.unwatched"  # read, never written, and never expected anything of
# Past the moment a change makes its process or dataset due (the triggers' "soon").
SOON = timedelta(minutes=2)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@dataclass
class Freshness:
    history: History
    db: Database
    datasets: dict[str, str] = field(default_factory=dict)  # name → id

    def write(self, name: str, ended: datetime) -> None:
        """A successful run of the loader that wrote ``name`` and ended at ``ended``."""
        run = self.history.create_run(
            LOADER, f"load {name} {_iso(ended)}", startDateTime=_iso(ended - timedelta(minutes=5))
        )
        response = self.history.http.post(f"{HUB}/runs/{run['id']}/outputs", json={"name": name})
        assert response.status_code in (200, 201), response.text
        self.datasets[name] = response.json()["datasetId"]
        ended_body = {"status": "completed", "endDateTime": _iso(ended)}
        response = self.history.http.patch(f"{HUB}/runs/{run['id']}", json=ended_body)
        assert response.status_code == 200, response.text

    def expect(self, name: str, **members: Any) -> dict[str, Any]:
        url = f"{HUB}/datasets/{self.datasets[name]}/expectation"
        response = self.history.http.put(url, json=members)
        assert response.status_code in (200, 201), response.text
        written: dict[str, Any] = response.json()
        return written

    def incident(self, name: str) -> dict[str, Any]:
        url = f"{HUB}/datasets/{self.datasets[name]}/incidents"
        response = self.history.http.get(url)
        assert response.status_code == 200, response.text
        [one] = response.json()["value"]
        return dict(one)

    def evaluate(self, ahead: timedelta = timedelta(0)) -> None:
        """Evaluate what is due ``ahead`` of now (a change makes its process or dataset due
        a little later)."""
        ticks = now_ticks() + int(ahead.total_seconds()) * TICKS_PER_SECOND
        health.evaluate_due(self.db, now=lambda: ticks)
        freshness.evaluate_due(self.db, now=lambda: ticks)


@pytest.fixture(scope="module")
def watched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Freshness]:
    where = tmp_path_factory.mktemp("freshness")
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
        made = Freshness(history, db)
        history.create_process(LOADER, "insightsOutgoingFlow")
        two_days_ago = datetime.now(UTC) - timedelta(days=2)
        for name in (STALE, FRESH, LIVE):
            made.write(name, two_days_ago)
        assert made.expect(STALE, writtenEvery="P1D", owner="data-platform")["state"] == "stale"
        assert made.expect(FRESH, writtenEvery="P7D", tags=["weekly"])["state"] == "fresh"
        made.expect(LIVE, writtenEvery="P1D")
        # A process's incident besides: a run (started after the expectation, so that it counts)
        # running past its maximum duration.
        history.create_process(OVERDUE, "insightsOutgoingFlow")
        url = f"{HUB}/processes/{history.processes[OVERDUE]}/expectation"
        assert http.put(url, json={"maxDuration": "PT1S"}).status_code == 201
        overdue = history.create_run(OVERDUE, f"{OVERDUE} 1", startDateTime=_iso(datetime.now(UTC)))
        # A dataset a run read but nobody expects anything of.
        response = http.post(f"{HUB}/runs/{overdue['id']}/inputs", json={"name": UNWATCHED})
        assert response.status_code == 201, response.text
        made.datasets[UNWATCHED] = response.json()["datasetId"]
        made.evaluate(ahead=SOON)
        yield made
        db.dispose()


def test_a_stale_dataset_shows_its_expectation_and_its_open_incident(
    page: Page, watched: Freshness
) -> None:
    sign_in(page, watched.history, f"#/datasets/{watched.datasets[STALE]}")
    expect(page.get_by_role("heading", level=1, name=STALE)).to_be_visible()
    fresh = page.get_by_role("region", name="Freshness")
    expect(fresh.locator("[data-freshness='stale']")).to_have_text("Stale")
    expect(fresh).to_contain_text("No successful run wrote it within the expected period.")
    expect(fresh).to_contain_text("Written every1 d")
    expect(fresh).to_contain_text("Write dueOverdue since yesterday")
    expect(fresh).to_contain_text("Ownerdata-platform")
    incidents = page.get_by_role("region", name="Incidents")
    rows = incidents.locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Stale")
    expect(rows.first).to_contain_text("Open")
    # On the dataset's own page, the incidents do not name the dataset again.
    expect(incidents.get_by_role("columnheader", name="Process or dataset")).to_have_count(0)
    expect(incidents.get_by_role("link", name="All incidents of this dataset")).to_have_attribute(
        "href", f"#/incidents?dataset={watched.datasets[STALE]}"
    )
    screenshot(page, "dataset-stale-laptop")
    assert accessibility_problems(page) == []

    # The incident's page names the dataset, linking back to it.
    incidents.get_by_role("link", name=re.compile(f"^{re.escape(STALE)}: not written")).click()
    expect(page.get_by_role("heading", level=1, name="Incident")).to_be_visible()
    summary = page.get_by_role("region", name="Summary")
    expect(summary.get_by_role("link", name=STALE, exact=True)).to_have_attribute(
        "href", f"#/datasets/{watched.datasets[STALE]}"
    )
    expect(summary).to_contain_text("Write due")
    expect(summary).to_contain_text("Last successful write")
    expect(summary).not_to_contain_text("Process")
    expect(page.locator(".crumbs").get_by_role("link", name="of this dataset")).to_be_visible()
    assert accessibility_problems(page) == []
    summary.get_by_role("link", name=STALE, exact=True).click()
    expect(page.get_by_role("heading", level=1, name=STALE)).to_be_visible()


def test_a_fresh_dataset_and_one_without_an_expectation(page: Page, watched: Freshness) -> None:
    sign_in(page, watched.history, f"#/datasets/{watched.datasets[FRESH]}")
    fresh = page.get_by_role("region", name="Freshness")
    expect(fresh.locator("[data-freshness='fresh']")).to_have_text("Fresh")
    expect(fresh).to_contain_text("Written every7 d")
    expect(fresh).to_contain_text("in 5 days")
    expect(fresh).to_contain_text("Tagsweekly")
    expect(page.get_by_role("region", name="Incidents")).to_contain_text(
        "This dataset has had no incidents."
    )
    assert accessibility_problems(page) == []
    page.goto(f"{watched.history.base}/#/datasets/{watched.datasets[UNWATCHED]}")
    expect(page.get_by_role("region", name="Freshness")).to_contain_text("No freshness expectation")


def test_incidents_name_the_dataset_or_the_process_they_are_about(
    page: Page, watched: Freshness
) -> None:
    sign_in(page, watched.history, "#/incidents")
    rows = page.locator("table.incidents tbody tr")
    expect(rows).to_have_count(3)  # warehouse.orders, live.orders, the overdue export
    stale = rows.filter(has_text=f"{STALE}: not written")
    expect(stale.get_by_role("link", name=STALE, exact=True)).to_have_attribute(
        "href", f"#/datasets/{watched.datasets[STALE]}"
    )
    overdue = rows.filter(has=page.get_by_role("link", name=OVERDUE, exact=True))
    expect(overdue).to_contain_text("Overdue")
    expect(page.get_by_role("columnheader", name="Process or dataset")).to_be_visible()
    assert accessibility_problems(page) == []

    page.get_by_label("Kind").select_option("stale")
    expect(page).to_have_url(re.compile(r"#/incidents\?kind=stale$"))
    expect(rows).to_have_count(2)
    page.goto(f"{watched.history.base}/#/incidents?dataset={watched.datasets[STALE]}")
    expect(rows).to_have_count(1)
    expect(page.get_by_role("search")).to_contain_text("Of one dataset only.")
    page.get_by_role("link", name="Show every dataset").click()
    expect(rows).to_have_count(3)

    # The overview's open incidents name the dataset too.
    page.goto(f"{watched.history.base}/#/")
    opened = page.get_by_role("region", name="Open incidents")
    expect(opened.get_by_role("link", name=STALE, exact=True)).to_have_attribute(
        "href", f"#/datasets/{watched.datasets[STALE]}"
    )
    expect(opened.get_by_role("link", name=OVERDUE, exact=True)).to_be_visible()
    assert accessibility_problems(page) == []


def test_a_successful_write_turns_the_dataset_fresh_on_screen(
    page: Page, watched: Freshness
) -> None:
    sign_in(page, watched.history, f"#/datasets/{watched.datasets[LIVE]}")
    fresh = page.get_by_role("region", name="Freshness")
    expect(fresh.locator("[data-freshness='stale']")).to_be_visible()
    incident = watched.incident(LIVE)
    watched.write(LIVE, datetime.now(UTC))
    watched.evaluate(ahead=SOON)
    expect(fresh.locator("[data-freshness='fresh']")).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    row = page.get_by_role("region", name="Incidents").locator(
        f"tr[data-incident-id='{incident['id']}']"
    )
    expect(row).to_contain_text("Resolved", timeout=LIVE_TIMEOUT_MS)


@pytest.mark.parametrize("dark", [False, True])
def test_the_freshness_pages_on_a_phone_and_a_laptop(
    browser: Browser, watched: Freshness, dark: bool
) -> None:
    incident = watched.incident(STALE)
    routes = {
        "dataset": f"#/datasets/{watched.datasets[STALE]}",
        "incident": f"#/incidents/{incident['id']}",
    }
    for view, route in routes.items():
        for size, viewport in (("phone", PHONE), ("laptop", LAPTOP)):
            page, problems = open_page(browser, viewport, dark=dark)
            try:
                sign_in(page, watched.history, route)
                expect(page.locator("main h1")).to_be_visible()
                expect(page.locator("main .loading")).to_have_count(0)
                overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                assert overflow <= 0
                assert accessibility_problems(page) == []
                screenshot(page, f"{view}-freshness-{size}{'-dark' if dark else ''}")
            finally:
                page.context.close()
            assert problems.messages == []


def test_the_datasets_list_shows_and_filters_by_freshness(page: Page, watched: Freshness) -> None:
    sign_in(page, watched.history, "#/datasets")
    results = page.get_by_role("region", name="Results")
    stale_row = results.locator("tbody tr", has=page.get_by_role("link", name=STALE, exact=True))
    fresh_row = results.locator("tbody tr", has=page.get_by_role("link", name=FRESH, exact=True))
    expect(results.get_by_role("columnheader", name="Freshness")).to_be_visible()
    expect(stale_row.locator("[data-freshness='stale']")).to_have_text("Stale")
    expect(fresh_row.locator("[data-freshness='fresh']")).to_have_text("Fresh")
    assert accessibility_problems(page) == []

    page.get_by_label("Freshness").select_option("stale")
    expect(page).to_have_url(re.compile(r"freshness=stale"))
    expect(fresh_row).to_have_count(0)
    expect(stale_row).to_have_count(1)
    for chip in results.locator("tbody [data-freshness]").all():
        expect(chip).to_have_text("Stale")

    page.get_by_label("Freshness").select_option("none")
    expect(stale_row).to_have_count(0)
    expect(results.locator("tbody [data-freshness]")).to_have_count(0)
    assert accessibility_problems(page) == []


def test_a_freshness_expectation_is_set_paused_and_removed_in_the_browser(
    page: Page, watched: Freshness
) -> None:
    watched.write(EDITED, datetime.now(UTC))
    url = f"{HUB}/datasets/{watched.datasets[EDITED]}/expectation"
    sign_in(page, watched.history, f"#/datasets/{watched.datasets[EDITED]}")
    fresh = page.get_by_role("region", name="Freshness")
    expect(fresh).to_contain_text("No freshness expectation")
    expect(fresh).not_to_contain_text("flowruns datasets expect")  # set here instead
    fresh.get_by_text("Set an expectation").click()
    every = fresh.get_by_label("Written every")
    every.fill("daily")
    fresh.get_by_role("button", name="Save expectation").click()
    expect(every).to_have_attribute("aria-invalid", "true")
    expect(every).to_be_focused()
    expect(every).to_have_accessible_description(re.compile("writtenEvery: 'daily' is not a"))
    expect(fresh.get_by_role("alert")).to_contain_text("Not saved")
    assert watched.history.http.get(url).status_code == 404  # nothing was written
    assert accessibility_problems(page) == []

    every.fill("P1D")
    fresh.get_by_label("Owner").fill("crm team")
    fresh.get_by_label("Tags").fill("daily, crm")
    fresh.get_by_role("button", name="Save expectation").click()
    expect(fresh.get_by_text("Expectation saved.")).to_be_visible()
    expect(every).not_to_have_attribute("aria-invalid", "true")
    expect(fresh.locator("[data-freshness='fresh']")).to_have_text("Fresh")
    expect(fresh).to_contain_text("Written every1 d")
    expect(fresh).to_contain_text("Ownercrm team")
    expect(fresh).to_contain_text("Tagsdaily, crm")
    expect(fresh.get_by_text("Edit the expectation")).to_be_visible()
    saved = watched.history.http.get(url).json()
    assert (saved["writtenEvery"], saved["owner"], saved["tags"]) == (
        "P1D",
        "crm team",
        ["daily", "crm"],
    )
    assert saved["state"] == "fresh"
    assert accessibility_problems(page) == []  # the form open, as saved
    screenshot(page, "dataset-expectation-laptop")

    # The form keeps what it saved; pausing it is one more write of every member.
    fresh.get_by_role("checkbox", name=re.compile("^Paused")).check()
    fresh.get_by_role("button", name="Save expectation").click()
    expect(fresh.locator("[data-freshness='paused']")).to_have_text("Paused")
    expect(fresh).to_contain_text("PausedUntil resumed")
    assert watched.history.http.get(url).json()["owner"] == "crm team"

    fresh.get_by_role("button", name="Remove expectation").click()
    expect(fresh.get_by_text("Expectation removed.")).to_be_visible()
    expect(fresh).to_contain_text("No freshness expectation")
    expect(fresh.locator("[data-freshness]")).to_have_count(0)
    expect(fresh.get_by_text("Set an expectation")).to_be_visible()
    assert watched.history.http.get(url).status_code == 404


def test_without_the_permission_to_write_it_the_command_is_shown_instead(
    browser: Browser, watched: Freshness
) -> None:
    """A token that may write processes' expectations but not datasets' (which need
    IndustryData-Run.ReadWrite.All) gets no form."""
    page, problems = open_page(browser, LAPTOP)
    reader = token(scopes="IndustryData-Run.Read.All IndustryData-OutboundFlow.ReadWrite.All")
    try:
        page.goto(f"{watched.history.base}/#token={reader}")
        expect(page.get_by_role("heading", level=1, name="Overview")).to_be_visible()
        page.goto(f"{watched.history.base}/#/datasets/{watched.datasets[FRESH]}")
        fresh = page.get_by_role("region", name="Freshness")
        expect(fresh.locator("[data-freshness='fresh']")).to_be_visible()
        needs = "Changing the expectation needs a token with IndustryData-Run.ReadWrite.All."
        expect(fresh).to_contain_text(needs)
        expect(fresh.get_by_text("Edit the expectation")).to_have_count(0)
        expect(fresh.get_by_role("button", name="Save expectation")).to_have_count(0)

        page.goto(f"{watched.history.base}/#/datasets/{watched.datasets[UNWATCHED]}")
        expect(fresh).to_contain_text("flowruns datasets expect raw.unwatched --every P1D")
        expect(fresh).to_contain_text(needs)
        expect(fresh.get_by_text("Set an expectation")).to_have_count(0)
        assert accessibility_problems(page) == []
    finally:
        page.context.close()
    assert problems.messages == []
