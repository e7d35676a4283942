"""Recording a run around async code: the async forms of :class:`RunRecorder` and of the
``recorded`` decorator, behind :meth:`AsyncClient.record_run` and :meth:`AsyncClient.recorded`."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from contextvars import Token
from types import TracebackType
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import anyio

from flowruns.client.models import Process
from flowruns.client.recorder import RECORDING, RunRecorder
from flowruns.client.sync import Client

if TYPE_CHECKING:
    from flowruns.client.asynchronous import AsyncClient

P = ParamSpec("P")
R = TypeVar("R")


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


def async_recorded(
    client: AsyncClient,
    process: Process | str | None,
    display_name: str | None,
    **options: Any,
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """The decorator behind :meth:`AsyncClient.recorded`."""

    def decorate(function: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        if not inspect.iscoroutinefunction(function):
            raise TypeError("record plain functions with Client.recorded")
        name = display_name or function.__qualname__

        @functools.wraps(function)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            async with AsyncRunRecorder(client, process, name, **options):
                return await function(*args, **kwargs)

        return wrapper

    return decorate
