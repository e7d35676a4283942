"""The OData endpoint below the service root: resolve the path, pick the operation, answer.

Handlers are thin: they read the request (path, options, headers, body), call one service
function in a worker thread, and format its result. Every rule lives in ``service/``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from flowruns.api import responses
from flowruns.api.auth import authorize
from flowruns.api.body import read_body
from flowruns.api.inputs import (
    collection_options,
    entity_body,
    entity_options,
    idempotency_key,
    reference_body,
    tenant_of,
)
from flowruns.api.preferences import Preferences
from flowruns.api.telemetry import UNMATCHED, name_route
from flowruns.api.urls import SERVICE_ROOT_PATH, entity_url, next_link, service_root
from flowruns.edm.csdl import write_csdl
from flowruns.edm.industrydata import (
    HUB_PATH,
    MODEL,
    PROCESSES,
    RUN_GROUPS,
    external,
)
from flowruns.errors import InvalidRequest, MethodNotAllowed, UriTooLong
from flowruns.odata import path as paths
from flowruns.odata.payload import (
    aggregated_json,
    context_url,
    entity_json,
    etag_header,
    etag_matches,
)
from flowruns.odata.query import (
    DEFAULT_PAGE_SIZE,
    QueryOptions,
)
from flowruns.odata.skiptoken import SkipTokenCodec, fingerprint
from flowruns.records import Record
from flowruns.service import aggregating, reading, writing
from flowruns.service.errors_file import errors_and_warnings_csv
from flowruns.settings import Settings
from flowruns.store.database import Database

Handler = Callable[[Request, Any], Awaitable[Response]]


class ODataEndpoint:
    """Answers every request below ``/beta``."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.tokens = SkipTokenCodec(settings.secret())
        self.metadata = write_csdl(MODEL, ("external", external.qualified_name))

    async def handle(self, request: Request) -> Response:
        name_route(request.scope, UNMATCHED)  # until the path resolves
        try:
            if len(request.scope.get("raw_path", b"")) + len(request.url.query) > (
                self.settings.max_url_bytes
            ):
                raise UriTooLong("The request URL is longer than the server accepts.")
            raw_path: bytes = request.scope.get("raw_path") or request.url.path.encode()
            relative = raw_path.decode("latin-1")[len(SERVICE_ROOT_PATH) :]
            resource = paths.resolve(relative)
            name_route(request.scope, SERVICE_ROOT_PATH + paths.template(resource))
            authorize(request, resource)
            if request.method == "HEAD":
                response = await self._handler(resource, "GET")(request, resource)
                return Response(status_code=response.status_code, headers=dict(response.headers))
            handler = self._handler(resource, request.method)
            return await handler(request, resource)
        except Exception as exc:
            return responses.exception_response(request, exc)

    # -- routing -------------------------------------------------------------------------

    def _handler(self, resource: paths.Resource, method: str) -> Handler:
        table: dict[str, Handler]
        match resource:
            case paths.ServiceDocument():
                table = {"GET": self.get_service_document}
            case paths.Metadata():
                table = {"GET": self.get_metadata}
            case paths.Hub():
                table = {"GET": self.get_hub}
            case paths.CollectionRef():
                table = {"GET": self.get_collection, "POST": self.post_collection}
            case paths.EntityRef(key=None):
                table = {
                    "GET": self.get_entity,
                    "PATCH": self.patch_entity,
                    "POST": self.post_linked_process,
                }
            case paths.EntityRef():
                table = {
                    "GET": self.get_entity,
                    "PATCH": self.patch_entity,
                    "DELETE": self.delete_entity,
                }
            case paths.Count():
                table = {"GET": self.get_count}
            case paths.Ref(target=paths.EntityRef(key=None)):
                table = {
                    "GET": self.get_link,
                    "PUT": self.put_link,
                    "POST": self.put_link,
                    "DELETE": self.delete_link,
                }
            case paths.Ref(target=paths.CollectionRef(via=paths.Via() as via)) if (
                via.source.type.is_a(RUN_GROUPS.type)
            ):
                table = {"GET": self.get_member_links, "POST": self.post_member_link}
            case paths.Ref(target=paths.EntityRef(collection=paths.CollectionRef(via=via))) if (
                via is not None and via.source.type.is_a(RUN_GROUPS.type)
            ):
                table = {"GET": self.get_link, "DELETE": self.delete_member_link}
            case paths.Ref(target=paths.EntityRef()):
                table = {"GET": self.get_link}
            case paths.Ref():
                table = {}
            case paths.FunctionCall():
                table = {"GET": self.call_function}
        handler = table.get(method.upper())
        if handler is None:
            allowed = ", ".join(sorted(table))
            raise MethodNotAllowed(
                f"{method} is not allowed on this resource."
                + (f" Allowed: {allowed}." if allowed else ""),
                headers={"Allow": allowed},
            )
        return handler

    # -- documents -----------------------------------------------------------------------

    async def get_service_document(self, request: Request, _: Any) -> Response:
        root = service_root(request)
        body = {
            "@odata.context": f"{root}/$metadata",
            "value": [{"name": "external", "kind": "Singleton", "url": "external"}],
        }
        return responses.json_response(request, body)

    async def get_metadata(self, request: Request, _: Any) -> Response:
        return responses.raw_response(request, self.metadata, "application/xml")

    async def get_hub(self, request: Request, singleton: paths.Hub) -> Response:
        """The tenant's hub (or the ``external`` root above it): an id and a version that
        never changes."""
        options = entity_options(request, singleton, singleton.type)
        if options.expand:
            raise InvalidRequest(
                "$expand is not supported here; read the hub's collections instead.",
                target="$expand",
            )
        tenant = tenant_of(request)
        hub = Record(type=singleton.type, id=tenant, etag=tenant)
        if_none_match = request.headers.get("if-none-match")
        if if_none_match is not None and etag_matches(if_none_match, hub.etag):
            return responses.empty_response(request, 304, {"ETag": etag_header(hub)})
        fragment = f"{singleton.path}/$entity" if "/" in singleton.path else singleton.path
        return responses.entity_response(request, hub, fragment, select=options.select)

    # -- collections ---------------------------------------------------------------------

    async def get_collection(self, request: Request, collection: paths.CollectionRef) -> Response:
        options = collection_options(request, collection, collection.type)
        if options.apply is not None:
            return await self.get_aggregation(request, collection, options)
        context = context_url(
            service_root(request), collection.context(), options.select, options.expand
        )
        body, records, headers = await self.read_collection(request, collection, options, context)
        body["value"] = [entity_json(r, options.select, options.expand) for r in records]
        return responses.json_response(request, body, headers=headers)

    async def get_aggregation(
        self, request: Request, collection: paths.CollectionRef, options: QueryOptions
    ) -> Response:
        """``$apply``: aggregated rows, whole (no paging; ``$top``/``$skip`` cut the list)."""
        assert options.apply is not None
        rows = await run_in_threadpool(
            aggregating.aggregate_rows,
            self.db,
            tenant_of(request),
            collection,
            options.apply,
            options.apply_order,
        )
        names = ",".join(options.apply.names)
        context = f"{service_root(request)}/$metadata#{collection.context()}({names})"
        body: dict[str, Any] = {"@odata.context": context}
        if options.count:
            body["@odata.count"] = len(rows)
        start = options.skip or 0
        end = None if options.top is None else start + options.top
        body["value"] = aggregated_json(options.apply, rows[start:end])
        return responses.json_response(request, body)

    async def read_collection(
        self,
        request: Request,
        collection: paths.CollectionRef,
        options: QueryOptions,
        context: str,
    ) -> tuple[dict[str, Any], list[Record], dict[str, str]]:
        """One page of ``collection``: the body without ``value``, the records, the headers."""
        tenant = tenant_of(request)
        prefer = Preferences.parse(request.headers.get("prefer"))
        page_size = options.top if options.top is not None else DEFAULT_PAGE_SIZE
        headers: dict[str, str] = {}
        if prefer.max_page_size is not None:
            if options.top is None or prefer.max_page_size < options.top:
                page_size = prefer.max_page_size
            headers["Preference-Applied"] = f"odata.maxpagesize={prefer.max_page_size}"
        # A token is good only for the tenant, resource and order it was made for.
        bound_to = fingerprint(tenant, collection.context(), options.fingerprint())
        after = None
        if options.skiptoken is not None:
            key_types = [item.expr.type for item in reading.total_order(collection.type, options)]
            after = self.tokens.decode(options.skiptoken, bound_to, key_types)
        page = await run_in_threadpool(
            reading.read_page,
            self.db,
            tenant,
            collection,
            options,
            after=after,
            offset=0 if after is not None else options.skip or 0,
            limit=page_size,
        )
        body: dict[str, Any] = {"@odata.context": context}
        if page.total is not None:
            body["@odata.count"] = page.total
        if page.last_key is not None:
            token = self.tokens.encode(bound_to, page.last_key)
            body["@odata.nextLink"] = next_link(request, token)
        return body, page.records, headers

    async def get_count(self, request: Request, count: paths.Count) -> Response:
        options = collection_options(request, count, count.collection.type)
        total = await run_in_threadpool(
            reading.count_collection, self.db, tenant_of(request), count.collection, options
        )
        return responses.raw_response(request, str(total), "text/plain;charset=utf-8")

    async def post_collection(self, request: Request, collection: paths.CollectionRef) -> Response:
        raw = await read_body(request, self.settings.max_body_bytes)
        tenant = tenant_of(request)
        key = idempotency_key(request, raw)
        if collection.binding is PROCESSES and collection.via is None:
            body, _ = entity_body(raw, collection.type, partial=False)
            if body.binds:
                raise InvalidRequest("Processes have no navigation to bind on create.")
            record = await run_in_threadpool(
                writing.create_process, self.db, tenant, body, None, key
            )
            fragment = f"{HUB_PATH}/processes/$entity"
        else:
            body, link = entity_body(raw, collection.type, partial=False)
            record = await run_in_threadpool(
                writing.create_run, self.db, tenant, collection, body, link, key
            )
            fragment = f"{HUB_PATH}/runs/$entity"
        return responses.written_response(request, record, fragment, created=True)

    # -- single entities -----------------------------------------------------------------

    async def get_entity(self, request: Request, ref: paths.EntityRef) -> Response:
        options = entity_options(request, ref, ref.type)
        tenant = tenant_of(request)
        record = await run_in_threadpool(reading.read_entity, self.db, tenant, ref, options)
        if_none_match = request.headers.get("if-none-match")
        if if_none_match is not None and etag_matches(if_none_match, record.etag):
            return responses.empty_response(request, 304, {"ETag": etag_header(record)})
        return responses.entity_response(
            request, record, ref.entity_context(), select=options.select, expand=options.expand
        )

    async def patch_entity(self, request: Request, ref: paths.EntityRef) -> Response:
        raw = await read_body(request, self.settings.max_body_bytes)
        tenant = tenant_of(request)
        if_match = request.headers.get("if-match")
        body, link = entity_body(raw, ref.type, partial=True)
        if ref.binding is PROCESSES:
            if body.binds:
                raise InvalidRequest("Processes have no navigation to bind.")
            record = await run_in_threadpool(
                writing.update_process, self.db, tenant, ref, body, if_match
            )
        else:
            record = await run_in_threadpool(
                writing.update_run, self.db, tenant, ref, body, link, if_match
            )
        return responses.written_response(request, record, ref.entity_context(), created=False)

    async def delete_entity(self, request: Request, ref: paths.EntityRef) -> Response:
        tenant = tenant_of(request)
        if_match = request.headers.get("if-match")
        if ref.binding is PROCESSES:
            cascade = Preferences.parse(request.headers.get("prefer")).cascade_running
            await run_in_threadpool(
                writing.delete_process, self.db, tenant, ref, if_match, cascade_running=cascade
            )
        else:
            await run_in_threadpool(writing.delete_run, self.db, tenant, ref, if_match)
        return responses.empty_response(request)

    async def post_linked_process(self, request: Request, ref: paths.EntityRef) -> Response:
        """``POST runs/{id}/process``: create a process and link the run to it."""
        assert ref.via is not None
        raw = await read_body(request, self.settings.max_body_bytes)
        body, _ = entity_body(raw, ref.type, partial=False)
        if body.binds:
            raise InvalidRequest("Processes have no navigation to bind on create.")
        key = idempotency_key(request, raw)
        record = await run_in_threadpool(
            writing.create_process, self.db, tenant_of(request), body, ref.via.source, key
        )
        return responses.written_response(
            request, record, f"{HUB_PATH}/processes/$entity", created=True
        )

    # -- links ($ref) --------------------------------------------------------------------

    async def get_link(self, request: Request, ref: paths.Ref) -> Response:
        assert isinstance(ref.target, paths.EntityRef)
        record = await run_in_threadpool(
            reading.read_entity, self.db, tenant_of(request), ref.target
        )
        body = {
            "@odata.context": f"{service_root(request)}/$metadata#$ref",
            "@odata.id": entity_url(request, record),
        }
        return responses.json_response(request, body)

    async def put_link(self, request: Request, ref: paths.Ref) -> Response:
        assert isinstance(ref.target, paths.EntityRef)
        assert ref.target.via is not None
        link = writing.Link(await reference_body(request, self.settings.max_body_bytes, runs=False))
        await run_in_threadpool(
            writing.set_run_process,
            self.db,
            tenant_of(request),
            ref.target.via.source,
            link,
            request.headers.get("if-match"),
        )
        return responses.empty_response(request)

    async def delete_link(self, request: Request, ref: paths.Ref) -> Response:
        assert isinstance(ref.target, paths.EntityRef)
        assert ref.target.via is not None
        await run_in_threadpool(
            writing.set_run_process,
            self.db,
            tenant_of(request),
            ref.target.via.source,
            writing.Link(None),
            request.headers.get("if-match"),
        )
        return responses.empty_response(request)

    async def get_member_links(self, request: Request, ref: paths.Ref) -> Response:
        assert isinstance(ref.target, paths.CollectionRef)
        options = collection_options(request, ref, ref.target.type)
        context = f"{service_root(request)}/$metadata#Collection($ref)"
        body, records, headers = await self.read_collection(request, ref.target, options, context)
        body["value"] = [{"@odata.id": entity_url(request, r)} for r in records]
        return responses.json_response(request, body, headers=headers)

    async def post_member_link(self, request: Request, ref: paths.Ref) -> Response:
        assert isinstance(ref.target, paths.CollectionRef)
        assert ref.target.via is not None
        member = await reference_body(request, self.settings.max_body_bytes, runs=True)
        await run_in_threadpool(
            writing.add_group_member,
            self.db,
            tenant_of(request),
            ref.target.via.source,
            member,
        )
        return responses.empty_response(request)

    async def delete_member_link(self, request: Request, ref: paths.Ref) -> Response:
        assert isinstance(ref.target, paths.EntityRef)
        await run_in_threadpool(
            writing.remove_group_member, self.db, tenant_of(request), ref.target
        )
        return responses.empty_response(request)

    # -- functions -----------------------------------------------------------------------

    async def call_function(self, request: Request, call: paths.FunctionCall) -> Response:
        pieces = await run_in_threadpool(
            errors_and_warnings_csv, self.db, tenant_of(request), call.entity
        )
        context = {"@odata.context": f"{service_root(request)}/$metadata#Edm.String"}
        return responses.streamed_value_response(request, context, pieces)
