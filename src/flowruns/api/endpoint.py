"""The OData endpoint below the service root: find the route, check it, answer.

:meth:`ODataEndpoint.handle` resolves the path, finds the route serving it in the route table
(:mod:`flowruns.api.routes`) and the operation for the method, checks the permissions that
operation needs, reads the query options it accepts and checks what they reach, and only then
calls its handler. Handlers are thin: they read the body and headers, call one service function
in a worker thread, and format its result. Every rule lives in ``service/`` (and what a body may
say, in its deserialization).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, ParamSpec, TypeVar

import anyio
import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from flowruns.api import batch, lineage, notifying, permissions, responses
from flowruns.api.auth import authorize, principal_of
from flowruns.api.body import read_body
from flowruns.api.inputs import (
    entity_body,
    idempotency_key,
    query_options,
    reference_body,
    tenant_of,
)
from flowruns.api.preferences import Preferences
from flowruns.api.routing import RouteTable, not_allowed
from flowruns.api.telemetry import UNMATCHED, name_route
from flowruns.api.urls import (
    SERVICE_ROOT_PATH,
    delta_link,
    entity_url,
    next_link,
    service_root,
)
from flowruns.auth.scopes import Area, Need
from flowruns.edm.csdl import write_csdl
from flowruns.edm.datetimes import TICKS_PER_SECOND, now_ticks
from flowruns.edm.industrydata import (
    FRESHNESS,
    HUB_PATH,
    MODEL,
    SUBSCRIPTIONS_PATH,
    external,
    subscription,
)
from flowruns.errors import GraphError, InvalidRequest, UriTooLong
from flowruns.odata import path as paths
from flowruns.odata.deltatoken import DeltaTokens, Round
from flowruns.odata.deserialize import parse_json_object, read_entity
from flowruns.odata.payload import (
    aggregated_json,
    context_url,
    entity_json,
    rendered_collection,
)
from flowruns.odata.query import QueryOptions, page_size, parse_options
from flowruns.odata.skiptoken import SkipTokenCodec, fingerprint
from flowruns.records import ProcessLink, Record
from flowruns.service import (
    aggregating,
    datasets,
    delta,
    expectations,
    freshness,
    notifications,
    reading,
    writing,
)
from flowruns.service.errors_file import errors_and_warnings_csv
from flowruns.service.formats import CHAT_FORMATS, CLOUD_EVENTS
from flowruns.settings import Settings
from flowruns.store.bounded import LongReads, TooMuchWork, bounded
from flowruns.store.database import Database
from flowruns.store.queries import Page

P = ParamSpec("P")
T = TypeVar("T")

# Worker threads for writes, apart from the default pool that reads use: on SQLite a write
# waits in its thread for its group to commit, and a group can only take as many writes as
# there are threads waiting to join it.
WRITE_THREADS = 16

_READS = ("GET", "HEAD")


def _relative_path(scope: Scope) -> str:
    """The request's path below the service root, as sent (percent-escapes kept); a path the
    host root serves too (``/api/v1/lineage``) as it is."""
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
    path = raw_path.decode("latin-1")
    return path[len(SERVICE_ROOT_PATH) :] if path.startswith(SERVICE_ROOT_PATH) else path


class ODataEndpoint:
    """Answers every request below ``/beta``, by the routes of ``routes``."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        routes: RouteTable[ODataEndpoint],
        notifier: notifying.Notifier,
    ) -> None:
        self.settings = settings
        self.db = db
        self.routes = routes
        self.notifier = notifier
        self.tokens = SkipTokenCodec(settings.secret())
        self.metadata = write_csdl(
            MODEL,
            ("external", external.qualified_name),
            ((SUBSCRIPTIONS_PATH, subscription.qualified_name),),
        )
        self._writers: anyio.CapacityLimiter | None = None  # made in the event loop
        self._long_reads = LongReads()

    async def write(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``function(*args, **kwargs)``, a service write, in a thread of the writes' pool."""
        if self._writers is None:
            self._writers = anyio.CapacityLimiter(WRITE_THREADS)
        call = partial(function, *args, **kwargs)
        return await anyio.to_thread.run_sync(call, limiter=self._writers)

    def serves_anonymously(self, scope: Scope) -> bool:
        """Whether the request of ``scope`` is for an operation that answers without a token
        (``$metadata`` and the service document)."""
        try:
            route = self.routes.match(paths.resolve(_relative_path(scope)))
            return route is not None and route.operation(scope["method"]).anonymous
        except GraphError:
            return False  # the token is checked first; the error is answered after it

    async def handle(self, request: Request) -> Response:
        name_route(request.scope, UNMATCHED)  # until a route is found
        try:
            if len(request.scope.get("raw_path", b"")) + len(request.url.query) > (
                self.settings.max_url_bytes
            ):
                raise UriTooLong("The request URL is longer than the server accepts.")
            resource = paths.resolve(_relative_path(request.scope))
            route = self.routes.match(resource)
            if route is None:
                raise not_allowed(request.method, "")
            name_route(request.scope, SERVICE_ROOT_PATH + route.template)
            operation = route.operation(request.method)
            # The path first, before a query option is parsed; then what the bound options
            # reach, before anything is read. An anonymous operation reads no tenant's data.
            if not operation.anonymous:
                authorize(request, operation.needs)
            options = query_options(request, resource, operation.query)
            if options.traversals:
                authorize(request, operation.needs, options.traversals)
            response = await operation.handler(self, request, resource, options)
            if request.method not in _READS and response.status_code < 300:
                self.notifier.changed()  # dispatch now what this write logged
            if request.method == "HEAD":
                return Response(status_code=response.status_code, headers=dict(response.headers))
            return response
        except Exception as exc:
            return responses.exception_response(request, exc)

    async def read(
        self, request: Request, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """A read, in the event loop while it stays short, else in a worker thread.

        On SQLite a read by key or a page off an index takes less than the hop to a worker
        thread and back, so it runs right here, bounded (:mod:`flowruns.store.bounded`): one
        that would do more is stopped and run again in a thread, where it holds up no other
        request, and the same path and query string go straight to a thread from then on.
        PostgreSQL's driver waits on the network: its reads always go to a thread.
        """
        if self.db.is_sqlite:
            shape = (request.scope["path"], request.scope["query_string"])
            if shape not in self._long_reads:
                try:
                    with bounded(self.db.engine):
                        return function(*args, **kwargs)
                except TooMuchWork:
                    self._long_reads.add(shape)
        return await run_in_threadpool(function, *args, **kwargs)

    # -- documents -----------------------------------------------------------------------

    async def get_service_document(
        self, request: Request, _: paths.ServiceDocument, __: QueryOptions
    ) -> Response:
        root = service_root(request)
        body = {
            "@odata.context": f"{root}/$metadata",
            "value": [
                {"name": "external", "kind": "Singleton", "url": "external"},
                {"name": SUBSCRIPTIONS_PATH, "kind": "EntitySet", "url": SUBSCRIPTIONS_PATH},
            ],
        }
        return responses.json_response(request, body)

    async def get_metadata(self, request: Request, _: paths.Metadata, __: QueryOptions) -> Response:
        return responses.raw_response(request, self.metadata, "application/xml")

    async def post_batch(self, request: Request, _: paths.Batch, __: QueryOptions) -> Response:
        """A JSON batch: each of its requests answered as if sent alone (:mod:`.batch`)."""
        requests = await batch.requests_of(request, self.settings.max_body_bytes)
        answers = await batch.run_batch(request, requests)
        return responses.json_response(request, {"responses": answers})

    async def get_hub(
        self, request: Request, singleton: paths.Hub, options: QueryOptions
    ) -> Response:
        """The tenant's hub (or the ``external`` root above it): an id and a version that
        never changes."""
        if options.expand:
            raise InvalidRequest(
                "$expand is not supported here; read the hub's collections instead.",
                target="$expand",
            )
        tenant = tenant_of(request)
        hub = Record(type=singleton.type, id=tenant, etag=tenant)
        fragment = f"{singleton.path}/$entity" if "/" in singleton.path else singleton.path
        return responses.read_response(request, hub, fragment, select=options.select)

    # -- collections ---------------------------------------------------------------------

    async def get_collection(
        self, request: Request, collection: paths.CollectionRef, options: QueryOptions
    ) -> Response:
        if options.apply is not None:
            return await self.get_aggregation(request, collection, options)
        context = context_url(
            service_root(request), collection.context(), options.select, options.expand
        )
        body, page, headers = await self.read_collection(request, collection, options, context)
        assert page.rendered is not None
        body["value"] = rendered_collection(page.rendered, page.records, options.expand)
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
        *,
        rendered: bool = True,
    ) -> tuple[dict[str, Any], Page, dict[str, str]]:
        """One page of ``collection``: the body without ``value``, the page (its entities
        rendered, or as records), the headers."""
        tenant = tenant_of(request)
        prefer = Preferences.parse(request.headers.get("prefer"))
        sizing = page_size(options.top, prefer.max_page_size)
        headers: dict[str, str] = {}
        if sizing.max_page_size is not None:
            headers["Preference-Applied"] = f"odata.maxpagesize={sizing.max_page_size}"
        # A token is good only for the tenant, resource and order it was made for.
        bound_to = fingerprint(tenant, collection.context(), options.fingerprint())
        after = None
        if options.skiptoken is not None:
            key_types = [item.expr.type for item in reading.total_order(collection.type, options)]
            after = self.tokens.decode(options.skiptoken, bound_to, key_types)
        page = await self.read(
            request,
            reading.read_page,
            self.db,
            tenant,
            collection,
            options,
            after=after,
            offset=0 if after is not None else options.skip or 0,
            limit=sizing.size,
            rendered=rendered,
        )
        body: dict[str, Any] = {"@odata.context": context}
        if page.total is not None:
            body["@odata.count"] = page.total
        if page.last_key is not None:
            token = self.tokens.encode(bound_to, page.last_key)
            body["@odata.nextLink"] = next_link(request, token)
        return body, page, headers

    async def get_count(
        self, request: Request, count: paths.Count, options: QueryOptions
    ) -> Response:
        total = await run_in_threadpool(
            reading.count_collection, self.db, tenant_of(request), count.collection, options
        )
        return responses.raw_response(request, str(total), "text/plain;charset=utf-8")

    async def create_run(
        self, request: Request, collection: paths.CollectionRef, _: QueryOptions
    ) -> Response:
        """A run in ``runs``, ``runGroups`` or a process's ``runs``."""
        raw = await read_body(request, self.settings.max_body_bytes)
        key = idempotency_key(request, raw)
        body, link = entity_body(raw, collection.type, partial=False)
        record = await self.write(
            writing.create_run, self.db, tenant_of(request), collection, body, link, key
        )
        return responses.written_response(request, record, f"{HUB_PATH}/runs/$entity", created=True)

    async def record_access(
        self, request: Request, collection: paths.CollectionRef, _: QueryOptions
    ) -> Response:
        """A dataset a run read or wrote (``runs/{id}/inputs``, ``…/outputs``): 201 with the
        access, or 200 when it replaced the run's earlier access to that dataset."""
        raw = await read_body(request, self.settings.max_body_bytes)
        body, _link = entity_body(raw, collection.type, partial=False)
        record, created = await self.write(
            datasets.record_access, self.db, tenant_of(request), collection, body
        )
        return responses.written_response(
            request, record, f"{collection.context()}/$entity", created=created
        )

    async def create_process(
        self, request: Request, collection: paths.CollectionRef, _: QueryOptions
    ) -> Response:
        raw = await read_body(request, self.settings.max_body_bytes)
        key = idempotency_key(request, raw)
        body, _link = entity_body(raw, collection.type, partial=False)
        record = await self.write(
            writing.create_process, self.db, tenant_of(request), body, None, key
        )
        return responses.written_response(
            request, record, f"{HUB_PATH}/processes/$entity", created=True
        )

    # -- single entities -----------------------------------------------------------------

    async def get_entity(
        self, request: Request, ref: paths.EntityRef, options: QueryOptions
    ) -> Response:
        record = await self.read(
            request, reading.read_entity, self.db, tenant_of(request), ref, options
        )
        annotations, headers = await lineage.annotations_of(self.db, request, record)
        return responses.read_response(
            request,
            record,
            ref.entity_context(),
            select=options.select,
            expand=options.expand,
            annotations=annotations,
            headers=headers,
        )

    async def patch_run(self, request: Request, ref: paths.EntityRef, _: QueryOptions) -> Response:
        raw = await read_body(request, self.settings.max_body_bytes)
        body, link = entity_body(raw, ref.type, partial=True)
        record = await self.write(
            writing.update_run,
            self.db,
            tenant_of(request),
            ref,
            body,
            link,
            request.headers.get("if-match"),
        )
        return responses.written_response(request, record, ref.entity_context(), created=False)

    async def patch_process(
        self, request: Request, ref: paths.EntityRef, _: QueryOptions
    ) -> Response:
        raw = await read_body(request, self.settings.max_body_bytes)
        body, _link = entity_body(raw, ref.type, partial=True)
        record = await self.write(
            writing.update_process,
            self.db,
            tenant_of(request),
            ref,
            body,
            request.headers.get("if-match"),
        )
        return responses.written_response(request, record, ref.entity_context(), created=False)

    async def delete_run(self, request: Request, ref: paths.EntityRef, _: QueryOptions) -> Response:
        await self.write(
            writing.delete_run, self.db, tenant_of(request), ref, request.headers.get("if-match")
        )
        return responses.empty_response(request)

    async def delete_process(
        self, request: Request, ref: paths.EntityRef, _: QueryOptions
    ) -> Response:
        cascade = Preferences.parse(request.headers.get("prefer")).cascade_running
        await self.write(
            writing.delete_process,
            self.db,
            tenant_of(request),
            ref,
            request.headers.get("if-match"),
            cascade_running=cascade,
        )
        return responses.empty_response(request)

    # -- expectations (process health, dataset freshness) ---------------------------------

    async def put_expectation(
        self, request: Request, ref: paths.EntityRef, _: QueryOptions
    ) -> Response:
        return await self._write_expectation(request, ref, replace=True)

    async def patch_expectation(
        self, request: Request, ref: paths.EntityRef, _: QueryOptions
    ) -> Response:
        return await self._write_expectation(request, ref, replace=False)

    async def _write_expectation(
        self, request: Request, ref: paths.EntityRef, *, replace: bool
    ) -> Response:
        """A success rule's incidents and the health it gives tell of run data: writing one
        needs the Run permission too, checked before anything is read."""
        raw = await read_body(request, self.settings.max_body_bytes)
        body, _link = entity_body(raw, ref.type, partial=True)
        if body.values.get("successRule") is not None:
            authorize(request, (Need(Area.RUNS, write=False),))
        record, created = await self.write(
            freshness.write if ref.binding is FRESHNESS else expectations.write,
            self.db,
            tenant_of(request),
            ref,
            body,
            request.headers.get("if-match"),
            replace=replace,
        )
        return responses.written_response(request, record, ref.entity_context(), created=created)

    async def delete_expectation(
        self, request: Request, ref: paths.EntityRef, _: QueryOptions
    ) -> Response:
        remove = freshness.remove if ref.binding is FRESHNESS else expectations.remove
        await self.write(remove, self.db, tenant_of(request), ref, request.headers.get("if-match"))
        return responses.empty_response(request)

    async def create_linked_process(
        self, request: Request, ref: paths.EntityRef, _: QueryOptions
    ) -> Response:
        """``POST runs/{id}/process``: create a process and link the run to it."""
        assert ref.via is not None
        raw = await read_body(request, self.settings.max_body_bytes)
        body, _link = entity_body(raw, ref.type, partial=False)
        key = idempotency_key(request, raw)
        record = await self.write(
            writing.create_process, self.db, tenant_of(request), body, ref.via.source, key
        )
        return responses.written_response(
            request, record, f"{HUB_PATH}/processes/$entity", created=True
        )

    # -- links ($ref) --------------------------------------------------------------------

    async def get_link(self, request: Request, ref: paths.Ref, options: QueryOptions) -> Response:
        assert isinstance(ref.target, paths.EntityRef)
        record = await self.read(
            request, reading.read_entity, self.db, tenant_of(request), ref.target, options
        )
        body = {
            "@odata.context": f"{service_root(request)}/$metadata#$ref",
            "@odata.id": entity_url(request, record),
        }
        return responses.json_response(request, body)

    async def put_link(self, request: Request, ref: paths.Ref, _: QueryOptions) -> Response:
        assert isinstance(ref.target, paths.EntityRef)
        assert ref.target.via is not None
        link = ProcessLink(await reference_body(request, self.settings.max_body_bytes, runs=False))
        await self.write(
            writing.set_run_process,
            self.db,
            tenant_of(request),
            ref.target.via.source,
            link,
            request.headers.get("if-match"),
        )
        return responses.empty_response(request)

    async def delete_link(self, request: Request, ref: paths.Ref, _: QueryOptions) -> Response:
        assert isinstance(ref.target, paths.EntityRef)
        assert ref.target.via is not None
        await self.write(
            writing.set_run_process,
            self.db,
            tenant_of(request),
            ref.target.via.source,
            ProcessLink(None),
            request.headers.get("if-match"),
        )
        return responses.empty_response(request)

    async def get_member_links(
        self, request: Request, ref: paths.Ref, options: QueryOptions
    ) -> Response:
        assert isinstance(ref.target, paths.CollectionRef)
        context = f"{service_root(request)}/$metadata#Collection($ref)"
        body, page, headers = await self.read_collection(
            request, ref.target, options, context, rendered=False
        )
        body["value"] = [{"@odata.id": entity_url(request, r)} for r in page.records]
        return responses.json_response(request, body, headers=headers)

    async def add_member_link(self, request: Request, ref: paths.Ref, _: QueryOptions) -> Response:
        assert isinstance(ref.target, paths.CollectionRef)
        assert ref.target.via is not None
        member = await reference_body(request, self.settings.max_body_bytes, runs=True)
        await self.write(
            writing.add_group_member,
            self.db,
            tenant_of(request),
            ref.target.via.source,
            member,
        )
        return responses.empty_response(request)

    async def delete_member_link(
        self, request: Request, ref: paths.Ref, _: QueryOptions
    ) -> Response:
        assert isinstance(ref.target, paths.EntityRef)
        await self.write(writing.remove_group_member, self.db, tenant_of(request), ref.target)
        return responses.empty_response(request)

    # -- functions -----------------------------------------------------------------------

    async def get_delta(
        self, request: Request, call: paths.CollectionCall, options: QueryOptions
    ) -> Response:
        """``delta()``: the first round (no token), a page of a round (``$skiptoken``), the
        next round (``$deltatoken``), or nothing but a deltaLink (``$deltatoken=latest``)."""
        tenant = tenant_of(request)
        collection = call.collection
        tokens = DeltaTokens(self.tokens, tenant, collection.context())
        size = page_size(None, Preferences.parse(request.headers.get("prefer")).max_page_size)
        now = now_ticks()
        if options.deltatoken is not None and options.skiptoken is not None:
            raise InvalidRequest("Give either $deltatoken or $skiptoken, not both.")
        given = options.deltatoken or options.skiptoken
        page: delta.DeltaPage
        if given is None:
            page = await self.read(
                request,
                delta.initial_page,
                self.db,
                tenant,
                collection,
                options,
                None,
                size.size,
                now,
            )
        elif options.deltatoken == "latest":
            page = await self.read(request, delta.latest, self.db, options, now)
        else:
            option = "$deltatoken" if options.deltatoken is not None else "$skiptoken"
            token = tokens.decode(given, option)
            for name, carried in (("select", token.select), ("filter", token.filter)):
                if name in options.raw and options.raw[name] != carried:
                    raise InvalidRequest(
                        f"The {option} carries the round's ${name}; leave ${name} out, or start "
                        "a new delta() request to change it.",
                        target=f"${name}",
                    )
            carried_options = {
                name: value
                for name, value in (("select", token.select), ("filter", token.filter))
                if value is not None
            }
            options = parse_options(carried_options, collection.type)
            retention = round(self.settings.change_retention_seconds * TICKS_PER_SECOND)
            if token.round is Round.INITIAL:
                page = await self.read(
                    request,
                    delta.initial_page,
                    self.db,
                    tenant,
                    collection,
                    options,
                    token,
                    size.size,
                    now,
                )
            else:
                page = await self.read(
                    request,
                    delta.changes_page,
                    self.db,
                    tenant,
                    collection,
                    options,
                    token,
                    size.size,
                    now,
                    retention,
                )
        body: dict[str, Any] = {
            "@odata.context": context_url(
                service_root(request), collection.context(), options.select
            )
        }
        encoded = tokens.encode(page.next)
        if page.next.round is Round.STATE:
            body["@odata.deltaLink"] = delta_link(request, "$deltatoken", encoded)
        else:
            body["@odata.nextLink"] = delta_link(request, "$skiptoken", encoded)
        body["value"] = [_delta_item(item, options) for item in page.items]
        headers = {}
        if size.max_page_size is not None:
            headers["Preference-Applied"] = f"odata.maxpagesize={size.max_page_size}"
        return responses.json_response(request, body, headers=headers)

    # -- subscriptions (change notifications) ----------------------------------------------

    def _authorize_resource(self, request: Request, resource: str) -> None:
        """403 unless the token may read what ``resource`` addresses, as a GET of it would."""
        target = notifications.parse_resource(resource)
        authorize(request, permissions.reading(target.collection.type), target.options.traversals)

    async def list_subscriptions(
        self, request: Request, _: paths.Subscriptions, __: QueryOptions
    ) -> Response:
        """The tenant's subscriptions created by the calling application that it may read."""
        principal = principal_of(request)
        found = await run_in_threadpool(
            notifications.listing, self.db, principal.tenant, principal.client
        )
        readable = []
        for row in found:
            try:
                self._authorize_resource(request, row.resource)
            except GraphError:
                continue
            readable.append(notifications.to_json(row))
        context = f"{service_root(request)}/$metadata#{SUBSCRIPTIONS_PATH}"
        return responses.json_response(request, {"@odata.context": context, "value": readable})

    async def create_subscription(
        self, request: Request, _: paths.Subscriptions, __: QueryOptions
    ) -> Response:
        """Check the body, the permission to read the resource and that the resource exists,
        then validate each receiver (the handshake) and only then store the subscription."""
        raw = await read_body(request, self.settings.max_body_bytes)
        given = parse_json_object(raw)
        body = read_entity(MODEL, given, subscription, partial=False)
        allow_private = self.settings.notification_allow_private
        new = notifications.read_new(
            body.values,
            now_ticks(),
            allow_http=allow_private,
            notification_format=notifications.read_format(
                given.get(notifications.FORMAT_ANNOTATION)
            ),
        )
        self._authorize_resource(request, new.values["resource"])
        principal = principal_of(request)
        await run_in_threadpool(notifications.check_target, self.db, principal.tenant, new.target)
        receivers = [
            (name, new.values[name])
            for name in ("notificationUrl", "lifecycleNotificationUrl")
            if new.values.get(name) is not None
        ]
        if new.format in CHAT_FORMATS:
            chat_hosts = self.settings.notification_chat_hosts
            notifying.check_chat_host(new.values["notificationUrl"], "notificationUrl", chat_hosts)
        for name, url in receivers:
            await notifying.check_receiver(url, name, allow_private=allow_private)
        for name, url in receivers:
            await self._validate(new.format, url, name)
        creator = notifications.Creator(
            principal.client,
            round(principal.expires * TICKS_PER_SECOND),
            permissions.readable_sets(principal.permissions),
        )
        created = await self.write(notifications.create, self.db, principal.tenant, new, creator)
        root = service_root(request)
        context = {"@odata.context": f"{root}/$metadata#{SUBSCRIPTIONS_PATH}/$entity"}
        location = f"{root}/{SUBSCRIPTIONS_PATH}/{created['id']}"
        return responses.json_response(
            request, context | created, status=201, headers={"Location": location}
        )

    async def _validate(self, notification_format: str | None, url: str, name: str) -> None:
        """Validate the receiver ``url`` (the member ``name``) as its format asks: Graph's
        validation token, the CloudEvents webhook handshake, or none for chat webhooks (whose
        host the allowlist checked). Lifecycle notifications are Graph's in every format."""
        client, allow_private = self.notifier.client, self.settings.notification_allow_private
        lifecycle = name == "lifecycleNotificationUrl"
        if notification_format is None or lifecycle:
            await notifying.handshake(client, url, name, allow_private=allow_private)
        elif notification_format == CLOUD_EVENTS:
            origin = self.notifier.origin
            await notifying.cloud_events_handshake(
                client, url, name, origin, allow_private=allow_private
            )

    async def _owned(self, request: Request, resource: paths.Subscriptions) -> str:
        """The key of the caller's subscription ``resource`` names (404 for any other), once
        the permission to read its resource is checked."""
        principal = principal_of(request)
        key = resource.key
        assert key is not None
        text = await run_in_threadpool(
            notifications.resource_of, self.db, principal.tenant, key, principal.client
        )
        self._authorize_resource(request, text)
        return key

    async def get_subscription(
        self, request: Request, resource: paths.Subscriptions, _: QueryOptions
    ) -> Response:
        key = await self._owned(request, resource)
        principal = principal_of(request)
        found = await run_in_threadpool(
            notifications.get, self.db, principal.tenant, key, principal.client
        )
        context = f"{service_root(request)}/$metadata#{SUBSCRIPTIONS_PATH}/$entity"
        return responses.json_response(request, {"@odata.context": context} | found)

    async def patch_subscription(
        self, request: Request, resource: paths.Subscriptions, _: QueryOptions
    ) -> Response:
        """Renew: a new ``expirationDateTime``."""
        key = await self._owned(request, resource)
        raw = await read_body(request, self.settings.max_body_bytes)
        body = read_entity(MODEL, parse_json_object(raw), subscription, partial=True)
        principal = principal_of(request)
        renewed = await self.write(
            notifications.renew,
            self.db,
            principal.tenant,
            key,
            principal.client,
            body.values,
            now_ticks(),
        )
        context = f"{service_root(request)}/$metadata#{SUBSCRIPTIONS_PATH}/$entity"
        return responses.json_response(request, {"@odata.context": context} | renewed)

    async def delete_subscription(
        self, request: Request, resource: paths.Subscriptions, _: QueryOptions
    ) -> Response:
        key = await self._owned(request, resource)
        principal = principal_of(request)
        await self.write(notifications.remove, self.db, principal.tenant, key, principal.client)
        return responses.empty_response(request)

    async def reauthorize_subscription(
        self, request: Request, resource: paths.Subscriptions, _: QueryOptions
    ) -> Response:
        """``reauthorize``: the request's (fresh) token keeps the subscription alive."""
        key = await self._owned(request, resource)
        principal = principal_of(request)
        creator = notifications.Creator(
            principal.client,
            round(principal.expires * TICKS_PER_SECOND),
            permissions.readable_sets(principal.permissions),
        )
        await self.write(notifications.reauthorize, self.db, principal.tenant, key, creator)
        return responses.empty_response(request)

    async def get_errors_and_warnings_file(
        self, request: Request, call: paths.FunctionCall, _: QueryOptions
    ) -> Response:
        pieces = await run_in_threadpool(
            errors_and_warnings_csv, self.db, tenant_of(request), call.entity
        )
        context = {"@odata.context": f"{service_root(request)}/$metadata#Edm.String"}
        return responses.streamed_value_response(request, context, pieces)


def _delta_item(
    item: Record | delta.Removed | orjson.Fragment, options: QueryOptions
) -> dict[str, Any] | orjson.Fragment:
    """An entity of a delta page, or its removal as Graph writes one."""
    if isinstance(item, orjson.Fragment):
        return item
    if isinstance(item, Record):
        return entity_json(item, options.select)
    return {
        "@odata.type": f"#{item.type.qualified_name}",
        "id": item.id,
        "@removed": {"reason": item.reason},
    }
