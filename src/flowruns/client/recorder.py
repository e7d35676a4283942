"""Recording a run around a flow's own code: ``with client.record_run(process, …) as run:``.

The recorder opens a run, sends the statistics the flow changes at most every
``flush_interval`` seconds, heartbeats while nothing changes (so the server's stale-run rule
never fails a live run), and closes the run by the statistics conventions — or as ``failed``
with a ``blockingError`` when the block raises. The datasets the run reads and writes (its
``inputs`` and ``outputs``) are sent the same way, once the run exists, and again when their
counts change.

Recording never breaks or stalls the flow. Every request is made from a background thread with
a short timeout; when the service is slow or unreachable the recorder keeps the latest state
(statistics are state, not a log: only the newest values matter) and retries with backoff,
including the create, which keeps its Idempotency-Key so it can never make a second run. At the
end it makes a bounded final attempt and says on stderr what could not be sent.
"""

from __future__ import annotations

import functools
import inspect
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar, Token
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, ParamSpec, TextIO, TypeVar

from flowruns.client import calls
from flowruns.client.errors import GraphAPIError
from flowruns.client.lineage import INPUTS, OUTPUTS, DatasetArg, DatasetRef
from flowruns.client.models import Process, Run, RunStatus
from flowruns.client.redaction import redact, truncate
from flowruns.client.retrying import NO_RETRY, RETRY_STATUSES
from flowruns.client.statistics import Statistics, merge_patch

if TYPE_CHECKING:
    from flowruns.client.sync import Client

P = ParamSpec("P")
R = TypeVar("R")

#: The recorder of the run in progress in this context (set while a recorded block runs).
RECORDING: ContextVar[RunRecorder | None] = ContextVar("flowruns_recording", default=None)

# A blocking error's message is read by every run reader: enough to act on, never a dump.
MESSAGE_LIMIT = 1000
# The most of a refused dataset's name said on stderr.
NAME_SHOWN = 100


def current_run() -> RunRecorder:
    """The run being recorded around the calling code (by ``record_run`` or ``recorded``);
    :class:`LookupError` outside one."""
    recorder = RECORDING.get()
    if recorder is None:
        raise LookupError("no run is being recorded here")
    return recorder


@dataclass(frozen=True)
class RecorderOptions:
    """Timing of a recorder, in seconds.

    ``flush_interval``: least time between two statistics updates. ``heartbeat_interval``: an
    empty PATCH after this long without any write (keep it well under the server's run
    timeout). ``request_timeout``: one request's timeout. ``start_timeout``: how long entering
    the block waits for the create. ``final_timeout``: how long the exit may spend sending the
    end of the run. ``max_backoff``: the longest wait between retries while the service is
    unreachable.
    """

    flush_interval: float = 5.0
    heartbeat_interval: float = 60.0
    request_timeout: float = 5.0
    start_timeout: float = 5.0
    final_timeout: float = 15.0
    max_backoff: float = 30.0


def blocking_error(exc: BaseException, secrets: list[str]) -> dict[str, str]:
    """A ``publicError`` for an exception: its type as the code, its message without
    credentials and truncated; never a traceback."""
    message = redact(str(exc), secrets) or type(exc).__name__
    return {"code": type(exc).__name__, "message": truncate(message, MESSAGE_LIMIT)}


def _transient(error: Exception) -> bool:
    """Whether trying the same request later may succeed."""
    if isinstance(error, GraphAPIError):
        return error.status in RETRY_STATUSES or error.status >= 500 or error.status == 408
    return True  # no answer at all


@dataclass
class _Outcome:
    status: RunStatus
    error: dict[str, str] | None
    ended: datetime
    sent: bool = False
    problems: list[str] = field(default_factory=list)


