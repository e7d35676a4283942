"""``POST /api/v1/lineage``: an OpenLineage event in, 201 out (Marquez answers the same way).

The path is served below the service root and at the host root, where an OpenLineage client's
default endpoint (``urljoin(url, "api/v1/lineage")``) puts it; both go through the endpoint,
its route and its permission check.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from flowruns.api import responses
from flowruns.api.body import read_body
from flowruns.api.endpoint import ODataEndpoint
from flowruns.api.inputs import tenant_of
from flowruns.api.urls import entity_url
from flowruns.odata import path as paths
from flowruns.odata.query import QueryOptions
from flowruns.service import openlineage
from flowruns.service.openlineage_events import read_event


async def post_lineage_event(
    endpoint: ODataEndpoint, request: Request, _: paths.Lineage, __: QueryOptions
) -> Response:
    """Validate the event (400 naming the member at fault, nothing stored), keep it and apply
    it to its run."""
    raw = await read_body(request, endpoint.settings.max_body_bytes)
    event = await run_in_threadpool(read_event, raw)
    record = await run_in_threadpool(openlineage.ingest, endpoint.db, tenant_of(request), event)
    headers = {} if record is None else {"Location": entity_url(request, record)}
    return responses.empty_response(request, 201, headers)
