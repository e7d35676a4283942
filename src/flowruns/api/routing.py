"""The vocabulary of the route table, and the table as its readers use it.

A :class:`Route` is a path template below the service root (``/external/industryData/runs/
{id}/process/$ref``) with an :class:`Operation` per method: its handler, the permissions it
needs, the query options it accepts and its OpenAPI description. The table
(:data:`flowruns.api.routes.ROUTES`) is read by the endpoint (which route and operation serve a
resolved path, what to authorize, which options to parse), by ``/openapi.json`` and ``/docs``,
and by the ``/metrics`` route label.

Each template is resolved by the same resolver as requests (``odata/path.py``) when the table is
built, and must be the canonical template of what it resolves to: a request is matched by the
template of its resolved path, a dictionary lookup, so a route can only be declared where
resolution leads and every spelling of a path (key forms, case, casts, navigation chains) finds
the one route that serves it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from starlette.requests import Request
from starlette.responses import Response

from flowruns.auth.scopes import Need
from flowruns.edm.capabilities import QueryKind
from flowruns.edm.model import EntityType
from flowruns.edm.openapi import PathOperation, Success
from flowruns.errors import GraphError, MethodNotAllowed
from flowruns.odata import path as paths
from flowruns.odata.query import QueryOptions

Endpoint = TypeVar("Endpoint")
# A handler answers one operation: the endpoint's state, the request, the resolved resource
# (of the kind the route's template resolves to) and the query options the route accepts.
Handler = Callable[[Endpoint, Request, Any, QueryOptions], Awaitable[Response]]
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class Operation(Generic[Endpoint]):
    """One method of a route.

    ``needs`` are the permissions the path and method need; a read also needs what every
    navigation its bound query options follow reaches (:func:`flowruns.api.permissions.needs`).
    ``query`` says which options are parsed (the others are a 400; with ``NONE`` the query
    string is not read). ``summary``, ``success``, ``body`` (the request body's schema) and
    ``if_match`` describe the operation in the OpenAPI document. An ``anonymous`` operation
    answers without a token (it reads no tenant's data), as Graph serves its documents.
    """

    handler: Handler[Endpoint]
    summary: str
    success: Success
    needs: tuple[Need, ...] = ()
    query: QueryKind = QueryKind.NONE
    body: dict[str, Any] | None = None
    if_match: bool = False
    anonymous: bool = False


class Route(Generic[Endpoint]):
    """A path template and its operations, one keyword argument per method."""

    def __init__(
        self,
        template: str,
        *,
        get: Operation[Endpoint] | None = None,
        post: Operation[Endpoint] | None = None,
        put: Operation[Endpoint] | None = None,
        patch: Operation[Endpoint] | None = None,
        delete: Operation[Endpoint] | None = None,
    ) -> None:
        self.template = template
        given = dict(zip(_METHODS, (get, post, put, patch, delete), strict=True))
        self.operations = {method: op for method, op in given.items() if op is not None}
        # What the template itself resolves to: the kind of resource its handlers receive.
        try:
            self.resource = paths.resolve(template)
        except GraphError as error:
            raise ValueError(f"Route '{template}' does not resolve: {error.message}") from None
        canonical = paths.template(self.resource)
        if canonical != template:
            raise ValueError(f"Route '{template}' is served as '{canonical}'; declare that.")
        entity = paths.addressed_type(self.resource)
        for method, operation in self.operations.items():
            if operation.query is not QueryKind.NONE and entity is None:
                raise ValueError(f"{method} {template} addresses no type to bind options to.")
        self._allow = ", ".join(sorted(self.operations))
        # What to do instead of POSTing to a navigation the model says is not insertable.
        self._insert_note = ""
        if isinstance(self.resource, paths.CollectionRef) and self.resource.via is not None:
            navigation = self.resource.via.navigation
            self._insert_note = "" if navigation.insertable else navigation.insert_note

    def operation(self, method: str) -> Operation[Endpoint]:
        """The operation answering ``method`` (HEAD is GET without a body), or 405."""
        found = self.operations.get("GET" if method == "HEAD" else method.upper())
        if found is None:
            note = self._insert_note if method.upper() == "POST" else ""
            raise not_allowed(method, self._allow, note)
        return found

    def described(self) -> Iterator[PathOperation]:
        """Each operation as the OpenAPI document describes it; an entity set's list also under
        a cast to each of its concrete types, when it holds more than one."""
        keys: list[str] = []

        def named(entity_type: EntityType) -> str:
            keys.append(f"{entity_type.name}-id")
            return f"{{{keys[-1]}}}"

        path = paths.template(self.resource, named)
        tag = _tag(self.resource)
        entity = paths.addressed_type(self.resource)
        for method, op in self.operations.items():
            yield PathOperation(
                path,
                tuple(keys),
                method,
                tag,
                op.summary,
                op.success,
                entity,
                op.query,
                op.body,
                op.if_match,
                op.anonymous,
            )
        listing = self.operations.get("GET")
        entity_set = isinstance(self.resource, paths.CollectionRef) and self.resource.via is None
        if listing is None or entity is None or not entity_set:
            return
        casts = entity.concrete_subtypes()
        for cast in casts if len(casts) > 1 else ():
            yield PathOperation(
                f"{path}/{cast.qualified_name}",
                (),
                "GET",
                tag,
                f"List {cast.name}s",
                listing.success,
                cast,
                listing.query,
            )


def not_allowed(method: str, allow: str, note: str = "") -> MethodNotAllowed:
    """405 with the methods the resource allows (none: the model resolves the path, but no
    route serves it)."""
    message = f"{method} is not allowed on this resource."
    message += f" Allowed: {allow}." if allow else ""
    return MethodNotAllowed(f"{message} {note}".rstrip(), headers={"Allow": allow})


def _tag(resource: paths.Resource) -> str:
    """The OpenAPI tag of a route: the entity set it starts from ("service" for the documents
    and the hub)."""
    match resource:
        case paths.CollectionRef(via=None, binding=binding):
            return binding.name
        case paths.CollectionRef(via=paths.Via(source=source)):
            return _tag(source)
        case paths.EntityRef(collection=paths.CollectionRef() as collection):
            return _tag(collection)
        case paths.EntityRef(via=paths.Via(source=source)):
            return _tag(source)
        case paths.Count(collection=collection):
            return _tag(collection)
        case paths.Ref(target=target):
            return _tag(target)
        case paths.FunctionCall(entity=entity):
            return _tag(entity)
        case paths.CollectionCall(collection=collection):
            return _tag(collection)
        case paths.Lineage():
            return "openlineage"
        case paths.Subscriptions():
            return "subscriptions"
        case _:
            return "service"


class RouteTable(Generic[Endpoint]):
    """The routes, found by the template of a resolved path."""

    def __init__(self, routes: Iterable[Route[Endpoint]]) -> None:
        self.routes = tuple(routes)
        self._by_template: dict[str, Route[Endpoint]] = {}
        for route in self.routes:
            if route.template in self._by_template:
                raise ValueError(f"Route '{route.template}' is declared twice.")
            self._by_template[route.template] = route

    def match(self, resource: paths.Resource) -> Route[Endpoint] | None:
        """The route serving ``resource`` (None: the path names something no route serves)."""
        return self._by_template.get(paths.template(resource))

    def described(self) -> list[PathOperation]:
        """Every operation, for the OpenAPI document."""
        return [described for route in self.routes for described in route.described()]
