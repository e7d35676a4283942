"""Prometheus metrics: what ``/metrics`` reports, and how requests and the pool feed it.

Request counts and latencies are labelled by method, route template and status. The route is
the template of the route a request matched (``/beta/…/runs/{id}``), or one fixed label for
requests no route took (see :mod:`flowruns.api.telemetry`), so a label names a kind of request,
not one entity, and no client can grow the label set.

With several worker processes (``serve --workers N``), ``serve`` sets
``PROMETHEUS_MULTIPROC_DIR`` before the workers start: each worker writes its samples there and
whichever worker answers ``/metrics`` adds them all up. Runs by status are read from the
database at scrape time (its day counts), so any worker, and any server, reports the same numbers.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, event

from flowruns.service.counting import runs_by_status
from flowruns.store.database import Database, pool_limit

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST

REQUESTS = Counter(
    "flowruns_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "flowruns_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response, in seconds.",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
POOL_IN_USE = Gauge(
    "flowruns_db_pool_connections_in_use",
    "Database connections checked out of the pool, summed over live processes.",
    multiprocess_mode="livesum",
)
POOL_OPEN = Gauge(
    "flowruns_db_pool_connections_open",
    "Database connections the pool holds open (in use or idle), summed over live processes.",
    multiprocess_mode="livesum",
)
POOL_LIMIT = Gauge(
    "flowruns_db_pool_connections_limit",
    "The most connections the pools may open, summed over live processes.",
    multiprocess_mode="livesum",
)


# Each label set's two children, found once: looking one up by its labels (validating them and
# taking the metric's lock) cost more than counting and timing the request. As many entries
# as the metrics themselves hold label sets.
_children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    key = (method, route, status)
    children = _children.get(key)
    if children is None:
        labels = (method, route, str(status))
        children = _children[key] = (REQUESTS.labels(*labels), LATENCY.labels(*labels))
    children[0].inc()
    children[1].observe(seconds)


def watch_pool(engine: Engine) -> None:
    """Keep the pool gauges current as ``engine`` opens, lends and closes connections."""
    # Count from an empty pool: close what was opened before (checking the schema, say).
    engine.dispose()
    POOL_LIMIT.inc(pool_limit(engine))

    def connected(*_: object) -> None:
        POOL_OPEN.inc()

    def closed(*_: object) -> None:
        POOL_OPEN.dec()

    def checked_out(*_: object) -> None:
        POOL_IN_USE.inc()

    def checked_in(*_: object) -> None:
        POOL_IN_USE.dec()

    event.listen(engine, "connect", connected)
    event.listen(engine, "close", closed)
    event.listen(engine, "close_detached", closed)
    event.listen(engine, "checkout", checked_out)
    event.listen(engine, "checkin", checked_in)


def forget_pool(engine: Engine) -> None:
    """Take a disposed engine's share out of the pool limit."""
    POOL_LIMIT.dec(pool_limit(engine))


class RunsByStatus(Collector):
    """``flowruns_runs{status}``: the runs in the database now, across tenants."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "flowruns_runs", "Runs in the database, by status (all tenants).", labels=["status"]
        )
        for status, number in runs_by_status(self.db).items():
            family.add_metric([status], number)
        yield family


def exposition(db: Database) -> bytes:
    """The text ``/metrics`` answers with (blocking: it queries the database)."""
    registry = CollectorRegistry()
    if os.environ.get(MULTIPROCESS_ENV):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        for collector in (REQUESTS, LATENCY, POOL_IN_USE, POOL_OPEN, POOL_LIMIT):
            registry.register(collector)
    registry.register(RunsByStatus(db))
    return generate_latest(registry)


def process_ended() -> None:
    """Drop this process's live gauges from the shared files (multiprocess mode only)."""
    if os.environ.get(MULTIPROCESS_ENV):
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]