class RunRecorder:
    """One recorded run. Enter it to open the run; leave it to close the run.

    ``process`` is a :class:`Process` or its id (None: a run of no process); ``statistics`` the
    initial members; ``inputs`` and ``outputs`` the datasets it reads and writes (names in the
    default namespace, or :class:`DatasetRef`); ``options`` the timing
    (:class:`RecorderOptions`); ``stderr`` where the recorder says what it could not send
    (default ``sys.stderr``).

    ``stats`` is the run's :class:`Statistics`; :meth:`warn` and :meth:`error` record problems;
    :meth:`input` and :meth:`output` declare datasets while the run goes on;
    ``id`` is the run's id once the service has created it (None until then), ``run`` the run as
    created and ``status`` the status it was closed with.
    """

    def __init__(
        self,
        client: Client,
        process: Process | str | None,
        display_name: str,
        *,
        statistics: dict[str, Any] | None = None,
        inputs: Iterable[DatasetArg] = (),
        outputs: Iterable[DatasetArg] = (),
        options: RecorderOptions | None = None,
        stderr: TextIO | None = None,
    ) -> None:
        self.client = client
        self.display_name = display_name
        self.options = options or RecorderOptions()
        self.stats = Statistics(statistics)
        self.run: Run | None = None
        #: The status the run was closed with (None while it runs).
        self.status: RunStatus | None = None
        self._stderr = stderr
        process_id = process.id if isinstance(process, Process) else process
        self.process_id = process_id
        self._create: calls.Call[Run] | None = None
        self._sent: dict[str, Any] = {}
        self._touched = 0.0
        self._send_lock = threading.Lock()
        self._stop = threading.Event()
        self._nudge = threading.Event()
        self._first_try = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing: Exception | None = None
        self._given_up = False
        self._failure: dict[str, str] | None = None
        self._token: Token[RunRecorder | None] | None = None
        # The datasets declared and those sent, by direction and dataset: the latest
        # declaration of each is what the service must hold.
        self._datasets: dict[tuple[str, tuple[str | None, str]], DatasetRef] = {}
        self._datasets_sent: dict[tuple[str, tuple[str | None, str]], DatasetRef] = {}
        self._datasets_lock = threading.Lock()
        for dataset in inputs:
            self.input(dataset)
        for dataset in outputs:
            self.output(dataset)

    @property
    def id(self) -> str | None:
        """The run's id, once created."""
        return self.run.id if self.run is not None else None

    # What the flow calls ------------------------------------------------------------------

    def warn(self, code: str, message: str, target: str | None = None) -> None:
        """Record a warning: ``warningCount`` + 1 and an entry in ``warnings`` (20 newest)."""
        self.stats.add_problem("warnings", code, message, target)

    def error(self, code: str, message: str, target: str | None = None) -> None:
        """Record an error (a record left out): ``errorCount`` + 1 and an entry in ``errors``."""
        self.stats.add_problem("errors", code, message, target)

    def fail(self, code: str, message: str, target: str | None = None) -> None:
        """Close the run as ``failed`` with this blocking error when the block ends, without
        raising (for wrappers such as ``flowruns exec`` that report a failure they observed).
        The message is masked and cut like an exception's."""
        secrets = [s for s in (self.client.connection.secret(),) if s]
        error = {"code": code, "message": truncate(redact(message, secrets), MESSAGE_LIMIT)}
        if target is not None:
            error["target"] = target
        self._failure = error

    def input(
        self,
        dataset: DatasetArg,
        *,
        row_count: int | None = None,
        byte_count: int | None = None,
        file_count: int | None = None,
        facets: Mapping[str, Any] | None = None,
    ) -> DatasetRef:
        """Declare that the run reads ``dataset`` (a name in the default namespace, a
        :class:`DatasetRef` or a :class:`Dataset`; the counts given here replace its own).
        Declaring it again replaces what was declared; it is sent with the next statistics."""
        counts = {"row_count": row_count, "byte_count": byte_count, "file_count": file_count}
        return self._declare(INPUTS, dataset, counts, facets)

    def output(
        self,
        dataset: DatasetArg,
        *,
        row_count: int | None = None,
        byte_count: int | None = None,
        file_count: int | None = None,
        facets: Mapping[str, Any] | None = None,
    ) -> DatasetRef:
        """Declare that the run writes ``dataset``, as :meth:`input` declares a read:
        ``run.output("warehouse.orders", row_count=written)``."""
        counts = {"row_count": row_count, "byte_count": byte_count, "file_count": file_count}
        return self._declare(OUTPUTS, dataset, counts, facets)

    def _declare(
        self,
        direction: str,
        dataset: DatasetArg,
        counts: dict[str, int | None],
        facets: Mapping[str, Any] | None,
    ) -> DatasetRef:
        changes: dict[str, Any] = {k: v for k, v in counts.items() if v is not None}
        if facets is not None:
            changes["facets"] = dict(facets)
        ref = replace(DatasetRef.of(dataset), **changes)
        with self._datasets_lock:
            self._datasets[(direction, ref.key)] = ref
        return ref

    def flush(self) -> None:
        """Ask the background thread to send the statistics now rather than at its next turn."""
        self._nudge.set()

    # Context manager ----------------------------------------------------------------------

    def __enter__(self) -> RunRecorder:
        self.start()
        self._token = RECORDING.set(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._token is not None:
            RECORDING.reset(self._token)
        self.finish(exc)

    def start(self) -> None:
        """Open the run: start the background thread and give the create up to
        ``start_timeout`` seconds (the block goes on either way)."""
        # The flow's own clock: the true start even when the create is sent late.
        start = datetime.now(UTC)
        if self.process_id is None:
            members = {"display_name": self.display_name, "start": start}
            self._create = calls.create_run("outgoingFlowRun", None, members)
        else:
            self._create = calls.create_run_under(self.process_id, self.display_name, None, start)
        self._thread = threading.Thread(target=self._loop, name="flowruns-recorder", daemon=True)
        self._thread.start()
        self._first_try.wait(self.options.start_timeout)

    def finish(self, exc: BaseException | None) -> None:
        """Close the run: ``failed`` with ``exc`` as its blocking error, else by the statistics
        (a ``SystemExit`` with status 0 is a normal end). Never raises."""
        ended = datetime.now(UTC)
        if exc is None or (isinstance(exc, SystemExit) and exc.code in (None, 0)):
            if self._failure is not None:
                outcome = _Outcome(RunStatus.FAILED, self._failure, ended)
            else:
                outcome = _Outcome(self.stats.final_status(), None, ended)
        else:
            secrets = [s for s in (self.client.connection.secret(),) if s]
            outcome = _Outcome(RunStatus.FAILED, blocking_error(exc, secrets), ended)
        self.status = outcome.status
        self._stop.set()
        self._nudge.set()
        if self._thread is not None:
            self._thread.join(self.options.request_timeout + 1)
        self._finish(outcome)

    # Background ---------------------------------------------------------------------------

    def _loop(self) -> None:
        backoff = 0.0
        while True:
            try:
                self._sync(final=None)
            except Exception as error:
                if not _transient(error):
                    self._give_up(error)
                    self._first_try.set()
                    return
                self._note_failure(error)
                backoff = min(self.options.max_backoff, max(1.0, backoff * 2))
            else:
                self._note_recovery()
                backoff = 0.0
            self._first_try.set()
            self._nudge.wait(backoff or self.options.flush_interval)
            self._nudge.clear()
            if self._stop.is_set():
                return

    def _sync(self, final: _Outcome | None, deadline: float | None = None) -> None:
        """Bring the service up to date: create the run if needed, then send what changed
        (and, when ``final``, the end of the run) or a heartbeat when one is due."""
        timeout = self.options.request_timeout
        if deadline is not None:
            timeout = max(0.1, min(timeout, deadline - time.monotonic()))
        with self._send_lock:
            if self._given_up:
                return
            if self.run is None:
                assert self._create is not None
                self.run = self.client.send(self._create, retry=NO_RETRY, timeout=timeout)
                self._touched = time.monotonic()
            self._send_datasets(timeout)
            path = f"{calls.RUNS}/{calls.key(self.run.id or '')}"
            snapshot = self.stats.snapshot()
            patch = merge_patch(self._sent, snapshot)
            body: dict[str, Any] = {"statistics": patch} if patch else {}
            if final is not None:
                body |= self._final_members(final)
            if body:
                self._patch(path, body, final, timeout)
                self._sent = snapshot
                self._touched = time.monotonic()
            elif time.monotonic() - self._touched >= self.options.heartbeat_interval:
                self.client.send(calls.heartbeat(path), retry=NO_RETRY, timeout=timeout)
                self._touched = time.monotonic()

    def _pending_datasets(self) -> dict[tuple[str, tuple[str | None, str]], DatasetRef]:
        """The datasets declared or changed since they were last sent."""
        with self._datasets_lock:
            return {
                key: ref
                for key, ref in self._datasets.items()
                if self._datasets_sent.get(key) != ref
            }

    def _send_datasets(self, timeout: float) -> None:
        """Record each dataset declared or changed since it was last sent."""
        pending = self._pending_datasets()
        run_id = self.run.id if self.run is not None else None
        for key, ref in pending.items():
            call = calls.record_access(run_id or "", key[0], ref)
            try:
                self.client.send(call, retry=NO_RETRY, timeout=timeout)
            except GraphAPIError as error:
                if _transient(error):
                    raise
                # The service refuses this dataset (a name too long, …): the run goes on.
                named = truncate(ref.name, NAME_SHOWN)
                self._say(f"{self._name()}: the {key[0][:-1]} {named} was refused: {error}")
            self._datasets_sent[key] = ref
            self._touched = time.monotonic()

    def _final_members(self, final: _Outcome) -> dict[str, Any]:
        start = self.run.start_date_time if self.run is not None else None
        # The flow's clock again, never before the start the service recorded.
        ended = max(final.ended, start) if start is not None else final.ended
        members: dict[str, Any] = {"status": final.status, "end": ended}
        if final.error is not None:
            members["blocking_error"] = final.error
        return calls.run_body(members)

    def _patch(
        self, path: str, body: dict[str, Any], final: _Outcome | None, timeout: float
    ) -> None:
        try:
            self.client.send(calls.update(path, Run, body, None), retry=NO_RETRY, timeout=timeout)
        except GraphAPIError as error:
            if final is None or error.status != 409:
                raise
            # Someone else finished the run first (the stale-run rule, an operator): that end
            # stands, but the statistics can still be recorded.
            final.problems.append(f"the service had already finished the run ({error})")
            if "statistics" in body:
                stats_only = calls.update(path, Run, {"statistics": body["statistics"]}, None)
                self.client.send(stats_only, retry=NO_RETRY, timeout=timeout)

    def _finish(self, outcome: _Outcome) -> None:
        """The bounded final attempt: retry until ``final_timeout`` is spent."""
        deadline = time.monotonic() + self.options.final_timeout
        backoff = 0.25
        last: Exception | None = None
        while not self._given_up:
            try:
                self._sync(final=outcome, deadline=deadline)
            except Exception as error:
                last = error
                if not _transient(error):
                    self._give_up(error)
                    break
            else:
                outcome.sent = True
                break
            if time.monotonic() + backoff >= deadline:
                break
            time.sleep(backoff)
            backoff = min(backoff * 2, 4.0)
        for problem in outcome.problems:
            self._say(f"{self._name()}: {problem}")
        if not outcome.sent and not self._given_up:
            unsent = merge_patch(self._sent, self.stats.snapshot())
            datasets = [
                f"{key[0][:-1]} {truncate(ref.name, NAME_SHOWN)}"
                for key, ref in self._pending_datasets().items()
            ]
            self._say(
                f"could not record the end of {self._name()} at {self.client.url}"
                f" ({last}); not sent: status {outcome.status.value}"
                + (f", blockingError {outcome.error}" if outcome.error else "")
                + (f", statistics {unsent}" if unsent else "")
                + (f", datasets ({', '.join(datasets)})" if datasets else "")
            )

    # Reporting ----------------------------------------------------------------------------

    def _name(self) -> str:
        return f"run '{self.display_name}'" + (f" ({self.id})" if self.id else "")

    def _say(self, text: str) -> None:
        stream = self._stderr or sys.stderr
        print(f"flowruns: {text}", file=stream, flush=True)

    def _note_failure(self, error: Exception) -> None:
        if self._failing is None:
            self._say(
                f"cannot record {self._name()} at {self.client.url} ({error});"
                " the flow goes on and the recorder retries in the background"
            )
        self._failing = error

    def _note_recovery(self) -> None:
        if self._failing is not None:
            self._say(f"recording {self._name()} again")
        self._failing = None

    def _give_up(self, error: Exception) -> None:
        self._given_up = True
        self._say(f"stopped recording {self._name()}: {error}")


def recorded(
    client: Client,
    process: Process | str | None,
    display_name: str | None,
    **options: Any,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """The decorator behind :meth:`Client.recorded`."""

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        if inspect.iscoroutinefunction(function):
            raise TypeError("record async functions with AsyncClient.recorded")
        name = display_name or function.__qualname__

        @functools.wraps(function)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            with RunRecorder(client, process, name, **options):
                return function(*args, **kwargs)

        return wrapper

    return decorate
