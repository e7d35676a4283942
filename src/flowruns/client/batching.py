"""JSON batches: up to 20 requests sent as one ``POST $batch``, each answered on its own.

:class:`BatchRequests` builds a batch without sockets, from the same :class:`~.calls.Call` s the
clients send one by one (``batch.runs.get(id)`` is the request ``client.runs.get(id)`` sends),
and reads the batch's answer back into each :class:`BatchItem`: its typed result, or the
:class:`~.errors.GraphAPIError` the same request alone would have raised (a
:class:`~.errors.FailedDependencyError` when a request it depends on failed). The clients'
``batch()`` (:class:`~flowruns.client.asynchronous.AsyncBatch` and its synchronous counterpart)
add sending.

A batch's requests run in any order, at once, unless ``depends_on`` orders them; retries apply
to the batch as a whole (refused with 429 or 503), not to its requests one by one.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

import httpx

from flowruns.client import calls
from flowruns.client.calls import Call, FilterArg, OrderArg, Page, TypeArg
from flowruns.client.errors import FlowrunsClientError, GraphAPIError, error_from_response
from flowruns.client.models import Entity, Process, PublicError, Run, RunStatus

T = TypeVar("T")

#: The most requests one batch holds, in Microsoft Graph and in flowruns.
MAX_BATCH_REQUESTS = 20

DependsOn = Sequence["BatchItem[Any]"]


class BatchItem(Generic[T]):
    """One request of a batch; once the batch is sent, its result or its error."""

    def __init__(self, request_id: str, call: Call[T], depends_on: DependsOn) -> None:
        self.id = request_id
        self.call = call
        self.depends_on = tuple(depends_on)
        self.status: int | None = None
        self._result: tuple[T] | None = None  # a tuple: None is the result of a delete
        self._error: GraphAPIError | None = None

    @property
    def done(self) -> bool:
        """Whether the batch has been sent and this request answered."""
        return self.status is not None

    @property
    def ok(self) -> bool:
        """Whether the request succeeded (a 2xx answer)."""
        return self.done and self._error is None

    @property
    def error(self) -> GraphAPIError | None:
        """The error the request answered with, if any."""
        return self._error

    def result(self) -> T:
        """The decoded answer (a :class:`Run`, a :class:`Page`, a count, None for a delete);
        raises the request's :class:`GraphAPIError` when it failed."""
        if self.status is None:
            raise FlowrunsClientError(f"request {self.id} of the batch has not been sent yet")
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result[0]

    def json(self) -> dict[str, Any]:
        """The request as the batch's body lists it."""
        url = str(httpx.URL("/" + self.call.url.lstrip("/"), params=self.call.params or None))
        request: dict[str, Any] = {"id": self.id, "method": self.call.method, "url": url}
        headers = dict(self.call.headers)
        if self.call.body is not None:
            headers["Content-Type"] = "application/json"
            request["body"] = self.call.body
        if headers:
            request["headers"] = headers
        if self.depends_on:
            request["dependsOn"] = [item.id for item in self.depends_on]
        return request

    def settle(self, answer: Mapping[str, Any]) -> None:
        """Take the request's answer from the batch's answer."""
        response = _response(answer)
        self.status = response.status_code
        if response.is_success:
            self._result = (self.call.decode(response),)
        else:
            self._error = error_from_response(response)

    def __repr__(self) -> str:
        state = "not sent" if self.status is None else str(self.status)
        return f"<BatchItem {self.id} {self.call.method} {self.call.url}: {state}>"


def _response(answer: Mapping[str, Any]) -> httpx.Response:
    """One answer of a batch as the HTTP response it stands for: a JSON body as JSON, any other
    body (a count, a CSV) as the bytes its base64 holds."""
    headers = {str(k): str(v) for k, v in (answer.get("headers") or {}).items()}
    media = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    media = media.split(";")[0].strip().lower()
    body = answer.get("body")
    content = b""
    if isinstance(body, str) and not (media == "application/json" or media.endswith("+json")):
        content = base64.b64decode(body)
    elif body is not None:
        content = json.dumps(body).encode()
    return httpx.Response(int(answer["status"]), headers=headers, content=content)


def _answers(response: httpx.Response) -> list[dict[str, Any]]:
    body = response.json()
    answers = body.get("responses") if isinstance(body, dict) else None
    if not isinstance(answers, list):
        raise FlowrunsClientError("the service's answer to a batch holds no 'responses' list")
    return answers


class BatchRequests:
    """Requests to send as one JSON batch: ``batch.runs`` and ``batch.processes`` build them as
    ``client.runs`` and ``client.processes`` would send them, ``add`` takes any :class:`Call`.
    Each returns its :class:`BatchItem`; ``depends_on`` names items added before it, which must
    succeed first (else the item fails with :class:`FailedDependencyError`)."""

    def __init__(self) -> None:
        self.items: list[BatchItem[Any]] = []
        self.runs = BatchRuns(self)
        self.processes = BatchProcesses(self)

    def __len__(self) -> int:
        return len(self.items)

    def add(self, call: Call[T], depends_on: DependsOn = ()) -> BatchItem[T]:
        """Add ``call`` to the batch; at most :data:`MAX_BATCH_REQUESTS` fit."""
        if len(self.items) >= MAX_BATCH_REQUESTS:
            raise ValueError(f"a batch holds at most {MAX_BATCH_REQUESTS} requests")
        for needed in depends_on:
            if not any(needed is item for item in self.items):
                raise ValueError(f"{needed!r} is not a request added to this batch before")
        item = BatchItem(str(len(self.items) + 1), call, depends_on)
        self.items.append(item)
        return item

    def call(self) -> Call[list[dict[str, Any]]]:
        """The ``POST $batch`` of every request added."""
        body = {"requests": [item.json() for item in self.items]}
        return Call("POST", "$batch", _answers, body=body)

    def settle(self, answers: list[dict[str, Any]]) -> list[BatchItem[Any]]:
        """Give each item its answer (matched by id); the items, in the order they were added."""
        by_id = {str(answer.get("id")).lower(): answer for answer in answers}
        for item in self.items:
            answer = by_id.get(item.id.lower())
            if answer is None:
                raise FlowrunsClientError(f"the batch's answer has no response for {item.id}")
            item.settle(answer)
        return list(self.items)


