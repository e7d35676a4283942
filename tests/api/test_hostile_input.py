"""Hostile query text: arbitrary and SQL-injection shaped input is a 400 or correct data.

Hypothesis feeds arbitrary text to the ``$orderby`` parser and the ``$skiptoken`` decoder (the
only error either may raise is the 400 ``InvalidRequest``) and to the same options over HTTP
(never a 5xx). Strings shaped like SQL injections go into every place a request carries text;
each answers 400, 404 or exactly the data asked for, and the stored rows stay as they were.
Generated structure goes where no check expected it: nesting in every expression option and
``$search``, other scripts' digits in every place a number is read, malformed URLs in every
reference.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from flowruns.api.app import create_app
from flowruns.edm.industrydata import RUNS
from flowruns.errors import InvalidRequest
from flowruns.odata import semantic as s
from flowruns.odata.query import parse_orderby
from flowruns.odata.skiptoken import SkipTokenCodec, fingerprint
from flowruns.settings import Settings
from tests.api.steps import create_process, create_run, get_json, raw_header_client, run_url
from tests.conftest import HUB, NS, bearer

INJECTIONS = [
    "'; DROP TABLE runs; --",
    "' OR '1'='1",
    "1 OR 1=1",
    '" OR ""="',
    "displayName; DELETE FROM runs",
    "displayName desc, (SELECT 1)",
    "id) UNION SELECT tenant_id, id FROM runs --",
    "statistics/x'); DROP TABLE processes; --",
    "1; SELECT pg_sleep(10)",
    "\x00",
    "%00' OR 1=1 --",
    "CAST(id AS INTEGER)",
]

ORDERBY_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=60) | st.lists(
    st.sampled_from(
        [
            *("displayName", "startDateTime", "status", " ", ",", "asc", "desc", "(", ")", "/"),
            *("'", "statistics/x", "add", "sub", "1", "process/displayName", "tolower(", "--"),
        ]
    ),
    max_size=12,
).map("".join)


@given(ORDERBY_TEXT)
def test_the_orderby_parser_raises_only_400(text: str) -> None:
    with contextlib.suppress(InvalidRequest):
        parse_orderby(text, RUNS.type, now=0)


TOKEN_TEXT = st.text(max_size=80) | st.builds(
    lambda a, b: f"{base64.urlsafe_b64encode(a).decode()}.{base64.urlsafe_b64encode(b).decode()}",
    st.binary(max_size=60),
    st.binary(max_size=20),
)


@given(TOKEN_TEXT)
def test_the_skiptoken_decoder_raises_only_400(text: str) -> None:
    codec = SkipTokenCodec(b"secret")
    with pytest.raises(InvalidRequest):
        codec.decode(text, fingerprint("tenant", "runs"), [s.STRING])


@given(ORDERBY_TEXT)
def test_any_orderby_over_http_is_200_or_400(client: TestClient, text: str) -> None:
    response = client.get(f"{HUB}/runs", params={"$orderby": text})
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert response.json()["error"]["code"] in ("invalidRequest", "BadRequest")


@given(TOKEN_TEXT)
def test_any_skiptoken_over_http_is_400(client: TestClient, text: str) -> None:
    response = client.get(f"{HUB}/runs", params={"$skiptoken": text})
    assert response.status_code == 400, response.text


@pytest.fixture
def planted(client: TestClient) -> dict[str, Any]:
    """One process and one run whose survival proves nothing was dropped or rewritten."""
    process = create_process(client, "planted process")
    run = create_run(client, "planted run", collection=f"{HUB}/processes/{process['id']}/runs")
    return {"process": process, "run": get_json(client, run_url(run["id"]))}


def _intact(client: TestClient, planted: dict[str, Any]) -> None:
    assert get_json(client, run_url(planted["run"]["id"])) == planted["run"]
    listed = get_json(client, f"{HUB}/runs?$count=true")
    assert listed["@odata.count"] >= 1
    assert get_json(client, f"{HUB}/processes/{planted['process']['id']}")["id"]


@pytest.mark.parametrize("text", INJECTIONS)
def test_injection_shaped_query_options_are_400_or_data(
    client: TestClient, planted: dict[str, Any], text: str
) -> None:
    for option in ("$orderby", "$select", "$skiptoken", "$filter", "$search", "$top", "$skip"):
        response = client.get(f"{HUB}/runs", params={option: text})
        assert response.status_code in (200, 400), (option, response.text)
        if response.status_code == 200:
            # Whatever matched, it is this tenant's data as stored, not something else.
            ids = {row["id"] for row in response.json()["value"]}
            assert ids <= {planted["run"]["id"]}
    _intact(client, planted)


@pytest.mark.parametrize("text", INJECTIONS)
def test_injection_shaped_keys_are_404_or_400(
    client: TestClient, planted: dict[str, Any], text: str
) -> None:
    for path in (f"{HUB}/runs/{{}}", f"{HUB}/processes('{{}}')", f"{HUB}/runs/{{}}/process/$ref"):
        quoted = text.replace("'", "''") if "('" in path else text
        response = client.get(path.format(quote(quoted, safe="'")))
        assert response.status_code in (400, 404), (path, response.text)
    _intact(client, planted)


@pytest.mark.parametrize("text", [t for t in INJECTIONS if "\x00" not in t])
def test_injection_shaped_values_are_stored_verbatim(
    client: TestClient, planted: dict[str, Any], text: str
) -> None:
    run = create_run(client, text, statistics={text: text})
    read = get_json(client, run_url(run["id"]))
    assert read["displayName"] == text
    assert read["statistics"] == {text: text}
    _intact(client, planted)


# -- structure no check expected: nesting, other scripts' digits, malformed URLs -----------
#
# `make test` runs these with the bounded "ci" profile, `make fuzz` with thousands of examples.
# Each answer is a 200 (or the documented 204/201/404) or a 400 Graph error, and nothing is
# logged as an unexpected error.


def _expect_no_unexpected_errors(caplog: pytest.LogCaptureFixture) -> None:
    """No error logged by the server since the last call (examples share one ``caplog``)."""
    unexpected = [r for r in caplog.records if r.name.startswith("flowruns") and r.levelno >= 40]
    caplog.clear()
    assert not unexpected, unexpected[0].getMessage()


def _graph_400_or(response: Any, *allowed: int) -> None:
    assert response.status_code in (400, *allowed), response.text
    if response.status_code == 400:
        assert response.json()["error"]["code"] in ("invalidRequest", "BadRequest")


def _lambdas(levels: int, body: str) -> str:
    """``levels`` any/all over statistics arrays, each inside the last."""
    for i in reversed(range(levels)):
        source = "statistics/a" if i == 0 else f"v{i - 1}/a"
        kind = "any" if i % 2 == 0 else "all"
        body = f"{source}/{kind}(v{i}:{body.replace('$', f'v{i}')})"
    return body


def _process_lambdas(levels: int) -> str:
    """``levels`` lambdas from processes to their runs, through each run's process."""
    body = f"v{levels - 1}/displayName eq 'x'"
    for i in reversed(range(1, levels)):
        body = f"v{i - 1}/process/runs/any(v{i}:{body})"
    return f"runs/any(v0:{body})"


