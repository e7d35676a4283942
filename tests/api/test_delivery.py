"""The sender's promise: one request in flight per receiver, however the dispatcher's claims
and the sender's own claims of queued rows interleave, so a receiver hears one subscription's
changes in the order they were queued."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import pytest

from flowruns.api import delivery
from flowruns.service import dispatching, notifications
from flowruns.service.notifications import Owed
from flowruns.settings import Settings
from flowruns.store.database import Database

URL = "https://receiver.example/notify"


def owed(number: int) -> Owed:
    return Owed(("tenant", f"row-{number}"), URL, b"[]", False, 0, 0)


def test_a_receiver_has_one_request_in_flight_when_a_dispatch_and_a_claim_overlap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The sender claims a row queued while the receiver was busy just as the dispatcher queues
    # the next change for it: both look at which receivers are busy at the same moment.
    both_reading = threading.Barrier(2, timeout=0.5)
    queued = [owed(1)]
    dispatched = False

    def overlap() -> None:
        # Broken when the two are not let overlap: each then reads what the other claimed.
        with contextlib.suppress(threading.BrokenBarrierError):
            both_reading.wait()

    def claim(db: Database, now: int, lease: float, limit: int, busy: Sequence[str]) -> list[Owed]:
        overlap()
        if URL in busy:
            return []
        taken = queued[:]
        queued.clear()
        return taken

    def dispatch(db: Database, now: int, lease_until: int, busy: Sequence[str], *_: Any) -> Any:
        nonlocal dispatched
        if dispatched:
            return dispatching.Dispatched([])
        dispatched = True
        overlap()
        if URL in busy:
            queued.append(owed(2))
            return dispatching.Dispatched([], waiting=True)
        return dispatching.Dispatched([owed(2)])

    in_flight: list[str] = []
    most_in_flight = 0
    sent: list[str] = []

    async def post(self: delivery.Delivery, url: str, content: bytes, content_type: str) -> None:
        nonlocal most_in_flight
        in_flight.append(url)
        most_in_flight = max(most_in_flight, in_flight.count(url))
        await anyio.sleep(0.2)
        in_flight.remove(url)
        sent.append(url)

    monkeypatch.setattr(notifications, "claim", claim)
    monkeypatch.setattr(notifications, "failed", lambda *_: 0)
    monkeypatch.setattr(notifications, "lifecycle", lambda *_: 0)
    monkeypatch.setattr(notifications, "audiences", lambda _: [])
    monkeypatch.setattr(notifications, "body", lambda *_: b"[]")
    monkeypatch.setattr(dispatching, "dispatch", dispatch)
    monkeypatch.setattr(delivery.Delivery, "_post", post)
    settings = Settings(data_dir=tmp_path, notification_poll_seconds=0.05)

    async def main() -> None:
        work = delivery.Delivery(settings, Database.__new__(Database))
        work.changed()
        with anyio.move_on_after(5):
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(work.run)
                while len(sent) < 2:
                    await anyio.sleep(0.05)
                tasks.cancel_scope.cancel()

    anyio.run(main)
    assert sent == [URL, URL]  # both rows reached the receiver …
    assert most_in_flight == 1  # … one request after the other