class BatchRuns:
    """Requests on runs, for a batch: ``batch.runs`` (see :class:`~flowruns.client.Runs`)."""

    def __init__(self, batch: BatchRequests) -> None:
        self._batch = batch

    def get(
        self,
        run_id: str,
        *,
        select: Iterable[str] | None = None,
        expand: str | None = None,
        depends_on: DependsOn = (),
    ) -> BatchItem[Run]:
        return self._batch.add(calls.get(calls.run_path(run_id), Run, select, expand), depends_on)

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
        count: bool = False,
        depends_on: DependsOn = (),
    ) -> BatchItem[Page[Run]]:
        """One page of runs (follow it with ``client.runs.next_page``)."""
        params = calls.query(
            filter=filter,
            orderby=orderby,
            top=top,
            select=select,
            expand=expand,
            search=search,
            count=count,
        )
        return self._batch.add(calls.runs_page(type, params), depends_on)

    def count(
        self,
        filter: FilterArg = None,
        search: str | None = None,
        type: TypeArg = None,
        *,
        depends_on: DependsOn = (),
    ) -> BatchItem[int]:
        path = calls.collection(calls.RUNS, type, Run)
        params = calls.query(filter=filter, search=search)
        return self._batch.add(calls.count(path, params), depends_on)

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
        depends_on: DependsOn = (),
    ) -> BatchItem[Run]:
        members = {
            "display_name": display_name,
            "process_id": process_id,
            "status": status,
            "start": start,
            "end": end,
            "statistics": statistics,
            "blocking_error": blocking_error,
        }
        return self._batch.add(calls.create_run(type, idempotency_key, members), depends_on)

    def update(
        self,
        run_id: str,
        *,
        if_match: str | Entity | None = None,
        depends_on: DependsOn = (),
        **changes: Any,
    ) -> BatchItem[Run]:
        call = calls.update(calls.run_path(run_id), Run, calls.run_body(changes), if_match)
        return self._batch.add(call, depends_on)

    def delete(
        self, run_id: str, *, if_match: str | Entity | None = None, depends_on: DependsOn = ()
    ) -> BatchItem[None]:
        return self._batch.add(calls.delete(calls.run_path(run_id), if_match), depends_on)


class BatchProcesses:
    """Requests on processes, for a batch: ``batch.processes``."""

    def __init__(self, batch: BatchRequests) -> None:
        self._batch = batch

    def get(
        self,
        process_id: str,
        *,
        select: Iterable[str] | None = None,
        expand: str | None = None,
        depends_on: DependsOn = (),
    ) -> BatchItem[Process]:
        call = calls.get(calls.process_path(process_id), Process, select, expand)
        return self._batch.add(call, depends_on)

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
        count: bool = False,
        depends_on: DependsOn = (),
    ) -> BatchItem[Page[Process]]:
        params = calls.query(
            filter=filter,
            orderby=orderby,
            top=top,
            select=select,
            expand=expand,
            search=search,
            count=count,
        )
        return self._batch.add(calls.processes_page(type, params), depends_on)

    def create(
        self,
        display_name: str,
        type: TypeArg = "insightsOutgoingFlow",
        *,
        idempotency_key: str | None = None,
        depends_on: DependsOn = (),
        **props: Any,
    ) -> BatchItem[Process]:
        members = {"display_name": display_name, **props}
        return self._batch.add(calls.create_process(type, idempotency_key, members), depends_on)

    def update(
        self,
        process_id: str,
        *,
        if_match: str | Entity | None = None,
        depends_on: DependsOn = (),
        **changes: Any,
    ) -> BatchItem[Process]:
        body = calls.process_body(None, changes)
        call = calls.update(calls.process_path(process_id), Process, body, if_match)
        return self._batch.add(call, depends_on)

    def delete(
        self,
        process_id: str,
        *,
        cascade_running: bool = False,
        if_match: str | Entity | None = None,
        depends_on: DependsOn = (),
    ) -> BatchItem[None]:
        prefer = "cascade-running" if cascade_running else None
        call = calls.delete(calls.process_path(process_id), if_match, prefer)
        return self._batch.add(call, depends_on)

    def create_run(
        self,
        process_id: str,
        display_name: str,
        *,
        start: datetime | None = None,
        statistics: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        depends_on: DependsOn = (),
    ) -> BatchItem[Run]:
        call = calls.create_run_under(process_id, display_name, idempotency_key, start, statistics)
        return self._batch.add(call, depends_on)
