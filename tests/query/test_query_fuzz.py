"""Whatever a client writes into a query option, the answer is a 200 or a 400 Graph error.

Arbitrary text, grammar-shaped near misses (valid filters with a piece cut, doubled or
replaced), values at the edges of every type (Int64 overflow, huge doubles, durations past the
calendar) and SQL-injection-shaped strings go into ``$filter``, ``$orderby``, ``$expand``,
``$search`` and ``$select`` of the seeded history on every engine; a 5xx is a failure.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.api.steps import JSON_CONTENT_TYPE
from tests.conftest import HUB, NS
from tests.query.conftest import History
from tests.query.grammar import filters, orderings, quote

OPTIONS = ["$filter", "$orderby", "$expand", "$search", "$select"]
COLLECTIONS = {"runs": "run", "runGroups": "run", "processes": "process"}

# Fragments that break a grammar in interesting places, or push a value past its type.
FRAGMENTS = [
    "(",
    ")",
    "'",
    "''",
    ",",
    "/",
    ":",
    ";",
    "=",
    "-",
    " eq ",
    " and ",
    " not ",
    " in ",
    " has ",
    " add ",
    " div ",
    " mod ",
    "any(",
    "all(x:",
    "$it",
    "$root/",
    "$count",
    "null",
    "@p",
    "9223372036854775807",
    "-9223372036854775808",
    "99999999999999999999",
    "1e308",
    "-1.7976931348623157e308",
    "1e999",
    "INF",
    "NaN",
    "duration'P99999999999D'",
    "duration'-P10675199D'",
    "9999-12-31T23:59:59.9999999Z",
    "0001-01-01T00:00:00Z",
    "2026-02-30",
    f"{NS}.runStatus'7'",
    f"{NS}.nope'x'",
    "statistics/",
    "process/",
    "blockingError/details/",
    "substring(displayName, 9223372036854775807)",
    "binary'AQID'",
    "geography'POINT(1 2)'",
    "12:34:56",
    "01234567-89ab-cdef-0123-456789abcdef",
]
INJECTIONS = [
    "' or 1=1 --",
    "'); DROP TABLE runs; --",
    "%' or '1'='1",
    '" OR ""="',
    "1; SELECT 1",
    "x\\' or 1=1#",
    "\x00",
    "'||(SELECT version())||'",
    '$."a"\'',
    "' UNION SELECT * FROM processes --",
]
EXTREMES = [
    "(9223372036854775807 add 1) gt 0",
    "(-9223372036854775807 sub 2) lt 0",
    "(4611686018427387904 mul 4) gt 0",
    "(-9223372036854775807 sub 1) div -1 gt 0",
    "(1.7976931348623157e308 mul 10.0) gt 0",
    "(1e308 add 1e308) eq 0",
    "(1.5 divby 0) eq null",
    "(7 mod 0) eq null",
    "(statistics/a mul 1e308 mul 1e308) gt 0",
    "(startDateTime add duration'P10000000D') gt now()",
    "(startDateTime sub duration'P10000000D') lt now()",
    "year(startDateTime add duration'P3000000D') gt 0",
    "date(startDateTime sub duration'P3000000D') lt 2000-01-01",
    "(endDateTime sub startDateTime) mul 1 gt duration'PT1S'",
    "-(-9223372036854775807 sub 1) gt 0",
    "length(displayName) gt 9223372036854775807",
    "substring(displayName, -9223372036854775807, 9223372036854775807) eq ''",
    "indexof(displayName, '') eq 0",
    "statistics/tags/any(t: t/x/y/z eq 1)",
    "statistics/errors/any(e: e/tags/any(t: t eq 'a'))",
    "statistics/label/any(t: t eq 'a')",
    "statistics/nested/y/any(t: t ne null)",
    "statistics/a/$count eq 0",
    "hour(startDateTime add duration'-P999999D') ge 0",
]


def _assert_no_server_error(history: History, url: str, params: dict[str, Any]) -> None:
    response = history.client.get(url, params=params)
    assert response.status_code in (200, 400), (response.status_code, response.text)
    assert response.headers["content-type"] == JSON_CONTENT_TYPE
    if response.status_code == 400:
        error = response.json()["error"]
        assert isinstance(error["code"], str)
        assert error["message"]


def _mutate(draw: st.DrawFn, text: str) -> str:
    """``text`` with a piece cut out, repeated, or replaced by a fragment."""
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 8)))
        action = draw(st.sampled_from(["cut", "insert", "replace", "repeat", "truncate"]))
        fragment = draw(st.sampled_from(FRAGMENTS))
        if action == "cut":
            text = text[:i] + text[j:]
        elif action == "insert":
            text = text[:i] + fragment + text[i:]
        elif action == "replace":
            text = text[:i] + fragment + text[j:]
        elif action == "repeat":
            text = text[:j] + text[i:j] + text[j:]
        else:
            text = text[:i]
    return text


@st.composite
def near_misses(draw: st.DrawFn, entity: str) -> str:
    make = draw(st.sampled_from([filters, orderings]))
    valid = draw(make(entity))
    return _mutate(draw, valid)


@st.composite
def injections(draw: st.DrawFn) -> str:
    payload = draw(st.sampled_from(INJECTIONS))
    template = draw(
        st.sampled_from(
            [
                "{}",
                "displayName eq {quoted}",
                "contains(displayName, {quoted})",
                "statistics/{raw} eq 1",
                "{raw}",
                "displayName,{raw}",
                "process($select={raw})",
                '"{raw}"',
            ]
        )
    )
    return template.format(payload, quoted=quote(payload), raw=payload)


def _text() -> st.SearchStrategy[str]:
    # Surrogates cannot be sent in a URL; every other code point can.
    return st.text(st.characters(exclude_categories=["Cs"]), max_size=60)


def _option_values(entity: str) -> st.SearchStrategy[str]:
    return st.one_of(
        _text(),
        near_misses(entity),
        injections(),
        st.sampled_from(EXTREMES),
        st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=8).map("".join),
    )


@pytest.mark.parametrize("collection", list(COLLECTIONS))
@given(data=st.data())
def test_any_query_option_text_is_answered_without_a_server_error(
    history: History, collection: str, data: st.DataObject
) -> None:
    entity = COLLECTIONS[collection]
    option = data.draw(st.sampled_from(OPTIONS), label="option")
    value = data.draw(_option_values(entity), label="value")
    params = {option: value, "$top": "3"}
    _assert_no_server_error(history, f"{HUB}/{collection}", params)


@pytest.mark.parametrize("expression", EXTREMES)
def test_values_past_their_type_are_answered_without_a_server_error(
    history: History, expression: str
) -> None:
    for option in ("$filter", "$orderby"):
        _assert_no_server_error(history, f"{HUB}/runs", {option: expression, "$top": "2"})
    nested = f"runs($filter={expression};$orderby={expression};$top=2)"
    _assert_no_server_error(history, f"{HUB}/processes", {"$expand": nested})
