"""The requests each scenario sends, found by asking the running flowruns server."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import httpx

from bench.wrk import Request
from flowruns.edm.capabilities import DEFAULT_PAGE_SIZE, MAX_TOP

HUB = "/beta/external/industryData"
RUN_TYPE = "outgoingFlowRun"
STATUS = "failed"
LIST_PATH = f"{HUB}/runs/microsoft.graph.industryData.{RUN_TYPE}"
FILTER = "$filter=status%20eq%20%27failed%27"
PAGE_SIZE = DEFAULT_PAGE_SIZE  # the server's default page size, which every list scenario uses
_JSON = ("Content-Type", "application/json")
CEILING_SCENARIOS = ("ceiling", "select", "insert")
FAIR_SCENARIOS = ("fair-get", "fair-list")


@dataclass(frozen=True)
class Targets:
    """What the scenarios of one flowruns server need: ids, URLs and the page bytes."""

    run_id: str
    process_id: str
    # Writes spread over many runs and every process, as flows write their own runs: eight
    # connections changing one row would measure that row's lock, not the write path.
    run_ids: tuple[str, ...]
    process_ids: tuple[str, ...]
    list_url: str
    filtered: bool  # False while the server has no $filter: the list is the type cast alone
    page: bytes
    page_type: str
    deep_url: str


def discover(client: httpx.Client, base: str) -> Targets:
    """Ids, the list query (with ``$filter`` when the server supports it) and its deep page."""
    run_ids = _ids(client, f"{base}{HUB}/runs?$top=500&$select=id")
    process_ids = _ids(client, f"{base}{HUB}/processes?$top=500&$select=id")
    list_url = f"{base}{LIST_PATH}?{FILTER}"
    filtered = client.get(list_url).status_code == 200
    if not filtered:
        list_url = f"{base}{LIST_PATH}"
    first = client.get(list_url)
    first.raise_for_status()
    return Targets(
        run_id=run_ids[0],
        process_id=process_ids[0],
        run_ids=run_ids,
        process_ids=process_ids,
        list_url=list_url,
        filtered=filtered,
        page=first.content,
        page_type=first.headers["content-type"],
        deep_url=deep_url(client, list_url),
    )


def _ids(client: httpx.Client, url: str) -> tuple[str, ...]:
    response = client.get(url)
    response.raise_for_status()
    return tuple(str(entity["id"]) for entity in response.json()["value"])


def deep_url(client: httpx.Client, list_url: str) -> str:
    """The nextLink that starts about 90% of the way through ``list_url``'s results.

    When fewer than a page would follow from there, it starts a page before the end instead, so
    that the deep page holds as many runs as the first. The walk uses large pages (``Prefer:
    odata.maxpagesize``, which nextLinks do not carry) so that it stays short; the link it ends
    on then answers a page of the default size, like the first page.
    """
    sep = "&" if "?" in list_url else "?"
    counted = client.get(f"{list_url}{sep}$count=true&$top=0")
    counted.raise_for_status()
    total: int = counted.json()["@odata.count"]
    start = max(0, min(int(total * 0.9), total - PAGE_SIZE))
    walk_page = max(1, min(MAX_TOP, start // 20))
    url = list_url
    prefer = {"Prefer": f"odata.maxpagesize={walk_page}"}
    for _ in range(start // walk_page):
        page = client.get(url, headers=prefer)
        page.raise_for_status()
        url = page.json()["@odata.nextLink"]
    return url


def flowruns_requests(
    targets: Targets, base: str, auth: tuple[tuple[str, str], ...]
) -> dict[str, Request]:
    """Scenarios 1-5 against one flowruns server."""
    return {
        "get": Request("GET", f"{base}{HUB}/runs/{targets.run_id}", auth),
        "list": Request("GET", targets.list_url, auth),
        "deep": Request("GET", targets.deep_url, auth),
        "create": Request(
            "POST",
            f"{base}{HUB}/processes/{targets.process_id}/runs",
            (*auth, _JSON),
            json.dumps({"displayName": "bench run"}),
            tuple(f"{HUB}/processes/{id_}/runs" for id_ in targets.process_ids),
        ),
        "patch": Request(
            "PATCH",
            f"{base}{HUB}/runs/{targets.run_id}",
            (*auth, _JSON),
            json.dumps({"statistics": {"recordsProcessed": 2400}}),
            tuple(f"{HUB}/runs/{id_}" for id_ in targets.run_ids),
        ),
    }


def compression_requests(base: str, auth: tuple[tuple[str, str], ...]) -> dict[str, Request]:
    """The largest page there is (999 runs), as it is, gzip-coded and brotli-coded: what
    compression costs the server per page. Every other scenario sends no Accept-Encoding, so it
    is never compressed and its figures stay comparable with earlier runs."""
    url = f"{base}{HUB}/runs?$top={MAX_TOP}"
    return {
        "big-page": Request("GET", url, auth),
        "big-page-gzip": Request("GET", url, (*auth, ("Accept-Encoding", "gzip"))),
        "big-page-br": Request("GET", url, (*auth, ("Accept-Encoding", "br"))),
    }


def overview_requests(
    base: str, auth: tuple[tuple[str, str], ...], today: datetime | None = None
) -> dict[str, Request]:
    """The requests the dashboard's overview sends (docs/dashboard.md), on one history."""
    day = (today or datetime.now(UTC)).replace(hour=0, minute=0, second=0, microsecond=0)
    since = (day - timedelta(days=29)).strftime("%Y-%m-%dT%H:%M:%SZ")
    chart = (
        f"filter(startDateTime ge {since})/compute(date(startDateTime) as day)"
        "/groupby((day,status),aggregate($count as runs))"
    )
    expand = "$expand=process($select=id,displayName)"
    runs = f"{base}{HUB}/runs"
    running, failed = quote("status eq 'running'"), quote("status eq 'failed'")
    counts = quote("groupby((status),aggregate($count as runs))")
    return {
        "chart": Request("GET", f"{runs}?$apply={quote(chart)}", auth),
        "counts": Request("GET", f"{runs}?$apply={counts}", auth),
        "running": Request("GET", f"{runs}?$filter={running}&$top=10&$count=true&{expand}", auth),
        "failures": Request("GET", f"{runs}?$filter={failed}&$top=5&{expand}", auth),
    }