# An expression nested `n` deep in one of the ways a parser or a compiler descends.
NESTED_FILTERS = st.integers(min_value=0, max_value=120).flatmap(
    lambda n: st.sampled_from(
        [
            "(" * n + "displayName eq 'x'" + ")" * n,
            "not (" * n + "displayName eq 'x'" + ")" * n,
            "- " * n + "1 eq 1",
            "not " * n + "true",
            "length(" + "tolower(" * n + "displayName" + ")" * n + ") eq 1",
            "(" * n + "statistics/x" + " mod 2.5)" * n + " eq 1",
            "1 div (" * n + "length(displayName)" + ")" * n + " eq 1",
            "length(" + "substring(displayName, length(" * n + "displayName" + "))" * n + ") eq 1",
            " and ".join(["displayName eq 'x'"] * (n + 1)),
            " or ".join(["statistics/a eq statistics/b"] * (n + 1)),
            _lambdas(min(n, 12), "$ eq 1"),
            _lambdas(min(n, 12), "length(tolower(tolower(tolower(tolower($))))) eq 1"),
        ]
    )
)


@given(NESTED_FILTERS)
def test_any_nesting_in_a_filter_is_200_or_400(
    client: TestClient, caplog: pytest.LogCaptureFixture, text: str
) -> None:
    caplog.clear()
    for collection, option, value in (
        ("runs", "$filter", text),
        ("runs", "$orderby", text.removesuffix(" eq 1")),
        ("runs", "$apply", f"filter({text})/aggregate($count as n)"),
        ("processes", "$expand", f"runs($filter={text})"),
    ):
        _graph_400_or(client.get(f"{HUB}/{collection}", params={option: value}), 200)
    _expect_no_unexpected_errors(caplog)


@given(st.integers(min_value=1, max_value=8))
def test_lambdas_from_processes_are_200_or_400(
    client: TestClient, caplog: pytest.LogCaptureFixture, levels: int
) -> None:
    caplog.clear()
    text = _process_lambdas(levels)
    _graph_400_or(client.get(f"{HUB}/processes", params={"$filter": text}), 200)
    _expect_no_unexpected_errors(caplog)


SEARCH_TEXT = st.recursive(
    st.sampled_from(["a", '"a b"', "x"]),
    lambda inner: st.one_of(
        inner.map(lambda t: f"({t})"),
        inner.map(lambda t: f"NOT {t}"),
        st.tuples(inner, st.sampled_from([" ", " AND ", " OR "]), inner).map("".join),
    ),
    max_leaves=150,
) | st.integers(min_value=0, max_value=600).map(lambda n: "(" * n + "a" + ")" * n)


