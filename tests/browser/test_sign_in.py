"""Signing in lasts: every tab of the browser shares one sign-in until the token expires, a
shared link opens its page at once, signing out in one tab signs out all of them, and the token
goes to the API only."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, Request, Route, expect

from tests.browser.conftest import (
    BLOCKING_CODE,
    FAILED_RUN,
    LAPTOP,
    TOKEN,
    History,
    accessibility_problems,
    open_page,
    screenshot,
    sign_in,
)
from tests.servers import token

KEY = "flowruns.token"


def test_a_second_tab_is_signed_in_and_signing_out_signs_out_every_tab(
    browser: Browser, history: History
) -> None:
    first, problems = open_page(browser, LAPTOP)
    try:
        sign_in(first, history)
        # A link someone shared opens its page in a new tab, without the sign-in form.
        second = first.context.new_page()
        second.on("pageerror", problems.exception)
        second.goto(f"{history.base}/#/runs/{history.runs[FAILED_RUN]['id']}")
        expect(second.get_by_role("heading", level=1, name=FAILED_RUN)).to_be_visible()
        assert accessibility_problems(second) == []

        first.get_by_role("button", name="Sign out").click()
        expect(second.get_by_label("Access token")).to_be_visible()
        expect(second.get_by_role("alert")).to_contain_text("signed out in another tab")
        assert second.evaluate(f"localStorage.getItem('{KEY}')") is None
        assert accessibility_problems(second) == []
        screenshot(second, "signed-out-in-another-tab-laptop")

        # Signing in again in one tab signs the other in too.
        second.get_by_label("Access token").fill(TOKEN)
        second.get_by_role("button", name="Sign in").click()
        expect(second.get_by_role("heading", level=1, name=FAILED_RUN)).to_be_visible()
        expect(first.get_by_role("heading", level=1, name="Overview")).to_be_visible()
    finally:
        first.context.close()
    assert problems.messages == []


def test_an_expired_token_shows_sign_in(page: Page, history: History) -> None:
    page.goto(history.base)
    expect(page.get_by_label("Access token")).to_be_visible()
    expired = token(lifetime_seconds=-60)
    page.evaluate(f"localStorage.setItem('{KEY}', {expired!r})")
    page.goto(f"{history.base}/#/runs")
    page.reload()
    expect(page.get_by_label("Access token")).to_be_visible()
    assert page.evaluate("localStorage.length") == 0

    # Pasted, it is refused before anything is kept or sent.
    page.get_by_label("Access token").fill(expired)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("That token expired")
    assert page.evaluate("localStorage.length") == 0


def test_a_token_expiring_while_the_page_is_open_shows_sign_in(
    page: Page, history: History
) -> None:
    lifetime = 20
    expiring = token(lifetime_seconds=lifetime)
    page.goto(f"{history.base}/#token={expiring}")
    expect(page.get_by_role("heading", level=1, name="Overview")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text(
        "Your token expired", timeout=(lifetime + 15) * 1000
    )
    expect(page.get_by_label("Access token")).to_be_visible()
    assert page.evaluate("localStorage.length") == 0


def test_the_token_goes_to_this_servers_api_only(page: Page, history: History) -> None:
    sent_with_token: list[str] = []

    def note(request: Request) -> None:
        if "authorization" in request.headers:
            sent_with_token.append(request.url)

    page.on("request", note)
    # A next page on another origin (as a server whose public URL is not this page's address
    # would write it): not followed, so no token goes there.
    foreign = "http://elsewhere.example/beta/external/industryData/runs?$skiptoken=x"

    def page_with_a_foreign_next_link(route: Route) -> None:
        response = route.fetch()
        body = response.json()
        body["@odata.nextLink"] = foreign
        route.fulfill(response=response, json=body)

    page.route(
        re.compile(r"/beta/external/industryData/runs\?\$filter=status"),
        page_with_a_foreign_next_link,
    )
    sign_in(page, history, "#/runs?status=completed")
    expect(page.locator("table.runs tbody tr").first).to_be_visible()
    page.get_by_role("button", name="Next page").click()
    expect(page.get_by_role("alert")).to_contain_text("is not this server's API")
    assert sent_with_token
    assert all(url.startswith(f"{history.base}/beta/") for url in sent_with_token), sent_with_token


def test_the_api_reference_tries_requests_with_the_dashboards_sign_in(
    page: Page, history: History
) -> None:
    summary = page.locator("summary", has_text=re.compile(r"Get a run$"))
    get_run = page.locator("details.op", has=summary)
    page.goto(f"{history.base}/docs")
    get_run.locator("summary").click()
    form = get_run.get_by_role("form", name="Try it")
    expect(form).to_contain_text("Not signed in")
    expect(get_run.get_by_role("button", name="Copy the curl line")).to_be_visible()
    assert accessibility_problems(page) == []
    screenshot(page, "api-reference-laptop")

    sign_in(page, history)
    page.goto(f"{history.base}/docs")
    get_run.locator("summary").click()
    expect(form).to_contain_text("signed in with")
    form.get_by_label("run-id").fill(history.runs[FAILED_RUN]["id"])
    form.get_by_role("button", name="Send GET").click()
    result = form.get_by_role("status")
    expect(result).to_contain_text("200")
    expect(result).to_contain_text(BLOCKING_CODE)
    # A refusal is shown as the server wrote it.
    form.get_by_label("run-id").fill("not-a-run")
    form.get_by_role("button", name="Send GET").click()
    expect(result).to_contain_text("404")
    expect(result).to_contain_text("itemNotFound")
    assert accessibility_problems(page) == []
