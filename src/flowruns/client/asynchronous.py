"""The asynchronous client: :class:`AsyncClient`, the mirror of :class:`~flowruns.client.Client`
for asyncio (or trio, through anyio)."""

from __future__ import annotations

import functools
import inspect
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextvars import Token
from datetime import datetime
from types import TracebackType
from typing import Any, ParamSpec, TypeVar

import anyio
import httpx

from flowruns.client import calls
from flowruns.client.calls import Call, FilterArg, OrderArg, Page, TypeArg
from flowruns.client.connection import Connection, TokenArg
from flowruns.client.errors import ServiceUnreachableError, error_from_response
from flowruns.client.models import Entity, Process, PublicError, Run, RunStatus
from flowruns.client.recorder import RECORDING, RunRecorder
from flowruns.client.retrying import RetryPolicy, delay_after_error, delay_after_no_answer
from flowruns.client.sync import Client

T = TypeVar("T")
E = TypeVar("E", bound=Entity)
P = ParamSpec("P")
R = TypeVar("R")


class AsyncClient:
    """Like :class:`~flowruns.client.Client`, with ``await`` (and ``async for`` on
    ``list``). Use it as an async context manager, or ``await client.aclose()``."""

    def __init__(
        self,
        url: str | None = None,
        token: TokenArg = None,
        *,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.connection = Connection.resolve(url, token)
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self._http = httpx.AsyncClient(
            base_url=self.connection.base_url, timeout=timeout, transport=transport
        )
        self.runs = AsyncRuns(self)
        self.processes = AsyncProcesses(self)

    @property
    def url(self) -> str:
        """The service root, without the trailing slash."""
        return self.connection.base_url.rstrip("/")

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections."""
        await self._http.aclose()

    async def send(
        self, call: Call[T], *, retry: RetryPolicy | None = None, timeout: float | None = None
    ) -> T:
        """Send ``call`` with retries (see :meth:`Client.send`)."""
        policy = retry or self.retry
        url = self.connection.on_own_origin(call.url)
        client_request_id = str(uuid.uuid4())
        attempt, waited = 0, 0.0
        while True:
            attempt += 1
            headers = {**self.connection.headers(), **call.headers}
            headers["client-request-id"] = client_request_id
            try:
                response = await self._http.request(
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
            await anyio.sleep(delay)
            waited += delay

    async def pages(self, first: Call[Page[E]], base: type[E]) -> AsyncIterator[Page[E]]:
        """``first`` and every page after it, fetched as they are needed."""
        page = await self.send(first)
        yield page
        while page.next_link:
            page = await self.send(calls.next_page(page.next_link, base))
            yield page

    def record_run(
        self, process: Process | str | None, display_name: str, **options: Any
    ) -> AsyncRunRecorder:
        """``async with client.record_run(process, display_name=…) as run:`` — the run
        recorder of :meth:`Client.record_run`; ``run`` is a :class:`RunRecorder`."""
        return AsyncRunRecorder(self, process, display_name, **options)

    def recorded(
        self, process: Process | str | None, display_name: str | None = None, **options: Any
    ) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
        """Decorator form of :meth:`record_run` for ``async def`` functions."""

        def decorate(function: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
            if not inspect.iscoroutinefunction(function):
                raise TypeError("record plain functions with Client.recorded")
            name = display_name or function.__qualname__

            @functools.wraps(function)
            async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
                async with self.record_run(process, name, **options):
                    return await function(*args, **kwargs)

            return wrapper

        return decorate


class AsyncRunRecorder:
    """The async form of :class:`RunRecorder`.

    The recorder's requests already run in a background thread, so the async form reuses it:
    opening and closing the run (the only steps that wait on the service, each bounded by the
    recorder's timeouts) run in a worker thread, and the event loop never blocks.
    """

    def __init__(
        self, client: AsyncClient, process: Process | str | None, display_name: str, **options: Any
    ) -> None:
        self._client = Client(
            client.connection.base_url, client.connection.token, timeout=client.timeout
        )
        self.recorder = RunRecorder(self._client, process, display_name, **options)
        self._token: Token[RunRecorder | None] | None = None

    async def __aenter__(self) -> RunRecorder:
        await anyio.to_thread.run_sync(self.recorder.start)
        self._token = RECORDING.set(self.recorder)
        return self.recorder

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._token is not None:
            RECORDING.reset(self._token)
        try:
            await anyio.to_thread.run_sync(self.recorder.finish, exc)
        finally:
            self._client.close()


class AsyncRuns:
    """Runs of every type: ``client.runs`` of an :class:`AsyncClient`."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def page(
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
        """See :meth:`Runs.page`."""
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
        return await self._client.send(calls.runs_page(type, params))

    async def next_page(self, page: Page[Run]) -> Page[Run] | None:
        """The page after ``page``, or None when it was the last."""
        if page.next_link is None:
            return None
        return await self._client.send(calls.next_page(page.next_link, Run))

    async def list(
        self,
        filter: FilterArg = None,
        orderby: OrderArg = None,
        top: int | None = None,
        select: Iterable[str] | None = None,
        search: str | None = None,
        type: TypeArg = None,
        *,
        expand: str | None = None,
    ) -> AsyncIterator[Run]:
        """See :meth:`Runs.list`; use ``async for``."""
        params = calls.query(
            filter=filter, orderby=orderby, top=top, select=select, expand=expand, search=search
        )
        async for page in self._client.pages(calls.runs_page(type, params), Run):
            for item in page.items:
                yield item

    async def count(
        self, filter: FilterArg = None, search: str | None = None, type: TypeArg = None
    ) -> int:
        """See :meth:`Runs.count`."""
        path = calls.collection(calls.RUNS, type, Run)
        return await self._client.send(calls.count(path, calls.query(filter=filter, search=search)))

    async def get(
        self, run_id: str, *, select: Iterable[str] | None = None, expand: str | None = None
    ) -> Run:
        """See :meth:`Runs.get`."""
        return await self._client.send(calls.get(calls.run_path(run_id), Run, select, expand))

    async def create(
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
        """See :meth:`Runs.create`."""
        members = {
            "display_name": display_name,
            "process_id": process_id,
            "status": status,
            "start": start,
            "end": end,
            "statistics": statistics,
            "blocking_error": blocking_error,
        }
        return await self._client.send(calls.create_run(type, idempotency_key, members))

    async def update(
        self, run_id: str, *, if_match: str | Entity | None = None, **changes: Any
    ) -> Run:
        """See :meth:`Runs.update`."""
        body = calls.run_body(changes)
        return await self._client.send(calls.update(calls.run_path(run_id), Run, body, if_match))

    async def delete(self, run_id: str, *, if_match: str | Entity | None = None) -> None:
        """See :meth:`Runs.delete`."""
        await self._client.send(calls.delete(calls.run_path(run_id), if_match))

    async def heartbeat(self, run_id: str) -> None:
        """See :meth:`Runs.heartbeat`."""
        await self._client.send(calls.heartbeat(calls.run_path(run_id)))

    async def process(self, run_id: str) -> Process:
        """See :meth:`Runs.process`."""
        path = f"{calls.run_path(run_id)}/process"
        return await self._client.send(calls.get(path, Process, None, None))

    async def link_process(self, run_id: str, process_id: str) -> None:
        """See :meth:`Runs.link_process`."""
        await self._client.send(calls.link_process(self._client.url, run_id, process_id))

    async def unlink_process(self, run_id: str) -> None:
        """See :meth:`Runs.unlink_process`."""
        await self._client.send(calls.delete_ref(f"{calls.run_path(run_id)}/process"))


class AsyncProcesses:
    """Processes of every type: ``client.processes`` of an :class:`AsyncClient`."""

    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def page(
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
        """See :meth:`Processes.page`."""
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
        return await self._client.send(calls.processes_page(type, params))

    async def next_page(self, page: Page[Process]) -> Page[Process] | None:
        """The page after ``page``, or None when it was the last."""
        if page.next_link is None:
            return None
        return await self._client.send(calls.next_page(page.next_link, Process))

    async def list(
        self,
        filter: FilterArg = None,
        orderby: OrderArg = None,
        top: int | None = None,
        select: Iterable[str] | None = None,
        search: str | None = None,
        type: TypeArg = None,
        *,
        expand: str | None = None,
    ) -> AsyncIterator[Process]:
        """See :meth:`Processes.list`; use ``async for``."""
        params = calls.query(
            filter=filter, orderby=orderby, top=top, select=select, expand=expand, search=search
        )
        async for page in self._client.pages(calls.processes_page(type, params), Process):
            for item in page.items:
                yield item

    async def count(
        self, filter: FilterArg = None, search: str | None = None, type: TypeArg = None
    ) -> int:
        """See :meth:`Processes.count`."""
        path = calls.collection(calls.PROCESSES, type, Process)
        return await self._client.send(calls.count(path, calls.query(filter=filter, search=search)))

    async def get(
        self, process_id: str, *, select: Iterable[str] | None = None, expand: str | None = None
    ) -> Process:
        """See :meth:`Processes.get`."""
        path = calls.process_path(process_id)
        return await self._client.send(calls.get(path, Process, select, expand))

    async def create(
        self,
        display_name: str,
        type: TypeArg = "insightsOutgoingFlow",
        *,
        idempotency_key: str | None = None,
        **props: Any,
    ) -> Process:
        """See :meth:`Processes.create`."""
        members = {"display_name": display_name, **props}
        return await self._client.send(calls.create_process(type, idempotency_key, members))

    async def update(
        self, process_id: str, *, if_match: str | Entity | None = None, **changes: Any
    ) -> Process:
        """See :meth:`Processes.update`."""
        path = calls.process_path(process_id)
        body = calls.process_body(None, changes)
        return await self._client.send(calls.update(path, Process, body, if_match))

    async def delete(
        self,
        process_id: str,
        *,
        cascade_running: bool = False,
        if_match: str | Entity | None = None,
    ) -> None:
        """See :meth:`Processes.delete`."""
        prefer = "cascade-running" if cascade_running else None
        await self._client.send(calls.delete(calls.process_path(process_id), if_match, prefer))

    async def runs(
        self,
        process_id: str,
        filter: FilterArg = None,
        orderby: OrderArg = None,
        top: int | None = None,
        select: Iterable[str] | None = None,
    ) -> AsyncIterator[Run]:
        """See :meth:`Processes.runs`; use ``async for``."""
        params = calls.query(filter=filter, orderby=orderby, top=top, select=select)
        first = calls.runs_page(None, params, under=process_id)
        async for page in self._client.pages(first, Run):
            for item in page.items:
                yield item

    async def create_run(
        self,
        process_id: str,
        display_name: str,
        *,
        start: datetime | None = None,
        statistics: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Run:
        """See :meth:`Processes.create_run`."""
        call = calls.create_run_under(process_id, display_name, idempotency_key, start, statistics)
        return await self._client.send(call)
