"""Reading what a request asks for: its tenant, query options, bodies, references and keys."""

from __future__ import annotations

import hashlib
from collections import OrderedDict

from starlette.requests import Request

from flowruns.api.auth import principal_of
from flowruns.api.body import read_body
from flowruns.api.urls import SERVICE_ROOT_PATH
from flowruns.edm.capabilities import QUERY_OPTIONS, QueryKind
from flowruns.edm.industrydata import MODEL, PROCESSES, RUNS
from flowruns.edm.model import EntityType
from flowruns.errors import InvalidRequest
from flowruns.odata import path as paths
from flowruns.odata.deserialize import EntityBody, parse_json_object, read_entity
from flowruns.odata.query import QueryOptions, parse_options, split_options
from flowruns.records import ProcessLink
from flowruns.service.idempotency import IdempotencyKey


def tenant_of(request: Request) -> str:
    """The tenant the request acts for: its token's ``tid``."""
    return principal_of(request).tenant


# Each distinct query string, parsed and bound once per route kind and addressed type: clients
# poll the same few queries, and parsing and binding one costs about as much as reading a page
# of runs. Bounded, oldest first out. Options that mention now() are bound to the time of the
# request, so a query string holding "now" in any case is parsed every time.
_PARSED: OrderedDict[tuple[str, QueryKind, str], QueryOptions] = OrderedDict()
PARSED_QUERIES = 1024


def query_options(request: Request, resource: paths.Resource, kind: QueryKind) -> QueryOptions:
    """The request's query options for a route that accepts ``kind``, bound to the type
    ``resource`` holds. An option the route does not take is a 400 before anything is parsed;
    a route that takes none does not read the query string."""
    if kind is QueryKind.NONE:
        return QueryOptions()
    entity_type = paths.addressed_type(resource)
    assert entity_type is not None  # the route table admits options only where there is one
    text = request.url.query
    if "now" in text.lower():
        return _parse(text, kind, entity_type)
    key = (entity_type.qualified_name, kind, text)
    options = _PARSED.get(key)
    if options is None:
        options = _parse(text, kind, entity_type)
        if len(_PARSED) >= PARSED_QUERIES:
            _PARSED.popitem(last=False)
        _PARSED[key] = options
    return options


def _parse(text: str, kind: QueryKind, entity_type: EntityType) -> QueryOptions:
    given = split_options(text)
    for option in QUERY_OPTIONS:
        if option.name in given and option not in kind.options:
            raise InvalidRequest(kind.refusal(option.name), target=f"${option.name}")
    return parse_options(given, entity_type)


def _referenced_key(url: str, table: str, what: str, target: str) -> str:
    """The key of the entity ``url`` names, which must be stored in ``table``."""
    ref = paths.resolve_reference(url, SERVICE_ROOT_PATH)
    # A run group is a run too, so runGroups/{id} names a run as well as runs/{id}.
    if ref.binding.table != table or ref.via is not None or ref.key is None:
        raise InvalidRequest(f"'{url}' is not a {what}.", target=target)
    return ref.key


async def reference_body(request: Request, limit: int, *, runs: bool) -> str:
    """The key named by a ``{"@odata.id": url}`` body: a run's, or else a process's."""
    body = parse_json_object(await read_body(request, limit))
    url = body.get("@odata.id")
    if not isinstance(url, str):
        raise InvalidRequest('The body must be {"@odata.id": "<url>"}.', target="@odata.id")
    if runs:
        return _referenced_key(url, RUNS.table, "run", "@odata.id")
    return _referenced_key(url, PROCESSES.table, "process", "@odata.id")


def entity_body(
    raw: bytes, expected: EntityType, *, partial: bool
) -> tuple[EntityBody, ProcessLink | None]:
    """A create or PATCH body read against ``expected``, with its process link if it binds one."""
    body = read_entity(MODEL, parse_json_object(raw), expected, partial=partial)
    link = None
    if "process" in body.binds:
        url, target = body.binds["process"], "process@odata.bind"
        link = ProcessLink(_referenced_key(url, PROCESSES.table, "process", target))
    return body, link


def idempotency_key(request: Request, raw: bytes) -> IdempotencyKey | None:
    """The request's ``Idempotency-Key`` with a digest of what it asks for."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not 1 <= len(key) <= 255 or not key.isascii() or not key.isprintable():
        raise InvalidRequest(
            "'Idempotency-Key' must be 1 to 255 printable ASCII characters.",
            target="Idempotency-Key",
        )
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.url.path.lower().encode(), raw):
        digest.update(len(part).to_bytes(8, "big") + part)
    return IdempotencyKey(key, digest.hexdigest())
