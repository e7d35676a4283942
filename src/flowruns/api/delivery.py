"""Delivering change notifications: the dispatcher, the lifecycle check and the sender, and the
process of its own they run in beside each server process.

**What runs.** :class:`Delivery` is the background work: a dispatcher that turns the change log
into queued notifications (woken at once by the server's own writes, and every poll interval
for other processes'), a lifecycle check, and a sender that claims due notifications and POSTs
each receiver's in one request, one request in flight per receiver, each in its own task with
the notification timeout: a slow or dead receiver holds only its own notifications.

**Where it runs.** ``flowruns serve`` runs it in a process of its own beside each server
process (:class:`DeliveryProcess`), started and stopped with it: delivery is Python for every
notification, and under the server's GIL that work slowed its request handling by more than the
CPU it took (docs/performance.md). The two share only the database, and the delivery process
runs at a lower CPU priority (:data:`NICENESS`): where the CPU is short, requests have it first
and notifications wait. The server wakes its delivery process through a pipe, one byte per
write; the pipe's end also tells the delivery process its server is gone (even one killed with
``SIGKILL``), and it stops. A delivery process that exits while its server runs is started
again, after a pause that grows while it keeps failing; meanwhile ``/readyz`` answers 503. An
app made by :func:`flowruns.api.app.create_app` without ``delivery_process`` (tests, embedding)
runs the same work in its own event loop instead.
"""

from __future__ import annotations

import fcntl
import logging
import logging.config
import os
import signal
import sys
from collections import defaultdict
from collections.abc import Sequence
from contextlib import suppress

import anyio
import anyio.abc
import httpx
from anyio.abc import TaskStatus

from flowruns import logs
from flowruns.api.notifying import Refused, links_for, send, validation_tokens
from flowruns.edm.datetimes import TICKS_PER_SECOND, now_ticks
from flowruns.service import dispatching, formats, notifications
from flowruns.service.notifications import Owed
from flowruns.settings import Settings
from flowruns.store.database import Database, open_engine
from flowruns.store.subscriptions import NotificationKey

log = logging.getLogger("flowruns.notifications")

CLAIM_LIMIT = 50  # queue rows claimed at once (up to a thousand notifications each)
# A dispatch rests at least DISPATCH_GAP_SECONDS after the one before, so that writes that come
# meanwhile are dispatched together; after one that queued many notifications, longer (up to
# MAX_DISPATCH_GAP_SECONDS), so that each carries more of them and the work per dispatch (the
# reads, the write, the POST) is paid less often.
DISPATCH_GAP_SECONDS = 0.05
MAX_DISPATCH_GAP_SECONDS = 0.25
ITEMS_PER_GAP = 200  # notifications a dispatch of the shortest gap queues before gaps lengthen
LIFECYCLE_SECONDS = 1.0
ERROR_PAUSE_SECONDS = 1.0
# A delivery process that exited is started again after RESTART_SECONDS, doubling while it
# keeps exiting, up to MAX_RESTART_SECONDS; one that ran STEADY_SECONDS counts as having worked.
RESTART_SECONDS = 1.0
MAX_RESTART_SECONDS = 30.0
STEADY_SECONDS = 60.0
STOP_SECONDS = 5.0  # how long a stopping server waits for its delivery process to end
# The delivery process's niceness: where the CPU is short, request handling has it first.
NICENESS = 10


def dispatch_gap(items: int) -> float:
    """How long the dispatcher rests after a dispatch that queued ``items`` notifications."""
    return min(MAX_DISPATCH_GAP_SECONDS, DISPATCH_GAP_SECONDS * max(1.0, items / ITEMS_PER_GAP))


