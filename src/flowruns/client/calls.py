"""Each API operation as a :class:`Call`: method, URL, query, body and how to read the answer.

The calls know nothing of sockets, so :class:`~flowruns.client.Client` and
:class:`~flowruns.client.AsyncClient` send exactly the same requests and read them the same way.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx

from flowruns.client.codec import decode_entity, format_datetime, wire_changes
from flowruns.client.filters import Filter, OrderKey, Path
from flowruns.client.lineage import DatasetRef
from flowruns.client.models import (
    ENTITY_TYPES,
    Dataset,
    DatasetAccess,
    Entity,
    Incident,
    Process,
    Run,
    Subscription,
)
from flowruns.edm import industrydata

T = TypeVar("T")
E = TypeVar("E", bound=Entity)

NS = "microsoft.graph.industryData"
HUB = "external/industryData"

RUNS = f"{HUB}/runs"
PROCESSES = f"{HUB}/processes"

#: The most items one page holds, in Microsoft Graph and in flowruns.
MAX_PAGE_SIZE = 999

FilterArg = Filter | str | None
OrderArg = str | OrderKey | Path | Sequence[str | OrderKey | Path] | None
TypeArg = str | type[Entity] | None


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request and the decoder of its success response.

    ``url`` is relative to the service root, or absolute (a nextLink). ``headers`` are fixed when
    the call is built, so an ``Idempotency-Key`` is the same on every retry of the call.
    """

    method: str
    url: str
    decode: Callable[[httpx.Response], T]
    params: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    #: A POST whose repetition does no harm by itself (recording a run's dataset again
    #: replaces what was recorded).
    idempotent: bool = False

    @property
    def replayable(self) -> bool:
        """Whether sending this request twice does no harm (see :mod:`.retrying`)."""
        return self.method != "POST" or self.idempotent or "Idempotency-Key" in self.headers


@dataclass
class Page(Generic[T]):
    """One page of a collection: its items, the link to the next page, the total if asked."""

    items: list[T]
    next_link: str | None = None
    count: int | None = None


def qualified_type(type_: TypeArg, base: type[Entity]) -> str | None:
    """The qualified name of ``type_`` (``"outgoingFlowRun"``, a qualified name or a model
    class), checked to be ``base`` or derived from it."""
    if type_ is None:
        return None
    name = type_.odata_type if isinstance(type_, type) else type_
    name = name.removeprefix("#")
    if "." not in name:
        name = f"{NS}.{name}"
    cls = ENTITY_TYPES.get(name)
    if cls is None or not issubclass(cls, base):
        kinds = sorted(n.rsplit(".", 1)[-1] for n, c in ENTITY_TYPES.items() if issubclass(c, base))
        raise ValueError(f"{type_!r} is not a {base.__name__} type; one of {', '.join(kinds)}")
    return name


def key(entity_id: str) -> str:
    """An id as one path segment, whatever characters it holds."""
    return quote(entity_id, safe="")


def _orderby(orderby: OrderArg) -> str:
    keys = [orderby] if isinstance(orderby, str | OrderKey | Path) else list(orderby or [])
    return ",".join(str(k) for k in keys)


def _search(text: str) -> str:
    """``text`` as one ``$search`` phrase: a substring of ``displayName``, taken literally."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def page_size(top: int | None, limit: int | None) -> int | None:
    """The ``$top`` to ask for: ``top`` (the page size) when given; else, for at most ``limit``
    items, pages no larger than that."""
    if limit is not None and limit < 0:
        raise ValueError(f"limit is the most items to return: 0 or more, not {limit}")
    if top is not None or limit is None:
        return top
    return max(1, min(limit, MAX_PAGE_SIZE))


def query(
    *,
    filter: FilterArg = None,
    orderby: OrderArg = None,
    top: int | None = None,
    skip: int | None = None,
    select: Iterable[str] | None = None,
    expand: str | None = None,
    search: str | None = None,
    count: bool = False,
) -> dict[str, str]:
    """The system query options of a collection request."""
    params: dict[str, str] = {}
    if filter is not None:
        params["$filter"] = str(filter)
    if orderby:
        params["$orderby"] = _orderby(orderby)
    if top is not None:
        params["$top"] = str(top)
    if skip is not None:
        params["$skip"] = str(skip)
    if select is not None:
        params["$select"] = ",".join(select)
    if expand:
        params["$expand"] = expand
    if search:
        params["$search"] = _search(search)
    if count:
        params["$count"] = "true"
    return params


def _json(response: httpx.Response) -> Any:
    return response.json()


def entity_decoder(base: type[E]) -> Callable[[httpx.Response], E]:
    def decode(response: httpx.Response) -> E:
        return decode_entity(base, _json(response))

    return decode


def page_decoder(base: type[E]) -> Callable[[httpx.Response], Page[E]]:
    def decode(response: httpx.Response) -> Page[E]:
        body = _json(response)
        return Page(
            [decode_entity(base, item) for item in body.get("value", [])],
            body.get("@odata.nextLink"),
            body.get("@odata.count"),
        )

    return decode


@dataclass(frozen=True)
class Removed:
    """An entity that left a collection followed by delta query: ``reason`` is ``"deleted"``,
    or ``"changed"`` when it still exists but no longer matches the delta's filter."""

    id: str
    reason: str
    odata_type: str | None = None


