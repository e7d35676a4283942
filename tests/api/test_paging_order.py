"""Ordering and keyset paging against a plain-Python reference, over random data and orders.

Each example records its runs under a fresh process and reads ``processes/{id}/runs`` page by
page; the concatenated pages must equal the reference sort: nulls first ascending (last
descending), strings by code point, enums by member value, ``id`` as the final key.
"""

from __future__ import annotations

import functools
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from flowruns.edm import datetimes
from flowruns.edm.industrydata import run_status
from tests.api.steps import create_process
from tests.conftest import HUB, NS

STARTS = ["2026-01-01T00:00:00Z", "2026-01-01T00:00:00.0000001Z", "2026-03-01T12:00:00Z"]
NAMES = ["a", "B", "b", "é", "ab", "Z", "z ", "😀"]
STATUSES = ["running", "completed", "failed", "completedWithWarnings"]
KEYS = ["displayName", "startDateTime", "endDateTime", "status", "id"]

run_specs = st.lists(
    st.tuples(st.sampled_from(NAMES), st.sampled_from(STARTS), st.sampled_from(STATUSES)),
    min_size=0,
    max_size=12,
)
orders = st.lists(
    st.tuples(st.sampled_from(KEYS), st.booleans()),
    min_size=0,
    max_size=3,
    unique_by=lambda k: k[0],
)


def _sortable(name: str, run: dict[str, Any]) -> Any:
    value = run[name]
    if value is None:
        return None
    if name in ("startDateTime", "endDateTime"):
        return datetimes.parse(value)
    if name == "status":
        return run_status.value_of(value)
    return value


def _reference(runs: list[dict[str, Any]], order: list[tuple[str, bool]]) -> list[str]:
    keys = list(order) or [("startDateTime", True)]
    if all(k != "id" for k, _ in keys):
        keys.append(("id", keys[-1][1]))

    def compare(a: dict[str, Any], b: dict[str, Any]) -> int:
        for name, descending in keys:
            x, y = _sortable(name, a), _sortable(name, b)
            if x == y:
                continue
            result = -1 if x is None else 1 if y is None else (-1 if x < y else 1)
            return -result if descending else result
        return 0

    return [r["id"] for r in sorted(runs, key=functools.cmp_to_key(compare))]


@given(specs=run_specs, order=orders, page_size=st.integers(min_value=1, max_value=5))
def test_pages_concatenate_to_the_reference_order(
    client: TestClient,
    specs: list[tuple[str, str, str]],
    order: list[tuple[str, bool]],
    page_size: int,
) -> None:
    process = create_process(client)
    collection = f"{HUB}/processes/{process['id']}/runs"
    runs = []
    for name, start, status in specs:
        body: dict[str, Any] = {
            "@odata.type": f"{NS}.outgoingFlowRun",
            "displayName": name,
            "startDateTime": start,
            "status": status,
        }
        if status != "running":
            body["endDateTime"] = "2026-06-01T00:00:00Z"
        response = client.post(collection, json=body)
        assert response.status_code == 201, response.text
        runs.append(response.json())
    orderby = ",".join(f"{k} {'desc' if d else 'asc'}" for k, d in order)
    url: str | None = f"{collection}?$top={page_size}" + (f"&$orderby={orderby}" if order else "")
    seen: list[str] = []
    while url is not None:
        page = client.get(url)
        assert page.status_code == 200, page.text
        body = page.json()
        assert body["value"] or not seen, "no empty page after the first"
        seen.extend(r["id"] for r in body["value"])
        url = body.get("@odata.nextLink")
        assert url is None or len(body["value"]) == page_size
    assert seen == _reference(runs, order)