class Delivery:
    """The background work of change notifications for one server process."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.client = httpx.AsyncClient(follow_redirects=False, trust_env=False)
        self.retries = notifications.Retries(
            settings.notification_retry_seconds, settings.notification_retry_window_seconds
        )
        self.tokens = validation_tokens(settings)
        self.links = links_for(settings)
        self._changed = anyio.Event()
        self._queued = anyio.Event()
        self._busy: set[str] = set()
        # The dispatcher and the sender each claim rows for the receivers not busy, and mark
        # theirs busy: one at a time, so that neither claims for a receiver the other is
        # claiming for (one request in flight per receiver).
        self._claiming = anyio.Lock()
        self._delivered: list[NotificationKey] = []
        # A claim lasts past the longest a delivery can take, with room to record it.
        self._lease = settings.notification_timeout_seconds * 2 + 5

    @property
    def allow_private(self) -> bool:
        return self.settings.notification_allow_private

    @property
    def running(self) -> bool:
        """In the server's own event loop, it runs as long as the server does."""
        return True

    def changed(self) -> None:
        """The server wrote: look at the log now rather than at the next poll."""
        self._changed.set()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Dispatch, check lifecycles and deliver until cancelled."""
        task_status.started()
        try:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(self._dispatch_forever, tasks)
                tasks.start_soon(self._lifecycle_forever)
                tasks.start_soon(self._deliver_forever, tasks)
        finally:
            with anyio.CancelScope(shield=True):
                await self.client.aclose()

    async def _wait(self, event: anyio.Event) -> None:
        with anyio.move_on_after(self.settings.notification_poll_seconds):
            await event.wait()

    def _start_sending(self, tasks: anyio.abc.TaskGroup, owed: Sequence[Owed]) -> None:
        by_url: dict[str, list[Owed]] = defaultdict(list)
        for row in owed:
            by_url[row.url].append(row)
        for url, rows in by_url.items():
            self._busy.add(url)
            tasks.start_soon(self._send, url, rows)

    async def _dispatch_forever(self, tasks: anyio.abc.TaskGroup) -> None:
        while True:
            await self._wait(self._changed)
            self._changed = anyio.Event()
            started = anyio.current_time()
            now = now_ticks()
            lease_until = now + round(self._lease * TICKS_PER_SECOND)
            delivered, self._delivered = self._delivered, []
            try:
                async with self._claiming:
                    dispatched = await anyio.to_thread.run_sync(
                        dispatching.dispatch,
                        self.db,
                        now,
                        lease_until,
                        sorted(self._busy),
                        delivered,
                        self.links,
                    )
                    self._start_sending(tasks, dispatched.claimed)
            except Exception:
                self._delivered[:0] = delivered  # forgotten with the next dispatch
                log.exception("Dispatching change notifications failed")
                await anyio.sleep(ERROR_PAUSE_SECONDS)
                continue
            if dispatched.waiting:
                self._queued.set()  # queued for a receiver that was busy
            if dispatched.more:
                self._changed.set()
            # Writes that come while this one rests are dispatched together.
            await anyio.sleep(
                max(0.0, dispatch_gap(dispatched.items) - (anyio.current_time() - started))
            )

    async def _lifecycle_forever(self) -> None:
        while True:
            await anyio.sleep(max(LIFECYCLE_SECONDS, self.settings.notification_poll_seconds))
            try:
                queued = await anyio.to_thread.run_sync(
                    notifications.lifecycle, self.db, now_ticks()
                )
            except Exception:
                log.exception("The subscription lifecycle check failed")
                continue
            if queued:
                self._queued.set()

    async def _deliver_forever(self, tasks: anyio.abc.TaskGroup) -> None:
        """Claim what is due (retries, rows of other processes' expired leases, rows that
        waited for a busy receiver) and send it."""
        while True:
            try:
                async with self._claiming:
                    owed = await anyio.to_thread.run_sync(
                        notifications.claim,
                        self.db,
                        now_ticks(),
                        self._lease,
                        CLAIM_LIMIT,
                        sorted(self._busy),
                    )
                    self._start_sending(tasks, owed)
            except Exception:
                log.exception("Claiming notifications failed")
                await anyio.sleep(ERROR_PAUSE_SECONDS)
                owed = []
            if len(owed) < CLAIM_LIMIT:
                await self._wait(self._queued)
                self._queued = anyio.Event()

    async def _post(self, url: str, content: bytes, content_type: str) -> str | None:
        """POST ``content`` to ``url``: None when the receiver took it, else what went wrong."""
        try:
            response = await send(
                self.client,
                url,
                allow_private=self.allow_private,
                timeout=self.settings.notification_timeout_seconds,
                content=content,
                content_type=content_type,
            )
        except Refused as error:
            return f"refused: {error}"
        except httpx.HTTPError as error:
            return f"{type(error).__name__}: {error}"
        if not 200 <= response.status_code < 300:
            return f"answered {response.status_code}"
        return None

    async def _deliver(self, url: str, owed: Sequence[Owed]) -> tuple[list[Owed], str | None]:
        """Send ``owed``: Graph's rows in one POST (with a validation token for each tenant and
        application whose resource data they carry), then each row of a format in a POST of its
        own, in order, until one is not taken; the rows taken, and what went wrong (None: all
        were taken)."""
        taken: list[Owed] = []
        graph = [o for o in owed if o.format is None]
        if graph:
            tokens = [self.tokens.token(*pair) for pair in notifications.audiences(graph)]
            problem = await self._post(
                url, notifications.body(graph, tokens), "application/json; charset=utf-8"
            )
            if problem is not None:
                return taken, problem
            taken.extend(graph)
        for row in owed:
            if row.format is None:
                continue
            if row.format in formats.CHAT_FORMATS:
                host = httpx.URL(url).host.lower()
                if host not in self.settings.notification_chat_hosts:
                    return taken, f"refused: {host} is no longer on the chat webhook allowlist"
            # A row of a format holds one notification: its array's one element.
            problem = await self._post(url, row.items[1:-1], formats.CONTENT_TYPES[row.format])
            if problem is not None:
                return taken, problem
            taken.append(row)
        return taken, None

    async def _send(self, url: str, owed: Sequence[Owed]) -> None:
        try:
            taken, problem = await self._deliver(url, owed)
            if taken:
                # Forgotten by the next dispatch's write, well within the claim's lease.
                self._delivered.extend(o.key for o in taken)
                self._changed.set()
            if problem is not None:
                log.info("Delivering notifications to %s failed: %s", url, problem)
                sent = {o.key for o in taken}
                left = [o for o in owed if o.key not in sent]
                await anyio.to_thread.run_sync(
                    notifications.failed, self.db, left, now_ticks(), self.retries
                )
        except Exception:
            log.exception("Recording a delivery to %s failed", url)
        finally:
            self._busy.discard(url)
            self._queued.set()


class DeliveryProcess:
    """The delivery process beside a server process: started by :meth:`run`, woken by
    :meth:`changed`, started again when it exits, stopped when :meth:`run` is cancelled."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._wake: int | None = None  # the pipe's end this process writes to
        self.pid: int | None = None  # the delivery process, while it runs

    @property
    def running(self) -> bool:
        return self.pid is not None

    def changed(self) -> None:
        """The server wrote: wake the delivery process (a byte in the pipe; when the pipe is
        full, it has wake-ups enough to read)."""
        if self._wake is not None:
            with suppress(BlockingIOError, BrokenPipeError):
                os.write(self._wake, b"\0")

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Keep a delivery process running until cancelled; then stop it. Started (for
        ``task_status``) once the first is ready to deliver, or has exited."""
        pause = RESTART_SECONDS
        while True:
            started = anyio.current_time()
            code = await self._run_once(task_status)
            task_status = anyio.TASK_STATUS_IGNORED
            if anyio.current_time() - started >= STEADY_SECONDS:
                pause = RESTART_SECONDS
            log.error(
                "The notification delivery process exited (code %s); starting it again in %g s",
                code,
                pause,
            )
            await anyio.sleep(pause)
            pause = min(pause * 2, MAX_RESTART_SECONDS)

    async def _run_once(self, task_status: TaskStatus[None]) -> int:
        """Start a delivery process and wait until it exits; its exit code. It says it is
        ready with a line on its standard output."""
        read, self._wake = os.pipe()
        fcntl.fcntl(self._wake, fcntl.F_SETFL, os.O_NONBLOCK)
        try:
            command = [sys.executable, "-m", __name__, "--log-format", logs.current_format()]
            process = await anyio.open_process(
                command,
                stdin=read,
                stderr=None,
                env={**os.environ, **self.settings.environment()},
            )
        finally:
            os.close(read)
        try:
            assert process.stdout is not None
            with suppress(anyio.EndOfStream):
                await process.stdout.receive()
                self.pid = process.pid
            task_status.started()
            return await process.wait()
        finally:
            self.pid = None
            os.close(self._wake)  # the delivery process reads the end of the pipe: it stops
            self._wake = None
            with anyio.CancelScope(shield=True):
                with anyio.move_on_after(STOP_SECONDS):
                    await process.wait()
                if process.returncode is None:
                    log.error("The notification delivery process did not stop; killing it")
                    process.kill()
                    await process.wait()


async def _serve(settings: Settings) -> None:
    """The delivery process's work: deliver until the pipe from the server ends or SIGTERM."""
    db = Database(open_engine(settings.database_url, settings.data_dir))
    delivery = Delivery(settings, db)
    try:
        async with anyio.create_task_group() as tasks:
            await tasks.start(delivery.run)
            os.write(1, b"ready\n")  # to the server, which waits for it

            tasks.start_soon(_stop_on_sigterm, tasks.cancel_scope)
            while True:
                await anyio.wait_readable(0)
                if not os.read(0, 65536):
                    break  # the server closed the pipe, or is gone
                delivery.changed()
            tasks.cancel_scope.cancel()
    finally:
        db.dispose()


async def _stop_on_sigterm(scope: anyio.CancelScope) -> None:
    with anyio.open_signal_receiver(signal.SIGTERM) as signals:
        async for _ in signals:
            scope.cancel()
            return


def main() -> None:
    """The delivery process (``python -m flowruns.api.delivery --log-format FORMAT``), configured
    by the environment its server passes; Ctrl-C is left to the server, which stops it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.nice(NICENESS)
    log_format = sys.argv[sys.argv.index("--log-format") + 1]
    logging.config.dictConfig(logs.config(log_format))
    anyio.run(_serve, Settings.from_env())


if __name__ == "__main__":
    main()
