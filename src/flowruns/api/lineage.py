"""``POST /api/v1/lineage``: an OpenLineage event in, 201 out (Marquez answers the same way).

The path is served below the service root and at the host root, where an OpenLineage client's
default endpoint (``urljoin(url, "api/v1/lineage")``) puts it; both go through the endpoint,
its route and its permission check.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from flowruns.api import responses
from flowruns.api.body import read_body
from flowruns.api.inputs import tenant_of
from flowruns.api.preferences import Preferences
from flowruns.api.urls import entity_url
from flowruns.edm.industrydata import OPEN_LINEAGE, RUNS
from flowruns.odata import path as paths
from flowruns.odata.query import QueryOptions
from flowruns.records import Record
from flowruns.service import openlineage
from flowruns.store.database import Database

if TYPE_CHECKING:
    from flowruns.api.endpoint import ODataEndpoint


async def post_lineage_event(
    endpoint: ODataEndpoint, request: Request, _: paths.Lineage, __: QueryOptions
) -> Response:
    """Validate the event (400 naming the member at fault, nothing stored), keep it and apply
    it to its run."""
    raw = await read_body(request, endpoint.settings.max_body_bytes)
    # Read and validated in the write's own thread: one hop from the event loop, not two.
    record = await endpoint.write(openlineage.receive, endpoint.db, tenant_of(request), raw)
    headers = {} if record is None else {"Location": entity_url(request, record)}
    return responses.empty_response(request, 201, headers)


async def annotations_of(
    db: Database, request: Request, record: Record
) -> tuple[dict[str, Any] | None, dict[str, str] | None]:
    """The ``@flowruns.openLineage`` annotation of a run read with
    ``Prefer: odata.include-annotations`` naming it (its facets; left out for a run no event
    recorded), and the ``Preference-Applied`` header; (None, None) when not asked for."""
    prefer = Preferences.parse(request.headers.get("prefer"))
    if not record.type.is_a(RUNS.type) or not prefer.includes(OPEN_LINEAGE.qualified_name):
        return None, None
    facets = await run_in_threadpool(openlineage.facets_of, db, tenant_of(request), record.id)
    applied = ",".join(prefer.include_annotations)
    headers = {"Preference-Applied": f'odata.include-annotations="{applied}"'}
    return ({} if facets is None else {f"@{OPEN_LINEAGE.qualified_name}": facets}), headers
