"""Random expanded collections equal the reference, on every engine.

An expanded collection is read for all parents of a page at once; what each parent holds must
not depend on that. Hypothesis writes ``$filter`` and ``$orderby`` from the grammar, a ``$top``
and ``$skip``, with or without ``$count``, inside ``$expand=runs(…)`` of processes and of run
groups, with the member runs' own process expanded inside or not (the database writes the
members' JSON when nothing is expanded inside them); each parent's expanded ids, in
order, and its count must equal what :mod:`tests.query.reference` computes for that parent
alone from the same typed tree.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import assume, given, note
from hypothesis import strategies as st

from flowruns.edm.datetimes import now_ticks
from flowruns.edm.industrydata import RUNS
from flowruns.odata.lexer import QuerySyntaxError
from flowruns.odata.query import parse_filter, parse_orderby
from tests.api.steps import collect_all
from tests.conftest import HUB
from tests.query.conftest import History
from tests.query.grammar import filters, orderings
from tests.query.reference import Reference, Row, sort_rows, total_order

PARENTS = ["processes", "runGroups"]


def _members(history: History, collection: str, parent_id: str) -> list[Row]:
    data = history.data
    if collection == "processes":
        return [r for r in data.runs.values() if r.process_id == parent_id]
    return [data.runs[run_id] for run_id in data.members[parent_id]]


def _expected(
    history: History,
    collection: str,
    parent_id: str,
    filter_text: str | None,
    order_text: str | None,
) -> list[str]:
    now = now_ticks()
    reference = Reference(history.data)
    rows = _members(history, collection, parent_id)
    if filter_text is not None:
        rows = reference.filter(parse_filter(filter_text, RUNS.type, now), rows)
    items = parse_orderby(order_text, RUNS.type, now) if order_text is not None else []
    order = total_order(items, RUNS.type, RUNS.default_order)
    return [r.id for r in sort_rows(reference, order, rows)]


def _expansion(
    filter_text: str | None, order_text: str | None, top: int, skip: int, count: bool, nested: bool
) -> str:
    options = [f"$top={top}", "$select=id"]
    if nested:
        options.append("$expand=process($select=id)")
    if skip:
        options.append(f"$skip={skip}")
    if count:
        options.append("$count=true")
    if filter_text is not None:
        options.append(f"$filter={filter_text}")
    if order_text is not None:
        options.append(f"$orderby={order_text}")
    return f"runs({';'.join(options)})"


def _check(
    history: History,
    collection: str,
    filter_text: str | None,
    order_text: str | None,
    top: int,
    skip: int,
    count: bool,
    nested: bool,
) -> None:
    try:
        expected = {
            parent_id: _expected(history, collection, parent_id, filter_text, order_text)
            for parent_id in _parents(history, collection)
        }
    except QuerySyntaxError as error:
        # Only the size limits may refuse what the grammar writes.
        assume("at most" not in str(error))
        raise
    expand = _expansion(filter_text, order_text, top, skip, count, nested)
    params: dict[str, Any] = {"$select": "id", "$expand": expand, "$top": 3}
    response = history.client.get(f"{HUB}/{collection}", params=params)
    assert response.status_code == 200, response.text
    parents = response.json()["value"]
    next_link = response.json().get("@odata.nextLink")
    if next_link is not None:
        parents += collect_all(history.client, next_link)
    assert {p["id"] for p in parents} == set(expected)
    for parent in parents:
        members = expected[parent["id"]]
        assert [r["id"] for r in parent["runs"]] == members[skip : skip + top], parent["id"]
        if count:
            assert parent["runs@odata.count"] == len(members)
        else:
            assert "runs@odata.count" not in parent
        for run in parent["runs"]:
            assert ("process" in run) == nested
            if nested:
                process = history.data.runs[run["id"]].process_id
                assert (run["process"] or {}).get("id") == process


def _parents(history: History, collection: str) -> list[str]:
    if collection == "processes":
        return list(history.data.processes)
    return list(history.data.members)


@pytest.mark.parametrize("collection", PARENTS)
@given(data=st.data())
def test_expanded_collections_equal_the_reference_for_each_parent(
    history: History, collection: str, data: st.DataObject
) -> None:
    filter_text = data.draw(st.none() | filters("run"), label="$filter")
    order_text = data.draw(st.none() | orderings("run"), label="$orderby")
    top = data.draw(st.integers(1, 6), label="$top")
    skip = data.draw(st.integers(0, 3), label="$skip")
    count = data.draw(st.booleans(), label="$count")
    nested = data.draw(st.booleans(), label="$expand=process inside")
    note(f"engine: {history.engine}")
    _check(history, collection, filter_text, order_text, top, skip, count, nested)


@pytest.mark.parametrize("collection", PARENTS)
@pytest.mark.parametrize(
    ("filter_text", "order_text"),
    [
        (None, None),
        ("status eq 'failed'", "displayName desc"),
        ("process/runs/any(s: s/status eq 'failed')", "process/runs/$count desc,endDateTime"),
        (None, "statistics/a"),
    ],
)
def test_expanded_collections_in_chosen_shapes_equal_the_reference(
    history: History, collection: str, filter_text: str | None, order_text: str | None
) -> None:
    for top, skip in [(1, 0), (2, 1), (20, 0), (3, 5)]:
        for nested in (False, True):
            _check(history, collection, filter_text, order_text, top, skip, True, nested)
