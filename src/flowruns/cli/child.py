"""Running a command on behalf of ``flowruns exec``: its standard error passed through to the
terminal (and its last lines kept), signals forwarded, and its exit status as a shell reports it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import FrameType

# Signals that stop a command: sent to flowruns, they are passed on to the command, which decides
# how to end; flowruns then records how it ended.
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)
# Bytes of standard error kept to quote the last lines from.
_KEPT_BYTES = 16 * 1024


@dataclass(frozen=True)
class Ended:
    """How a command ended: ``returncode`` as :mod:`subprocess` gives it (``-N`` for signal N)."""

    returncode: int
    stderr: bytes

    @property
    def exit_status(self) -> int:
        """The status a shell reports: the command's own, or 128 + N when signal N killed it."""
        return 128 - self.returncode if self.returncode < 0 else self.returncode

    @property
    def signal(self) -> signal.Signals | None:
        return signal.Signals(-self.returncode) if self.returncode < 0 else None

    def last_lines(self, count: int) -> list[str]:
        """The last ``count`` non-blank lines of standard error."""
        text = self.stderr.decode("utf-8", errors="replace")
        lines = [line.rstrip() for line in text.replace("\r", "\n").splitlines() if line.strip()]
        return lines[-count:]


def _from_terminal() -> bool:
    """Whether flowruns runs in the foreground of a terminal, whose Ctrl-C already reached the
    whole foreground process group, the command included."""
    try:
        fd = os.open("/dev/tty", os.O_RDONLY | os.O_NOCTTY)
    except OSError:
        return False
    try:
        return os.tcgetpgrp(fd) == os.getpgrp()
    except OSError:
        return False
    finally:
        os.close(fd)


def run(
    command: Sequence[str],
    env: Mapping[str, str],
    on_tick: Callable[[], None],
    tick_seconds: float = 1.0,
) -> Ended:
    """Run ``command`` to its end, calling ``on_tick`` every ``tick_seconds`` meanwhile.

    Raises :class:`OSError` (``FileNotFoundError``, ``PermissionError``) when it cannot start.
    """
    process = subprocess.Popen(list(command), env=dict(env), stderr=subprocess.PIPE)
    kept = bytearray()
    assert process.stderr is not None
    pipe = process.stderr

    def pass_through() -> None:
        out = sys.stderr.buffer
        while chunk := os.read(pipe.fileno(), 4096):
            out.write(chunk)
            out.flush()
            kept.extend(chunk)
            del kept[:-_KEPT_BYTES]

    reader = threading.Thread(target=pass_through, name="flowruns-exec-stderr", daemon=True)
    reader.start()

    def forward(number: int, _frame: FrameType | None) -> None:
        if number == signal.SIGINT and _from_terminal():
            return  # the terminal sent Ctrl-C to the command as well
        if process.poll() is None:
            process.send_signal(number)

    previous = {sig: signal.signal(sig, forward) for sig in FORWARDED}
    try:
        while True:
            try:
                returncode = process.wait(timeout=tick_seconds)
                break
            except subprocess.TimeoutExpired:
                on_tick()
        reader.join(timeout=5)  # a background grandchild may hold the pipe open
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        pipe.close()
    return Ended(returncode, bytes(kept))