@dataclass
class DeltaPage(Generic[T]):
    """One page of a delta round: what changed, and the nextLink or (on the round's last page)
    the deltaLink."""

    items: list[T | Removed]
    next_link: str | None = None
    delta_link: str | None = None


def delta_decoder(base: type[E]) -> Callable[[httpx.Response], DeltaPage[E]]:
    def decode(response: httpx.Response) -> DeltaPage[E]:
        body = _json(response)
        items: list[E | Removed] = []
        for item in body.get("value", []):
            removed = item.get("@removed")
            if isinstance(removed, dict):
                items.append(
                    Removed(item["id"], str(removed.get("reason")), item.get("@odata.type"))
                )
            else:
                items.append(decode_entity(base, item))
        return DeltaPage(items, body.get("@odata.nextLink"), body.get("@odata.deltaLink"))

    return decode


def delta(
    path: str,
    base: type[E],
    *,
    filter: FilterArg = None,
    select: Iterable[str] | None = None,
    delta_link: str | None = None,
    page_size: int | None = None,
) -> Call[DeltaPage[E]]:
    """The first request of a delta round of the collection at ``path``: from its current
    state, or from ``delta_link`` (which carries the filter and selection it was made with)."""
    if delta_link is not None:
        if filter is not None or select is not None:
            raise ValueError("a deltaLink carries its filter and select; give neither with it")
        return delta_next(delta_link, base, page_size)
    params = query(filter=filter, select=select)
    headers = _max_page_size(page_size)
    return Call("GET", f"{path}/delta()", delta_decoder(base), params=params, headers=headers)


def delta_next(link: str, base: type[E], page_size: int | None) -> Call[DeltaPage[E]]:
    """The call that fetches the page a delta round's nextLink (or deltaLink) names."""
    return Call("GET", link, delta_decoder(base), headers=_max_page_size(page_size))


def _max_page_size(page_size: int | None) -> dict[str, str]:
    return {} if page_size is None else {"Prefer": f"odata.maxpagesize={page_size}"}


def _count(response: httpx.Response) -> int:
    return int(response.text)


def _nothing(response: httpx.Response) -> None:
    return None


def next_page(link: str, base: type[E]) -> Call[Page[E]]:
    """The call that fetches the page a nextLink names."""
    return Call("GET", link, page_decoder(base))


def collection(path: str, type_: TypeArg, base: type[Entity]) -> str:
    cast = qualified_type(type_, base)
    return f"{path}/{cast}" if cast else path


def list_page(path: str, base: type[E], params: Mapping[str, str]) -> Call[Page[E]]:
    return Call("GET", path, page_decoder(base), params=params)


def count(path: str, params: Mapping[str, str]) -> Call[int]:
    return Call("GET", f"{path}/$count", _count, params=params)


def get(path: str, base: type[E], select: Iterable[str] | None, expand: str | None) -> Call[E]:
    return Call("GET", path, entity_decoder(base), params=query(select=select, expand=expand))


def create(
    path: str, base: type[E], body: Mapping[str, Any], idempotency_key: str | None
) -> Call[E]:
    """A POST that creates an entity; it always carries an Idempotency-Key (a fresh uuid4 when
    none is given), so its retries can never create a second entity."""
    headers = {"Idempotency-Key": idempotency_key or str(uuid.uuid4())}
    return Call("POST", path, entity_decoder(base), body=dict(body), headers=headers)


def _if_match(if_match: str | Entity | None) -> dict[str, str]:
    if if_match is None:
        return {}
    etag = if_match.etag if isinstance(if_match, Entity) else if_match
    if etag is None:
        raise ValueError("the entity given as if_match has no ETag")
    return {"If-Match": etag}