DELTA_PATH = f"{HUB}/runs/delta()"
DELTA_SCENARIOS = ("delta-empty", "delta-changes")


def latest_delta_link(client: httpx.Client, base: str) -> str | None:
    """A deltaLink at the current state (``$deltatoken=latest``): following it is an empty
    delta poll until something changes. None when the server has no delta query."""
    answer = client.get(f"{base}{DELTA_PATH}?$deltatoken=latest")
    if answer.status_code != 200:
        return None
    return str(answer.json()["@odata.deltaLink"])


def delta_requests(
    client: httpx.Client, base: str, auth: tuple[tuple[str, str], ...], run_ids: tuple[str, ...]
) -> dict[str, Request]:
    """Scenarios 9 and 10: a delta poll with nothing changed (its link is taken afresh before
    every sample, as the write scenarios change runs), and one whose first page holds
    ``PAGE_SIZE`` changes (a deltaLink with ``PAGE_SIZE + 1`` runs changed after it: later
    changes only add to what follows, so its first page stays a full page)."""
    start = latest_delta_link(client, base)
    if start is None:
        return {}
    changed = run_ids[: PAGE_SIZE + 1]
    if len(changed) <= PAGE_SIZE:
        return {}
    for number, run_id in enumerate(changed):
        answer = client.patch(
            f"{base}{HUB}/runs/{run_id}", json={"statistics": {"benchDelta": number + 1}}
        )
        answer.raise_for_status()
    empty = latest_delta_link(client, base)
    assert empty is not None
    return {
        "delta-empty": Request("GET", empty, auth),
        "delta-changes": Request("GET", start, auth),
    }


def ceiling_requests(base: str, run_id: str) -> dict[str, Request]:
    """Scenarios 6 and 7, and the bare read by key, on the bare Starlette app of one history."""
    requests = {
        "ceiling": Request("GET", f"{base}/page"),
        "select": Request("GET", f"{base}/run/{run_id}"),
        "insert": Request("POST", f"{base}/insert"),
    }
    assert tuple(requests) == CEILING_SCENARIOS
    return requests