@given(SEARCH_TEXT)
def test_any_nesting_in_a_search_is_200_or_400(
    client: TestClient, caplog: pytest.LogCaptureFixture, text: str
) -> None:
    caplog.clear()
    _graph_400_or(client.get(f"{HUB}/runs", params={"$search": text}), 200)
    _expect_no_unexpected_errors(caplog)


# Digits that are not ASCII: str.isdigit, int() and re's \d take many of them.
OTHER_DIGITS = st.characters(categories=["Nd", "No", "Nl"]).filter(lambda c: not c.isascii())
DIGIT_TEXT = st.tuples(
    st.text(alphabet="0123456789", max_size=3),
    OTHER_DIGITS,
    st.text(alphabet="0123456789", max_size=3),
).map("".join)


@given(DIGIT_TEXT)
def test_other_scripts_digits_are_never_numbers(
    client: TestClient, caplog: pytest.LogCaptureFixture, digits: str
) -> None:
    caplog.clear()
    for option in ("$top", "$skip"):
        _graph_400_or(client.get(f"{HUB}/runs", params={option: digits}))
    for text in (
        f"status eq '{digits}'",
        f"status eq microsoft.graph.industryData.runStatus'{digits}'",
        f"statistics/x eq {digits}",
        f"statistics/x eq 1.{digits}",
        f"startDateTime gt 2026-01-01T00:00:00.{digits}Z",
        f"endDateTime sub startDateTime gt duration'PT{digits}H'",
    ):
        _graph_400_or(client.get(f"{HUB}/runs", params={"$filter": text}))
    for path in (f"{HUB}/runs/{quote(digits)}", f"{HUB}/processes('{quote(digits)}')"):
        _graph_400_or(client.get(path), 404)
    body = {
        "@odata.type": f"{NS}.outgoingFlowRun",
        "displayName": "digits",
        "startDateTime": f"2026-01-01T00:00:00.{digits}Z",
    }
    _graph_400_or(client.post(f"{HUB}/runs", json=body))
    _expect_no_unexpected_errors(caplog)


@pytest.fixture
def raw_client(settings: Settings) -> Iterator[TestClient]:
    with raw_header_client(create_app(settings), bearer(settings)) as client:
        yield client


@given(st.sampled_from("¹²³¼½¾") | DIGIT_TEXT)
def test_a_page_size_in_other_digits_is_ignored(
    raw_client: TestClient, caplog: pytest.LogCaptureFixture, digits: str
) -> None:
    caplog.clear()
    prefer = f"odata.maxpagesize={digits}".encode()
    response = raw_client.get(f"{HUB}/runs", headers={b"Prefer": prefer})
    assert response.status_code == 200, response.text
    assert "Preference-Applied" not in response.headers
    _expect_no_unexpected_errors(caplog)


# Hosts urlsplit refuses (an unclosed or invalid IPv6 literal, characters NFKC turns into
# delimiters) around otherwise plausible paths.
NFKC_DELIMITERS = "\uff03\uff0f\uff1f\uff20\uff1a\u2100\u2101\u2047\ufe5f\ufe6b"
MALFORMED_URLS = st.builds(
    lambda scheme, host, path: f"{scheme}{host}{path}",
    st.sampled_from(["http://", "https://", "//", "HTTP://"]),
    st.one_of(
        st.text(alphabet="[]:0123456789abcdefz.%", min_size=1, max_size=12).map(
            lambda t: "[" + t if "]" not in t else t
        ),
        st.tuples(st.text(max_size=6), st.sampled_from(NFKC_DELIMITERS), st.text(max_size=6)).map(
            "".join
        ),
        st.text(max_size=20),
    ),
    st.sampled_from(["", "/", "/beta/external/industryData/processes/x", "/beta/x?y#z"]),
)


@pytest.fixture
def referenced(client: TestClient) -> dict[str, str]:
    """A run linked to a process, and an empty group: what a reference could change."""
    process = create_process(client, "linked")
    run = create_run(client, "linked", collection=f"{HUB}/processes/{process['id']}/runs")
    group = create_run(client, "group", odata_type="", collection=f"{HUB}/runGroups")
    return {"process": process["id"], "run": run["id"], "group": group["id"]}


@given(MALFORMED_URLS)
def test_any_url_in_a_reference_is_a_reference_or_400(
    client: TestClient, referenced: dict[str, str], caplog: pytest.LogCaptureFixture, url: str
) -> None:
    caplog.clear()
    run, group = run_url(referenced["run"]), f"{HUB}/runGroups/{referenced['group']}"
    bind = {"process@odata.bind": url}
    created = client.post(f"{HUB}/runs", json={"@odata.type": f"{NS}.outgoingFlowRun", **bind})
    _graph_400_or(created, 404)
    _graph_400_or(client.patch(run, json=bind), 404)
    _graph_400_or(client.put(f"{run}/process/$ref", json={"@odata.id": url}), 404)
    _graph_400_or(client.post(f"{group}/runs/$ref", json={"@odata.id": url}), 404)
    _expect_no_unexpected_errors(caplog)
    assert get_json(client, f"{run}/process")["id"] == referenced["process"]
    assert get_json(client, f"{group}/runs")["value"] == []
