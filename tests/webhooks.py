"""Webhook receivers for the tests: ``tests/receiver.py`` run as a process on loopback."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RECEIVER = Path(__file__).with_name("receiver.py")
WAIT_SECONDS = 20.0


@dataclass
class Receiver:
    """A receiver process: its URL, the log of what it received, and how to stop it."""

    log: Path
    port: int
    process: subprocess.Popen[str]
    args: tuple[str, ...]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/notify"

    def items(self) -> list[dict[str, Any]]:
        """Every notification received, in order."""
        if not self.log.exists():
            return []
        lines = self.log.read_text().splitlines()
        return [item for line in lines for item in json.loads(line)["body"]["value"]]

    def requests(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def wait_for_requests(
        self, done: Callable[[list[dict[str, Any]]], bool]
    ) -> list[dict[str, Any]]:
        """Every notification request received (``body``, ``contentType``), once ``done``."""
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            found = self.requests()
            if done(found):
                return found
            assert time.monotonic() < deadline, found
            time.sleep(0.05)

    def handshakes(self) -> list[str]:
        """The origins named in the CloudEvents webhook handshakes received."""
        log = self.log.with_suffix(".options")
        if not log.exists():
            return []
        return [json.loads(line)["options"] for line in log.read_text().splitlines()]

    def wait_for(self, done: Callable[[list[dict[str, Any]]], bool]) -> list[dict[str, Any]]:
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            items = self.items()
            if done(items):
                return items
            assert time.monotonic() < deadline, items
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def start_receiver(log: Path, *args: str, port: int = 0) -> Receiver:
    """Start ``tests/receiver.py`` (logging to ``log``) and wait until it listens."""
    process = subprocess.Popen(
        [sys.executable, str(RECEIVER), str(log), "--port", str(port), *args],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    bound = int(process.stdout.readline())
    process.stdout.close()
    return Receiver(log, bound, process, args)