LINEAGE_SCENARIOS = ("lineage", "get-ingesting")
# An Airflow task run as the official client reports it: START, then COMPLETE with its output's
# statistics, each request one event of one of the runs the connections take turns on.
_LINEAGE_EVENT = {
    "eventType": "@TYPE@",
    "eventTime": "@TIME@",
    "producer": "https://github.com/apache/airflow/tree/providers-openlineage/2.3.0",
    "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    "run": {"runId": "@RUN@", "facets": {}},
    "job": {"namespace": "airflow", "name": "bench_dag.load_orders", "facets": {}},
    "inputs": [{"namespace": "postgres://db:5432", "name": "public.orders"}],
    "outputs": [
        {
            "namespace": "s3://lake",
            "name": "orders",
            "outputFacets": {
                "outputStatistics": {
                    "_producer": "https://github.com/apache/airflow",
                    "_schemaURL": "https://openlineage.io/spec/facets/1-0-2/"
                    "OutputStatisticsOutputDatasetFacet.json",
                    "rowCount": 2400,
                    "size": 65536,
                }
            },
        }
    ],
}
# Every odd request starts a new run (a random version-4 GUID), every even one completes it.
_LINEAGE_LUA = """
math.randomseed(os.time() + math.floor(os.clock() * 1000000))
local template = @TEMPLATE@
local counter, run = 0, nil
local function r(n) return math.random(0, n) end
request = function()
  counter = counter + 1
  local kind, time = "COMPLETE", "2026-11-30T08:05:00Z"
  if counter % 2 == 1 then
    run = string.format("%04x%04x-%04x-4%03x-a%03x-%04x%04x%04x",
      r(65535), r(65535), r(65535), r(4095), r(4095), r(65535), r(65535), r(65535))
    kind, time = "START", "2026-11-30T08:00:00Z"
  end
  local body = template:gsub("@RUN@", run):gsub("@TYPE@", kind):gsub("@TIME@", time)
  return wrk.format(nil, nil, nil, body)
end
"""


def lineage_requests(
    base: str, auth: tuple[tuple[str, str], ...], run_id: str
) -> dict[str, Request]:
    """OpenLineage events posted one per request, as the official client sends them; and the
    GET of scenario 1, which ``get-ingesting`` measures while those events load the server."""
    template = json.dumps(json.dumps(_LINEAGE_EVENT))
    return {
        "lineage": Request(
            "POST",
            f"{base}/api/v1/lineage",
            (*auth, _JSON),
            lua=_LINEAGE_LUA.replace("@TEMPLATE@", template),
        ),
        "get-ingesting": Request("GET", f"{base}{HUB}/runs/{run_id}", auth),
    }


def shape_requests(base: str, auth: tuple[tuple[str, str], ...]) -> dict[str, Request]:
    """Two query shapes no other scenario uses, measured to see that reads are fast for every
    shape and not only the benchmark's: a ``$filter`` on a statistics member ordered by
    ``endDateTime`` (no index serves that order), and ``$expand=process`` with ``$select`` on
    both sides."""
    runs = f"{base}{HUB}/runs"
    stats = quote("statistics/recordsFailed gt 0")
    expand = quote("process($select=displayName)")
    return {
        "stats-order": Request("GET", f"{runs}?$filter={stats}&$orderby=endDateTime%20desc", auth),
        "expand-select": Request(
            "GET", f"{runs}?$select=displayName,status&$expand={expand}", auth
        ),
    }


def fair_requests(base: str, run_id: str, auth: tuple[tuple[str, str], ...]) -> dict[str, Request]:
    """Scenarios 1 and 2 on the fair ceiling (:mod:`bench.fair`) of one history."""
    requests = {
        "fair-get": Request("GET", f"{base}/fair/run/{run_id}", auth),
        "fair-list": Request("GET", f"{base}/fair/page", auth),
    }
    assert tuple(requests) == FAIR_SCENARIOS
    return requests
