"""``serve --demo-activity``: the demo's flows start and finish runs while the server runs, so
the dashboard's live views (running now, new runs, runs finishing) have something to show.

The activity is a client like any other: the SDK's :class:`~flowruns.client.Client`, with a
token minted from the data directory's key, sending to the server's own address once it
answers. It lives in the ``serve`` process itself, a thread beside uvicorn (or beside the
supervisor of ``--workers``), so one activity writes however many workers serve. It writes only
runs of the demo's processes (known by their names, :data:`flowruns.demo.DEMO_FLOWS`) in the
default tenant: the runs it starts, and the demo's own running runs, which it carries on.

Like an emitter, a run records what it read from its flow's source as it goes (the rows of
``recordsProcessed`` so far, with each report) and, before it reports its end, what it wrote to
its flow's target (:func:`flowruns.demo.written_rows`), so the dataset pages move too.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from flowruns.auth.scopes import READ_WRITE_PERMISSIONS
from flowruns.auth.tokens import mint_token
from flowruns.client import Client, F, GraphAPIError, ServiceUnreachableError
from flowruns.client.lineage import DatasetRef
from flowruns.client.retrying import NO_RETRY
from flowruns.demo import DemoFlow, Outcome, demo_flow, outcome, read_rows, written_rows
from flowruns.settings import DEFAULT_TENANT

log = logging.getLogger("flowruns.demo")

# Runs in flight: the activity keeps at least the first and at most the second.
IN_FLIGHT = (3, 6)
# Seconds between two steps; each step finishes, advances or starts a run or two.
STEP_SECONDS = (2.0, 6.0)
# A run in flight reports its progress (which also keeps the stale-run rule away) this often.
PROGRESS_SECONDS = 15.0
# The demo's running runs older than this are left alone: their writer is long gone, and the
# stale-run rule fails them, as it fails any such run.
CARRY_ON_SECONDS = 3600
WAIT_FOR_SERVER_SECONDS = 60.0
TOKEN_SECONDS = 3600
CLIENT_ID = "flowruns-demo-activity"


def local_token(data_dir: Path) -> Callable[[], str]:
    """A read-write token of the default tenant signed with the data directory's key, minted
    again a minute before it expires (the activity lasts as long as the server)."""
    minted: list[tuple[float, str]] = []

    def current() -> str:
        if not minted or minted[0][0] - 60 < time.time():
            token = mint_token(
                data_dir,
                tenant=DEFAULT_TENANT,
                scopes=READ_WRITE_PERMISSIONS,
                ttl_seconds=TOKEN_SECONDS,
                client=CLIENT_ID,
            )
            minted[:] = [(time.time() + TOKEN_SECONDS, token)]
        return minted[0][1]

    return current


@dataclass(frozen=True)
class _DemoProcess:
    """A demo process of the tenant, and the flow it is."""

    id: str
    name: str
    flow: DemoFlow


@dataclass
class _InFlight:
    """A run the activity writes, and how it is going to go."""

    run_id: str
    flow: DemoFlow
    planned: Outcome
    started: float  # time.monotonic() at its start
    reported: float

    def fraction(self, now: float) -> float:
        return (now - self.started) / self.planned.seconds

    def report(self, client: Client, statistics: dict[str, Any]) -> None:
        """Record the rows read so far and the statistics of the run, still running."""
        self.read(client, statistics)
        client.runs.update(self.run_id, statistics=statistics)

    def read(self, client: Client, statistics: dict[str, Any]) -> None:
        """Record what the run has read from its flow's source by the time of ``statistics``."""
        source = DatasetRef(
            self.flow.reads.name, self.flow.reads.namespace, row_count=read_rows(statistics)
        )
        client.runs.add_input(self.run_id, source)

    def finish(self, client: Client) -> None:
        """Record what the run read and wrote, then its end."""
        planned, target = self.planned, self.flow.writes
        self.read(client, planned.statistics)
        written = written_rows(planned.status, planned.statistics)
        if written is not None:
            client.runs.add_output(
                self.run_id, DatasetRef(target.name, target.namespace, row_count=written)
            )
        client.runs.update(
            self.run_id,
            status=planned.status,
            statistics=planned.statistics,
            blocking_error=planned.blocking_error,
        )


