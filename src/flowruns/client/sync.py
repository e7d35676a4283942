"""The synchronous client: :class:`Client`, with ``client.runs``,
``client.processes`` and ``client.datasets``.

Generated from :mod:`flowruns.client.asynchronous` by ``python -m flowruns.client.unasync``;
do not edit by hand: change the asynchronous client and run that command.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from types import TracebackType
from typing import Any, Generic, ParamSpec, TypeVar

import httpx

from flowruns.client import calls
from flowruns.client.batching import BatchItem, BatchRequests
from flowruns.client.calls import Call, DeltaPage, FilterArg, OrderArg, Page, Removed, TypeArg
from flowruns.client.connection import Connection, TokenArg
from flowruns.client.errors import ServiceUnreachableError, error_from_response
from flowruns.client.lineage import INPUTS, OUTPUTS, DatasetArg, DatasetRef
from flowruns.client.models import (
    Dataset,
    DatasetAccess,
    Entity,
    Expectation,
    FreshnessExpectation,
    Incident,
    Process,
    ProcessHealth,
    PublicError,
    Run,
    RunStatus,
    Subscription,
)
from flowruns.client.recorder import RunRecorder, recorded
from flowruns.client.retrying import RetryPolicy, delay_after_error, delay_after_no_answer

T = TypeVar("T")
E = TypeVar("E", bound=Entity)
P = ParamSpec("P")
R = TypeVar("R")


class Client:
    """A connection to a flowruns service (or any Graph industryData service).

    ``url`` is the OData service root (``http://127.0.0.1:8000/beta``) and ``token`` a bearer
    token or a function returning one; both default to ``FLOWRUNS_URL`` and ``FLOWRUNS_TOKEN``.
    Requests refused with 429 or 503, and requests that got no answer and are safe to repeat,
    are retried by ``retry``. Use it as a context manager (``with``), or call
    :meth:`close`.
    """

    def __init__(
        self,
        url: str | None = None,
        token: TokenArg = None,
        *,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.connection = Connection.resolve(url, token)
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self._http = httpx.Client(
            base_url=self.connection.base_url, timeout=timeout, transport=transport
        )
        self.runs = Runs(self)
        self.processes = Processes(self)
        self.subscriptions = AsyncSubscriptions(self)
        self.incidents = Incidents(self)
        self.datasets = Datasets(self)

    @property
    def url(self) -> str:
        """The service root, without the trailing slash."""
        return self.connection.base_url.rstrip("/")

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections; the client cannot be used afterwards."""
        self._http.close()

    def send(
        self, call: Call[T], *, retry: RetryPolicy | None = None, timeout: float | None = None
    ) -> T:
        """Send ``call`` with retries; its decoded answer, or a :class:`GraphAPIError`."""
        policy = retry or self.retry
        url = self.connection.on_own_origin(call.url)
        client_request_id = str(uuid.uuid4())
        attempt, waited = 0, 0.0
        while True:
            attempt += 1
            headers = {**self.connection.headers(), **call.headers}
            headers["client-request-id"] = client_request_id
            try:
                response = self._http.request(
                    call.method,
                    url,
                    params=call.params or None,  # {} would drop a nextLink's own query
                    json=call.body,
                    headers=headers,
                    timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
                )
            except httpx.TransportError as exc:
                delay = delay_after_no_answer(policy, attempt, waited, exc, call.replayable)
                if delay is None:
                    raise ServiceUnreachableError(
                        f"{call.method} {call.url}: no answer from {self.url} ({exc!r})"
                    ) from exc
            else:
                if response.is_success:
                    return call.decode(response)
                error = error_from_response(response)
                delay = delay_after_error(policy, attempt, waited, error)
                if delay is None:
                    raise error
            time.sleep(delay)
            waited += delay

    def pages(self, first: Call[Page[E]], base: type[E]) -> Iterator[Page[E]]:
        """``first`` and every page after it, fetched as they are needed."""
        page = self.send(first)
        yield page
        while page.next_link:
            page = self.send(calls.next_page(page.next_link, base))
            yield page

    def items(self, first: Call[Page[E]], base: type[E], limit: int | None = None) -> Iterator[E]:
        """The items of ``first`` and of every page after it, at most ``limit`` of them; each
        page is fetched when the iteration reaches it, and none once ``limit`` items came."""
        if limit == 0:
            return
        count = 0
        for page in self.pages(first, base):
            for item in page.items:
                yield item
                count += 1
                if count == limit:
                    return

    def batch(self) -> Batch:
        """A JSON batch: up to 20 requests sent as one, each with its own result or error.

        ``batch.runs`` and ``batch.processes`` take the arguments of ``client.runs`` and
        ``client.processes`` (and ``depends_on=[item, …]``) and return a
        :class:`~flowruns.client.BatchItem`; ``batch.send()`` sends them, after which
        ``item.result()`` is the answer or raises the request's :class:`GraphAPIError`.
        """
        return Batch(self)

    def record_run(
        self,
        process: Process | str | None,
        display_name: str,
        **options: Any,
    ) -> RunRecorder:
        """A recorder for one run of ``process`` (a :class:`Process` or its id; None records a
        run that belongs to no process).

        Use it as ``with client.record_run(process, display_name=…) as run:``; ``run`` is
        a :class:`~flowruns.client.RunRecorder` and ``options`` are its options, among them
        ``inputs=[…]`` and ``outputs=[…]``: the datasets the run reads and writes (names or
        :class:`~flowruns.client.DatasetRef`).
        """
        return RunRecorder(self, process, display_name, **options)

    def recorded(
        self,
        process: Process | str | None,
        display_name: str | None = None,
        **options: Any,
    ) -> Callable[[Callable[P, R]], Callable[P, R]]:
        """Decorator form of :meth:`record_run`: each call of the function is one run, named
        ``display_name`` (default: the function's qualified name). Inside, the run is
        :func:`~flowruns.client.current_run`."""
        return recorded(self, process, display_name, **options)


class Batch(BatchRequests):
    """Requests to send as one JSON batch: ``client.batch()``."""

    def __init__(self, client: Client) -> None:
        super().__init__()
        self._client = client

    def send(self) -> list[BatchItem[Any]]:
        """Send the batch; its items, each answered. A failed request does not raise here: its
        item's ``result()`` does. The batch as a whole raises as any request would (401, 429
        after the retries, no answer)."""
        if self.items:
            self.settle(self._client.send(self.call()))
        return list(self.items)


class Delta(Generic[E]):
    """One round of delta query over a collection (``client.runs.delta()``).

    Iterate it for each entity that changed since the round's start (in its latest state) and
    each :class:`~flowruns.client.Removed`; nextLinks are followed as the iteration reaches
    them. Once it ends, :attr:`delta_link` is where the next round starts: keep it, and pass it
    back as ``delta(delta_link=…)`` to learn what changed since. The first round (no
    ``delta_link``) yields the collection's whole current state.
    """

    def __init__(
        self, client: Client, first: Call[DeltaPage[E]], base: type[E], page_size: int | None
    ) -> None:
        self._client = client
        self._first = first
        self._base = base
        self._page_size = page_size
        self.delta_link: str | None = None
        self.count = 0  # the changes and removals yielded so far

    def __iter__(self) -> Iterator[E | Removed]:
        page = self._client.send(self._first)
        while True:
            # Not `yield from` in the synchronous client: each item is counted.
            for item in page.items:
                self.count += 1
                yield item
            if page.next_link is None:
                self.delta_link = page.delta_link
                return
            page = self._client.send(calls.delta_next(page.next_link, self._base, self._page_size))


class Runs:
    """Runs of every type: ``client.runs``."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def page(
        self,
        filter: FilterArg = None,
        orderby: OrderArg = None,
        top: int | None = None,
        select: Iterable[str] | None = None,
        search: str | None = None,
        type: TypeArg = None,
        *,
        expand: str | None = None,
        skip: int | None = None,
        count: bool = False,
    ) -> Page[Run]:
        """One page of runs (``top`` is the page size, as in Graph; default 100).

        ``filter`` is an :data:`~flowruns.client.F` expression (or OData text); ``type``
        (``"outgoingFlowRun"``, ``OutgoingFlowRun``) keeps runs of that type only; ``search``
        matches a substring of ``displayName``; ``count=True`` fills ``Page.count``.
        """
        params = calls.query(
            filter=filter,
            orderby=orderby,
            top=top,
            skip=skip,
            select=select,
            expand=expand,
            search=search,
            count=count,
        )
        return self._client.send(calls.runs_page(type, params))

    def next_page(self, page: Page[Run]) -> Page[Run] | None:
        """The page after ``page``, or None when it was the last."""
        if page.next_link is None:
            return None
        return self._client.send(calls.next_page(page.next_link, Run))

    def list(
        self,
        filter: FilterArg = None,
        orderby: OrderArg = None,
        top: int | None = None,
        select: Iterable[str] | None = None,
        search: str | None = None,
        type: TypeArg = None,
        *,
        expand: str | None = None,
        limit: int | None = None,
    ) -> Iterator[Run]:
        """Every matching run, or the first ``limit`` of them, following ``@odata.nextLink``
        lazily. ``top`` is the page size, as in Graph, not a limit: without ``limit`` the
        iteration goes on to the last page (or a ``break``)."""
        params = calls.query(
            filter=filter,
            orderby=orderby,
            top=calls.page_size(top, limit),
            select=select,
            expand=expand,
            search=search,
        )
        return self._client.items(calls.runs_page(type, params), Run, limit)

    def delta(
        self,
        filter: FilterArg = None,
        select: Iterable[str] | None = None,
        type: TypeArg = None,
        *,
        delta_link: str | None = None,
        page_size: int | None = None,
    ) -> Delta[Run]:
        """What changed in the runs (of ``type``, say ``"runGroup"``, when given) since
        ``delta_link``, or their current state without one; see :class:`Delta`. A
        ``delta_link`` carries the ``filter`` and ``select`` of the round that made it."""
        path = calls.collection(calls.RUNS, type, Run)
        first = calls.delta(
            path, Run, filter=filter, select=select, delta_link=delta_link, page_size=page_size
        )
        return Delta(self._client, first, Run, page_size)

    def count(
        self, filter: FilterArg = None, search: str | None = None, type: TypeArg = None
    ) -> int:
        """How many runs match."""
        path = calls.collection(calls.RUNS, type, Run)
        return self._client.send(calls.count(path, calls.query(filter=filter, search=search)))

    def get(
        self, run_id: str, *, select: Iterable[str] | None = None, expand: str | None = None
    ) -> Run:
        """One run, as its own type (:class:`OutgoingFlowRun`, …); :class:`NotFoundError`
        when there is none."""
        return self._client.send(calls.get(calls.run_path(run_id), Run, select, expand))

    def create(
        self,
        display_name: str,
        type: TypeArg = "outgoingFlowRun",
        process_id: str | None = None,
        status: RunStatus | str | None = None,
        start: datetime | None = None,
        *,
        end: datetime | None = None,
        statistics: dict[str, Any] | None = None,
        blocking_error: PublicError | dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Run:
        """Create a run (``running`` and started now unless told otherwise).

        The request carries an ``Idempotency-Key`` (``idempotency_key`` or a fresh uuid4) that
        its retries reuse, so a create the server applied but whose answer was lost is not made
        twice. ``process_id`` links the run to a process.
        """
        members = {
            "display_name": display_name,
            "process_id": process_id,
            "status": status,
            "start": start,
            "end": end,
            "statistics": statistics,
            "blocking_error": blocking_error,
        }
        return self._client.send(calls.create_run(type, idempotency_key, members))

    def update(self, run_id: str, *, if_match: str | Entity | None = None, **changes: Any) -> Run:
        """Change a run: ``update(id, status="completed", statistics={"recordsFailed": 0})``.

        Names are the :class:`Run` attributes (``display_name``, ``status``, ``statistics``,
        ``end_date_time`` or ``end``, ``blocking_error``…) or ``process_id``; ``statistics`` is
        merged (JSON Merge Patch: ``None`` removes a member). ``if_match`` (an ETag or a
        :class:`Run`) makes the update conditional (:class:`PreconditionFailedError` when the
        run changed since).
        """
        body = calls.run_body(changes)
        return self._client.send(calls.update(calls.run_path(run_id), Run, body, if_match))

    def delete(self, run_id: str, *, if_match: str | Entity | None = None) -> None:
        """Delete a run (its process stays)."""
        self._client.send(calls.delete(calls.run_path(run_id), if_match))

    def heartbeat(self, run_id: str) -> None:
        """Tell the server the run's writer is alive (an empty ``PATCH {}``), so the stale-run
        rule does not fail it."""
        self._client.send(calls.heartbeat(calls.run_path(run_id)))

    def process(self, run_id: str) -> Process:
        """The run's process; :class:`NotFoundError` when it has none."""
        path = f"{calls.run_path(run_id)}/process"
        return self._client.send(calls.get(path, Process, None, None))

    def link_process(self, run_id: str, process_id: str) -> None:
        """Link the run to a process (replacing any previous link)."""
        self._client.send(calls.link_process(self._client.url, run_id, process_id))

    def unlink_process(self, run_id: str) -> None:
        """Remove the run's process link."""
        self._client.send(calls.delete_ref(f"{calls.run_path(run_id)}/process"))

    def inputs(
        self,
        run_id: str,
        filter: FilterArg = None,
        top: int | None = None,
        *,
        limit: int | None = None,
    ) -> Iterator[DatasetAccess]:
        """The datasets the run read, one :class:`DatasetAccess` each (its dataset's
        ``name`` and ``namespace``, this run's ``row_count``…)."""
        return self._accesses(run_id, INPUTS, filter, top, limit)

    def outputs(
        self,
        run_id: str,
        filter: FilterArg = None,
        top: int | None = None,
        *,
        limit: int | None = None,
    ) -> Iterator[DatasetAccess]:
        """The datasets the run wrote, one :class:`DatasetAccess` each."""
        return self._accesses(run_id, OUTPUTS, filter, top, limit)

    def _accesses(
        self,
        run_id: str,
        direction: str,
        filter: FilterArg,
        top: int | None,
        limit: int | None,
    ) -> Iterator[DatasetAccess]:
        params = calls.query(filter=filter, top=calls.page_size(top, limit))
        first = calls.accesses_page(f"{calls.run_path(run_id)}/{direction}", params)
        return self._client.items(first, DatasetAccess, limit)

    def add_input(self, run_id: str, dataset: DatasetArg) -> DatasetAccess:
        """Record that the run read ``dataset`` (a name in the default namespace, a
        :class:`DatasetRef` or a :class:`Dataset`); recording it again replaces its counts and
        facets."""
        call = calls.record_access(run_id, INPUTS, DatasetRef.of(dataset))
        return self._client.send(call)

    def add_output(self, run_id: str, dataset: DatasetArg) -> DatasetAccess:
        """Record that the run wrote ``dataset``; recording it again replaces its counts."""
        call = calls.record_access(run_id, OUTPUTS, DatasetRef.of(dataset))
        return self._client.send(call)


class Processes:
    """Processes (flows) of every type: ``client.processes``."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def page(
        self,
        filter: FilterArg = None,
        orderby: OrderArg = None,
        top: int | None = None,
        select: Iterable[str] | None = None,
        search: str | None = None,
        type: TypeArg = None,
        *,
        expand: str | None = None,
        skip: int | None = None,
        count: bool = False,
    ) -> Page[Process]:
        """One page of processes; the options are those of :meth:`Runs.page`."""
        params = calls.query(
            filter=filter,
            orderby=orderby,
            top=top,
            skip=skip,
            select=select,
            expand=expand,
            search=search,
            count=count,
        )
        return self._client.send(calls.processes_page(type, params))

    def next_page(self, page: Page[Process]) -> Page[Process] | None:
        """The page after ``page``, or None when it was the last."""
        if page.next_link is None:
            return None
        return self._client.send(calls.next_page(page.next_link, Process))

    def list(
        self,
        filter: FilterArg = None,
        orderby: OrderArg = None,
        top: int | None = None,
        select: Iterable[str] | None = None,
        search: str | None = None,
        type: TypeArg = None,
        *,
        expand: str | None = None,
        limit: int | None = None,
    ) -> Iterator[Process]:
        """Every matching process, or the first ``limit`` of them, following nextLinks lazily
        (``top`` is the page size)."""
        params = calls.query(
            filter=filter,
            orderby=orderby,
            top=calls.page_size(top, limit),
            select=select,
            expand=expand,
            search=search,
        )
        return self._client.items(calls.processes_page(type, params), Process, limit)

    def delta(
        self,
        filter: FilterArg = None,
        select: Iterable[str] | None = None,
        type: TypeArg = None,
        *,
        delta_link: str | None = None,
        page_size: int | None = None,
    ) -> Delta[Process]:
        """What changed in the processes since ``delta_link``, or their current state without
        one; see :class:`Delta`."""
        path = calls.collection(calls.PROCESSES, type, Process)
        first = calls.delta(
            path, Process, filter=filter, select=select, delta_link=delta_link, page_size=page_size
        )
        return Delta(self._client, first, Process, page_size)

    def count(
        self, filter: FilterArg = None, search: str | None = None, type: TypeArg = None
    ) -> int:
        """How many processes match."""
        path = calls.collection(calls.PROCESSES, type, Process)
        return self._client.send(calls.count(path, calls.query(filter=filter, search=search)))

    def get(
        self, process_id: str, *, select: Iterable[str] | None = None, expand: str | None = None
    ) -> Process:
        """One process, as its own type."""
        path = calls.process_path(process_id)
        return self._client.send(calls.get(path, Process, select, expand))

    def create(
        self,
        display_name: str,
        type: TypeArg = "insightsOutgoingFlow",
        *,
        idempotency_key: str | None = None,
        **props: Any,
    ) -> Process:
        """Create a process of a concrete type (``insightsOutgoingFlow``,
        ``dataShareOutgoingFlow``); ``props`` are that type's attributes
        (``readiness_status="ready"``, ``share_name=…``)."""
        members = {"display_name": display_name, **props}
        return self._client.send(calls.create_process(type, idempotency_key, members))

    def update(
        self, process_id: str, *, if_match: str | Entity | None = None, **changes: Any
    ) -> Process:
        """Change a process; names are the attributes of its type."""
        path = calls.process_path(process_id)
        body = calls.process_body(None, changes)
        return self._client.send(calls.update(path, Process, body, if_match))

    def delete(
        self,
        process_id: str,
        *,
        cascade_running: bool = False,
        if_match: str | Entity | None = None,
    ) -> None:
        """Delete a process and its runs. While one of its runs is ``running`` the server
        refuses (:class:`ConflictError`) unless ``cascade_running`` is true."""
        prefer = "cascade-running" if cascade_running else None
        self._client.send(calls.delete(calls.process_path(process_id), if_match, prefer))

    def runs(
        self,
        process_id: str,
        filter: FilterArg = None,
        orderby: OrderArg = None,
        top: int | None = None,
        select: Iterable[str] | None = None,
        *,
        limit: int | None = None,
    ) -> Iterator[Run]:
        """The runs of one process (or the first ``limit`` of them), newest first unless
        ``orderby`` says otherwise; ``top`` is the page size."""
        params = calls.query(
            filter=filter, orderby=orderby, top=calls.page_size(top, limit), select=select
        )
        first = calls.runs_page(None, params, under=process_id)
        return self._client.items(first, Run, limit)

    def create_run(
        self,
        process_id: str,
        display_name: str,
        *,
        start: datetime | None = None,
        statistics: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Run:
        """Create a ``running`` run linked to the process, of the run type that matches it
        (``outgoingFlowRun`` for outgoing flows)."""
        call = calls.create_run_under(process_id, display_name, idempotency_key, start, statistics)
        return self._client.send(call)

    def expectation(self, process_id: str) -> Expectation:
        """The process's expectation (404 :class:`NotFoundError` when it has none)."""
        path = calls.expectation_path(process_id)
        return self._client.send(calls.get(path, Expectation, None, None))

    def expect(
        self, process_id: str, *, if_match: str | Entity | None = None, **members: Any
    ) -> Expectation:
        """Create or replace the process's expectation: ``schedule``, ``time_zone``, ``grace``,
        ``max_duration``, ``duration_anomaly``, ``success_rule``, ``failure_streak``,
        ``paused``, ``paused_until``, ``owner``, ``tags``; members left out are null."""
        path = calls.expectation_path(process_id)
        call = calls.write_expectation(path, Expectation, members, replace=True, if_match=if_match)
        return self._client.send(call)

    def update_expectation(
        self, process_id: str, *, if_match: str | Entity | None = None, **members: Any
    ) -> Expectation:
        """Change some members of the process's expectation (``paused=True`` for a
        maintenance window, ``None`` to clear a member)."""
        path = calls.expectation_path(process_id)
        call = calls.write_expectation(path, Expectation, members, replace=False, if_match=if_match)
        return self._client.send(call)

    def remove_expectation(self, process_id: str, *, if_match: str | Entity | None = None) -> None:
        """Remove the process's expectation; its open incidents resolve."""
        self._client.send(calls.delete(calls.expectation_path(process_id), if_match))

    def health(self, process_id: str) -> ProcessHealth:
        """The process's health as the server last evaluated it."""
        path = f"{calls.process_path(process_id)}/health"
        return self._client.send(calls.get(path, ProcessHealth, None, None))

    def incidents(
        self,
        process_id: str,
        filter: FilterArg = None,
        orderby: OrderArg = None,
        top: int | None = None,
        *,
        limit: int | None = None,
    ) -> Iterator[Incident]:
        """The incidents of one process, newest first unless ``orderby`` says otherwise."""
        params = calls.query(filter=filter, orderby=orderby, top=calls.page_size(top, limit))
        first = calls.incidents_page(params, under=calls.process_path(process_id))
        return self._client.items(first, Incident, limit)


class Incidents:
    """``client.incidents``: departures of processes from their expectations and of datasets
    from their freshness expectations (docs/monitoring.md); a process's incident has its
    ``process``, a dataset's (``stale``) its ``dataset_id`` (and ``dataset``, expanded)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def list(
        self,
        filter: FilterArg = None,
        orderby: OrderArg = None,
        top: int | None = None,
        *,
        expand: str | None = None,
        limit: int | None = None,
    ) -> Iterator[Incident]:
        """Every matching incident (or the first ``limit``), newest first unless ``orderby``
        says otherwise; ``top`` is the page size."""
        params = calls.query(
            filter=filter, orderby=orderby, top=calls.page_size(top, limit), expand=expand
        )
        return self._client.items(calls.incidents_page(params), Incident, limit)

    def count(self, filter: FilterArg = None) -> int:
        """How many incidents match."""
        return self._client.send(calls.count(calls.INCIDENTS, calls.query(filter=filter)))

    def get(self, incident_id: str, *, expand: str | None = None) -> Incident:
        """One incident; ``expand="process"`` or ``"dataset"`` reads what it is about with it."""
        path = calls.incident_path(incident_id)
        return self._client.send(calls.get(path, Incident, None, expand))

    def delta(
        self,
        filter: FilterArg = None,
        *,
        delta_link: str | None = None,
        page_size: int | None = None,
    ) -> Delta[Incident]:
        """What changed in the incidents since ``delta_link`` (opened, counted, resolved)."""
        first = calls.delta(
            calls.INCIDENTS,
            Incident,
            filter=filter,
            select=None,
            delta_link=delta_link,
            page_size=page_size,
        )
        return Delta(self._client, first, Incident, page_size)


class Datasets:
    """``client.datasets``: the datasets runs read and write, and those runs (docs/lineage.md)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def page(
        self,
        filter: FilterArg = None,
        orderby: OrderArg = None,
        top: int | None = None,
        select: Iterable[str] | None = None,
        search: str | None = None,
        *,
        expand: str | None = None,
        skip: int | None = None,
        count: bool = False,
    ) -> Page[Dataset]:
        """One page of datasets; the options are those of :meth:`Runs.page` (``search``
        matches a substring of the name, whatever its case)."""
        params = calls.query(
            filter=filter,
            orderby=orderby,
            top=top,
            skip=skip,
            select=select,
            expand=expand,
            search=search,
            count=count,
        )
        return self._client.send(calls.datasets_page(params))

    def list(
        self,
        filter: FilterArg = None,
        orderby: OrderArg = None,
        top: int | None = None,
        select: Iterable[str] | None = None,
        search: str | None = None,
        *,
        expand: str | None = None,
        limit: int | None = None,
    ) -> Iterator[Dataset]:
        """Every matching dataset (or the first ``limit``), following nextLinks lazily:
        ``list(F.namespace == "flowruns")``, ``list(F.lastWrittenDateTime < cutoff)``,
        ``list(search="orders")`` (a substring of the name, whatever its case)."""
        params = calls.query(
            filter=filter,
            orderby=orderby,
            top=calls.page_size(top, limit),
            select=select,
            expand=expand,
            search=search,
        )
        return self._client.items(calls.datasets_page(params), Dataset, limit)

    def count(self, filter: FilterArg = None, search: str | None = None) -> int:
        """How many datasets match."""
        params = calls.query(filter=filter, search=search)
        return self._client.send(calls.count(calls.DATASETS, params))

    def get(
        self, dataset_id: str, *, select: Iterable[str] | None = None, expand: str | None = None
    ) -> Dataset:
        """One dataset; :class:`NotFoundError` when there is none."""
        path = calls.dataset_path(dataset_id)
        return self._client.send(calls.get(path, Dataset, select, expand))

    def delta(
        self,
        filter: FilterArg = None,
        select: Iterable[str] | None = None,
        *,
        delta_link: str | None = None,
        page_size: int | None = None,
    ) -> Delta[Dataset]:
        """What changed in the datasets since ``delta_link`` (new datasets, new writes), or
        their current state without one; see :class:`Delta`."""
        first = calls.delta(
            calls.DATASETS,
            Dataset,
            filter=filter,
            select=select,
            delta_link=delta_link,
            page_size=page_size,
        )
        return Delta(self._client, first, Dataset, page_size)

    def expectation(self, dataset_id: str) -> FreshnessExpectation:
        """The dataset's freshness expectation, as the server last evaluated it (``state``,
        ``write_due_date_time``); 404 :class:`NotFoundError` when it has none."""
        path = calls.freshness_path(dataset_id)
        return self._client.send(calls.get(path, FreshnessExpectation, None, None))

    def expect(
        self, dataset_id: str, *, if_match: str | Entity | None = None, **members: Any
    ) -> FreshnessExpectation:
        """Create or replace the dataset's freshness expectation: ``written_every`` (an ISO
        8601 duration, required), ``paused``, ``paused_until``, ``owner``, ``tags``; members
        left out are null. A stale incident opens when no successful run writes it in time."""
        path = calls.freshness_path(dataset_id)
        call = calls.write_expectation(
            path, FreshnessExpectation, members, replace=True, if_match=if_match
        )
        return self._client.send(call)

    def update_expectation(
        self, dataset_id: str, *, if_match: str | Entity | None = None, **members: Any
    ) -> FreshnessExpectation:
        """Change some members of the dataset's freshness expectation (``paused=True`` while
        it is rebuilt, ``None`` to clear a member)."""
        path = calls.freshness_path(dataset_id)
        call = calls.write_expectation(
            path, FreshnessExpectation, members, replace=False, if_match=if_match
        )
        return self._client.send(call)

    def remove_expectation(self, dataset_id: str, *, if_match: str | Entity | None = None) -> None:
        """Remove the dataset's freshness expectation; its open incident resolves."""
        self._client.send(calls.delete(calls.freshness_path(dataset_id), if_match))

    def incidents(
        self,
        dataset_id: str,
        filter: FilterArg = None,
        orderby: OrderArg = None,
        top: int | None = None,
        *,
        limit: int | None = None,
    ) -> Iterator[Incident]:
        """The stale incidents of one dataset, newest first unless ``orderby`` says
        otherwise."""
        params = calls.query(filter=filter, orderby=orderby, top=calls.page_size(top, limit))
        first = calls.incidents_page(params, under=calls.dataset_path(dataset_id))
        return self._client.items(first, Incident, limit)

    def writes(
        self,
        dataset_id: str,
        filter: FilterArg = None,
        orderby: OrderArg = None,
        top: int | None = None,
        *,
        limit: int | None = None,
    ) -> Iterator[DatasetAccess]:
        """The runs that wrote the dataset, one :class:`DatasetAccess` each (with the run's
        ``run_id``, ``run_status`` and times), newest run first unless ``orderby`` says
        otherwise."""
        return self._accesses(dataset_id, "writes", filter, orderby, top, limit)

    def reads(
        self,
        dataset_id: str,
        filter: FilterArg = None,
        orderby: OrderArg = None,
        top: int | None = None,
        *,
        limit: int | None = None,
    ) -> Iterator[DatasetAccess]:
        """The runs that read the dataset, newest run first unless ``orderby`` says otherwise."""
        return self._accesses(dataset_id, "reads", filter, orderby, top, limit)

    def _accesses(
        self,
        dataset_id: str,
        navigation: str,
        filter: FilterArg,
        orderby: OrderArg,
        top: int | None,
        limit: int | None,
    ) -> Iterator[DatasetAccess]:
        params = calls.query(filter=filter, orderby=orderby, top=calls.page_size(top, limit))
        first = calls.accesses_page(f"{calls.dataset_path(dataset_id)}/{navigation}", params)
        return self._client.items(first, DatasetAccess, limit)


class AsyncSubscriptions:
    """``client.subscriptions``: Graph change notifications (docs/notifications.md)."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def list(self) -> list[Subscription]:
        """The subscriptions this application created in the token's tenant."""
        page = self._client.send(calls.list_subscriptions())
        return page.items

    def get(self, subscription_id: str) -> Subscription:
        return self._client.send(
            calls.get(calls.subscription_path(subscription_id), Subscription, None, None)
        )

    def create(
        self,
        resource: str,
        notification_url: str,
        expiration: datetime,
        *,
        change_type: str = "created,updated,deleted",
        client_state: str | None = None,
        lifecycle_notification_url: str | None = None,
        encryption_certificate: tuple[str, str] | None = None,
        notification_format: str | None = None,
    ) -> Subscription:
        """Subscribe ``notification_url`` to changes of ``resource``
        (``external/industryData/runs?$filter=status eq 'failed'``) until ``expiration``. The
        server validates the receiver first (:class:`flowruns.client.webhooks.Receiver` answers
        that handshake). ``encryption_certificate`` — a base64 X.509 certificate and the id
        notifications name it by — makes notifications carry the entity, encrypted for it;
        ``notification_format`` (``cloudEvents``, ``slack``, ``teams``) chooses one of flowruns'
        formats (docs/notifications.md)."""
        return self._client.send(
            calls.create_subscription(
                resource,
                notification_url,
                change_type,
                expiration,
                client_state,
                lifecycle_notification_url,
                encryption_certificate,
                notification_format,
            )
        )

    def renew(self, subscription_id: str, expiration: datetime) -> Subscription:
        """Move the subscription's expiration to ``expiration``."""
        return self._client.send(calls.renew_subscription(subscription_id, expiration))

    def reauthorize(self, subscription_id: str) -> None:
        """Keep the subscription alive with this client's (fresh) token."""
        self._client.send(calls.reauthorize_subscription(subscription_id))

    def delete(self, subscription_id: str) -> None:
        self._client.send(calls.delete(calls.subscription_path(subscription_id), None))