def update(
    path: str, base: type[E], body: Mapping[str, Any], if_match: str | Entity | None
) -> Call[E]:
    return Call("PATCH", path, entity_decoder(base), body=dict(body), headers=_if_match(if_match))


def delete(path: str, if_match: str | Entity | None, prefer: str | None = None) -> Call[None]:
    headers = _if_match(if_match)
    if prefer:
        headers["Prefer"] = prefer
    return Call("DELETE", path, _nothing, headers=headers)


def heartbeat(path: str) -> Call[None]:
    """The empty PATCH that tells the server the run's writer is alive."""
    return Call("PATCH", path, _nothing, body={}, headers={"Prefer": "return=minimal"})


def put_ref(path: str, target: str) -> Call[None]:
    return Call("PUT", f"{path}/$ref", _nothing, body={"@odata.id": target})


def delete_ref(path: str) -> Call[None]:
    return Call("DELETE", f"{path}/$ref", _nothing)


# Keyword aliases accepted besides the model's attribute names.
_RUN_ALIASES = {"start": "start_date_time", "end": "end_date_time"}


def run_body(changes: Mapping[str, Any]) -> dict[str, Any]:
    """A run's JSON members from keyword arguments (``process_id`` becomes a bind)."""
    named = {_RUN_ALIASES.get(k, k): v for k, v in changes.items() if k != "process_id"}
    body = wire_changes(Run, named)
    process_id = changes.get("process_id")
    if process_id is not None:
        body["process@odata.bind"] = f"{HUB}/processes/{key(process_id)}"
    return body


def process_body(process_type: str | None, changes: Mapping[str, Any]) -> dict[str, Any]:
    """A process's JSON members from keyword arguments: those of ``process_type``, or of any
    process type when the type is not known (an update)."""
    if process_type is not None:
        return wire_changes(ENTITY_TYPES[process_type], changes)
    body: dict[str, Any] = {}
    for name, value in changes.items():
        for cls in ENTITY_TYPES.values():
            if issubclass(cls, Process) and not cls.abstract:
                try:
                    body.update(wire_changes(cls, {name: value}))
                    break
                except TypeError:
                    continue
        else:
            wire_changes(Process, {name: value})  # raises, naming the known attributes
    return body


# The operations of ``client.runs`` and ``client.processes``, shared by both clients.


def run_path(run_id: str) -> str:
    return f"{RUNS}/{key(run_id)}"


def process_path(process_id: str) -> str:
    return f"{PROCESSES}/{key(process_id)}"


def runs_page(
    type_: TypeArg, params: Mapping[str, str], under: str | None = None
) -> Call[Page[Run]]:
    """The first page of runs (of one process when ``under`` is its id)."""
    path = f"{process_path(under)}/runs" if under is not None else RUNS
    return list_page(collection(path, type_, Run), Run, params)


def processes_page(type_: TypeArg, params: Mapping[str, str]) -> Call[Page[Process]]:
    return list_page(collection(PROCESSES, type_, Process), Process, params)


def create_run(
    type_: TypeArg, idempotency_key: str | None, members: Mapping[str, Any]
) -> Call[Run]:
    """``POST runs`` of a concrete run type; ``None`` members are left out."""
    body = run_body({k: v for k, v in members.items() if v is not None})
    body["@odata.type"] = f"#{qualified_type(type_, Run)}"
    return create(RUNS, Run, body, idempotency_key)


def create_process(
    type_: TypeArg, idempotency_key: str | None, members: Mapping[str, Any]
) -> Call[Process]:
    process_type = qualified_type(type_, Process)
    if process_type is None:
        raise ValueError("a process needs a concrete type, e.g. 'insightsOutgoingFlow'")
    body = process_body(process_type, members)
    body["@odata.type"] = f"#{process_type}"
    return create(PROCESSES, Process, body, idempotency_key)


def create_run_under(
    process_id: str,
    display_name: str,
    idempotency_key: str | None,
    start: datetime | None = None,
    statistics: Mapping[str, Any] | None = None,
) -> Call[Run]:
    """``POST processes/{id}/runs``: the server picks the run type that matches the process."""
    members = {"display_name": display_name, "start": start, "statistics": statistics}
    body = run_body({k: v for k, v in members.items() if v is not None})
    return create(f"{process_path(process_id)}/runs", Run, body, idempotency_key)


def link_process(service_root: str, run_id: str, process_id: str) -> Call[None]:
    return put_ref(f"{run_path(run_id)}/process", f"{service_root}/{process_path(process_id)}")


# -- process health: expectations, health, incidents --------------------------------------------

INCIDENTS = f"{HUB}/incidents"