class DemoActivity:
    """A thread that starts and finishes demo runs through the API at ``url`` until stopped."""

    def __init__(self, url: str, token: str | Callable[[], str] | None) -> None:
        self.url = url
        self._token = token
        self._random = random.Random()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-activity", daemon=True)

    def start(self) -> None:
        """Start the thread; it waits for the server to answer before writing anything."""
        self._thread.start()

    def _run(self) -> None:
        if not self._server_answers():
            log.warning("Demo activity: the server did not answer at %s; no activity", self.url)
            return
        # One try per request: a step that fails is simply tried again at the next step.
        with Client(self.url, self._token, retry=NO_RETRY) as client:
            try:
                processes = self._demo_processes(client)
                in_flight = self._carry_on(client, processes)
            except (GraphAPIError, ServiceUnreachableError) as error:
                log.warning("Demo activity: cannot read the demo processes: %s", error)
                return
            if not processes:
                log.warning(
                    "Demo activity: the default tenant has no demo process (`flowruns demo "
                    "seed` adds them); no activity"
                )
                return
            log.info(
                "Demo activity: runs of %d demo processes start and finish through the API",
                len(processes),
            )
            while not self._stopping.wait(self._random.uniform(*STEP_SECONDS)):
                try:
                    self._step(client, processes, in_flight)
                except ServiceUnreachableError as error:
                    log.debug("Demo activity: no answer, trying again: %s", error)

    def _server_answers(self) -> bool:
        health = httpx.URL(self.url).join("/healthz")
        deadline = time.monotonic() + WAIT_FOR_SERVER_SECONDS
        while time.monotonic() < deadline:
            try:
                if httpx.get(health, timeout=2.0).status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            if self._stopping.wait(0.2):
                return False
        return False

    def _demo_processes(self, client: Client) -> list[_DemoProcess]:
        page = client.processes.page(top=999, select=["id", "displayName"])
        found = []
        for process in page.items:
            name = process.display_name or ""
            if process.id and (flow := demo_flow(name)):
                found.append(_DemoProcess(process.id, name, flow))
        return found

    def _carry_on(self, client: Client, processes: list[_DemoProcess]) -> list[_InFlight]:
        """The demo's running runs that started lately, to be finished like the activity's own."""
        by_id = {p.id: p for p in processes}
        page = client.runs.page(
            filter=F.status == "running", top=100, expand="process($select=id,displayName)"
        )
        now, wall = time.monotonic(), datetime.now(UTC)
        carried = []
        for run in page.items:
            process = by_id.get(run.process.id or "") if run.process else None
            if not (run.id and process and run.start_date_time):
                continue
            age = (wall - run.start_date_time).total_seconds()
            if age > CARRY_ON_SECONDS:
                continue
            planned = outcome(self._random, process.flow, process.name)
            # Whatever was planned, it ends a little after now at the earliest.
            started = now - min(age, planned.seconds - self._random.uniform(3, 20))
            carried.append(_InFlight(run.id, process.flow, planned, started, reported=now))
        return carried

    def _step(
        self, client: Client, processes: list[_DemoProcess], in_flight: list[_InFlight]
    ) -> None:
        now = time.monotonic()
        for run in list(in_flight):
            try:
                if run.fraction(now) >= 1:
                    run.finish(client)
                    in_flight.remove(run)
                elif now - run.reported >= PROGRESS_SECONDS:
                    run.reported = now
                    run.report(client, run.planned.progress(run.fraction(now)))
            except GraphAPIError as error:
                # Deleted or finished by someone else: it is theirs now.
                log.debug("Demo activity: leaving run %s: %s", run.run_id, error)
                in_flight.remove(run)
        fewest, most = IN_FLIGHT
        if len(in_flight) < fewest or (len(in_flight) < most and self._random.random() < 0.5):
            process = self._random.choice(processes)
            planned = outcome(self._random, process.flow, process.name)
            name = f"{process.name} {datetime.now(UTC):%Y-%m-%d %H:%M:%S}"
            try:
                created = client.processes.create_run(
                    process.id, name, statistics=planned.progress(0)
                )
            except GraphAPIError as error:
                # Deleted meanwhile, say: the other demo processes carry on.
                log.warning("Demo activity: no more runs of %s: %s", process.name, error)
                processes.remove(process)
                if not processes:
                    self._stopping.set()
                return
            started = _InFlight(created.id or "", process.flow, planned, now, reported=now)
            in_flight.append(started)
            try:
                started.read(client, planned.progress(0))
            except GraphAPIError as error:
                log.debug("Demo activity: run %s read nothing yet: %s", started.run_id, error)
