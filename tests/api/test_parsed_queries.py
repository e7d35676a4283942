"""Each distinct query string is parsed and bound once, except those whose meaning moves with
the clock (now())."""

from __future__ import annotations

from starlette.requests import Request

from flowruns.api.inputs import query_options
from flowruns.edm.capabilities import QueryKind
from flowruns.edm.industrydata import RUNS
from flowruns.odata import path as paths

_RUNS = paths.CollectionRef(RUNS)


def _request(query: str) -> Request:
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/",
            "headers": [],
            "query_string": query.encode(),
            "server": ("testserver", 80),
        }
    )


def test_a_query_string_is_parsed_once_and_its_options_reused() -> None:
    query = "$filter=status%20eq%20%27failed%27&$top=5"
    first = query_options(_request(query), _RUNS, QueryKind.COLLECTION)
    again = query_options(_request(query), _RUNS, QueryKind.COLLECTION)
    assert again is first
    assert first.top == 5
    assert first.filter is not None
    other = query_options(_request("$top=6"), _RUNS, QueryKind.COLLECTION)
    assert other is not first
    assert other.top == 6


def test_options_that_mention_now_are_bound_afresh() -> None:
    query = "$filter=startDateTime%20le%20now()"
    first = query_options(_request(query), _RUNS, QueryKind.COLLECTION)
    assert query_options(_request(query), _RUNS, QueryKind.COLLECTION) is not first