def expectation_path(process_id: str) -> str:
    return f"{process_path(process_id)}/expectation"


def write_expectation(
    path: str,
    model: type[E],
    members: Mapping[str, Any],
    *,
    replace: bool,
    if_match: str | Entity | None,
) -> Call[E]:
    """``PUT`` (``replace``: members left out become null) or ``PATCH`` of the expectation at
    ``path``: a process's (:class:`Expectation`) or a dataset's
    (:class:`FreshnessExpectation`); keyword names are the model's (``max_duration``,
    ``written_every``)."""
    body = wire_changes(model, members)
    method = "PUT" if replace else "PATCH"
    return Call(method, path, entity_decoder(model), body=body, headers=_if_match(if_match))


def incidents_page(params: Mapping[str, str], under: str | None = None) -> Call[Page[Incident]]:
    """The first page of incidents (of one process or dataset when ``under`` is its path)."""
    path = f"{under}/incidents" if under is not None else INCIDENTS
    return list_page(path, Incident, params)


def incident_path(incident_id: str) -> str:
    return f"{INCIDENTS}/{key(incident_id)}"


# -- lineage: datasets and the runs that read and wrote them -------------------------------------

DATASETS = f"{HUB}/datasets"


def dataset_path(dataset_id: str) -> str:
    return f"{DATASETS}/{key(dataset_id)}"


def freshness_path(dataset_id: str) -> str:
    """A dataset's freshness expectation, contained in the dataset."""
    return f"{dataset_path(dataset_id)}/expectation"


def datasets_page(params: Mapping[str, str]) -> Call[Page[Dataset]]:
    return list_page(DATASETS, Dataset, params)


def accesses_page(path: str, params: Mapping[str, str]) -> Call[Page[DatasetAccess]]:
    """The first page of the dataset accesses at ``path``: a run's ``inputs`` or ``outputs``,
    a dataset's ``reads`` or ``writes``."""
    return list_page(path, DatasetAccess, params)


def record_access(run_id: str, direction: str, dataset: DatasetRef) -> Call[DatasetAccess]:
    """``POST runs/{id}/inputs`` or ``…/outputs``: the service finds or creates the dataset and
    records (or, for a dataset already recorded in that direction, replaces) the access."""
    path = f"{run_path(run_id)}/{direction}"
    return Call("POST", path, entity_decoder(DatasetAccess), body=dataset.body(), idempotent=True)


# -- subscriptions (change notifications) ----------------------------------------------------------

SUBSCRIPTIONS = "subscriptions"
NOTIFICATION_FORMAT = f"@{industrydata.NOTIFICATION_FORMAT.qualified_name}"


def subscription_path(subscription_id: str) -> str:
    return f"{SUBSCRIPTIONS}/{key(subscription_id)}"


def list_subscriptions() -> Call[Page[Subscription]]:
    return Call("GET", SUBSCRIPTIONS, page_decoder(Subscription))


def create_subscription(
    resource: str,
    notification_url: str,
    change_type: str,
    expiration: datetime,
    client_state: str | None,
    lifecycle_notification_url: str | None,
    encryption_certificate: tuple[str, str] | None = None,
    notification_format: str | None = None,
) -> Call[Subscription]:
    """A POST without an Idempotency-Key: Graph's subscriptions take none, so a creation whose
    answer was lost is not sent again (it could create a second subscription).
    ``encryption_certificate`` (base64 certificate, its id) asks for rich notifications;
    ``notification_format`` is flowruns' ``@flowruns.notificationFormat`` annotation."""
    body: dict[str, Any] = {
        "changeType": change_type,
        "notificationUrl": notification_url,
        "resource": resource,
        "expirationDateTime": format_datetime(expiration),
    }
    if client_state is not None:
        body["clientState"] = client_state
    if lifecycle_notification_url is not None:
        body["lifecycleNotificationUrl"] = lifecycle_notification_url
    if encryption_certificate is not None:
        body["includeResourceData"] = True
        body["encryptionCertificate"], body["encryptionCertificateId"] = encryption_certificate
    if notification_format is not None:
        body[NOTIFICATION_FORMAT] = notification_format
    return Call("POST", SUBSCRIPTIONS, entity_decoder(Subscription), body=body)


def renew_subscription(subscription_id: str, expiration: datetime) -> Call[Subscription]:
    body = {"expirationDateTime": format_datetime(expiration)}
    return update(subscription_path(subscription_id), Subscription, body, None)


def reauthorize_subscription(subscription_id: str) -> Call[None]:
    return Call("POST", f"{subscription_path(subscription_id)}/reauthorize", _nothing)
