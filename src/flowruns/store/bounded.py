"""Reads bounded in time: SQLite statements that stop once they have run for a set time.

A read by key or a page off an index takes SQLite tens to hundreds of microseconds, less than
handing the call to a worker thread and back; a read the indexes do not serve (a ``$filter`` on
a statistics member over a million runs) can take seconds. The caller cannot tell which is which
before it runs. Inside :func:`bounded`, every statement of a SQLite connection the pool hands
out is interrupted once it has run for ``seconds`` of CPU time (SQLite's progress handler,
called every :data:`GRANULARITY` virtual-machine instructions, reads the thread's CPU clock: a
busy machine that leaves the thread waiting does not count), and the block ends with
:class:`TooMuchWork`; the caller then runs the read again where a long read does no harm.
A read transaction changes nothing, so running it again is safe, and what the first attempt
cost is bounded by the same time. Other engines run unbounded: the caller does not ask for a
bound there.
"""

from __future__ import annotations

import time
import weakref
from collections import OrderedDict
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import OperationalError

# How long a statement may run inside bounded(). A 100-run page rendered as JSON takes SQLite about
# half a millisecond on a quiet machine (one in three took over 2 ms on the busy benchmark
# machine) and a read by key a few microseconds; the 999-run page about five, and a statistics
# $filter over 10,000 runs twenty or more. A statement stopped has cost at most this much.
# A time, not a number of instructions: one instruction of a JSON function costs as much as a
# hundred of an index seek, so a count of instructions either stops pages or lets scans run long.
DEFAULT_SECONDS = 0.005
# How many reads that ran past their bound :class:`LongReads` remembers.
LONG_READS_KEPT = 1024
# SQLite calls the progress handler every this many instructions: a few microseconds of an
# index seek, about a millisecond of JSON functions.
GRANULARITY = 1_000


class _Deadline:
    """The progress handler of one bounded read: non-zero (stop) once the statement it runs has
    taken its time."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.thread_time() + seconds

    def restart(self) -> None:
        """A statement starts: its time starts now."""
        self.at = time.thread_time() + self.seconds

    def __call__(self) -> int:
        return 1 if time.thread_time() > self.at else 0


_deadline: ContextVar[_Deadline | None] = ContextVar("flowruns_bounded_deadline", default=None)
_watched: weakref.WeakSet[Engine] = weakref.WeakSet()


class TooMuchWork(Exception):
    """A statement inside :func:`bounded` ran past its time; nothing was read."""


def _checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    deadline = _deadline.get()
    if deadline is not None:
        dbapi_connection.set_progress_handler(deadline, GRANULARITY)


def statement_starts(*_: Any) -> None:
    """A statement starts inside :func:`bounded`: its time starts now. SQLAlchemy calls this
    before each statement it executes; a caller that runs one on the driver's cursor itself
    calls it first."""
    deadline = _deadline.get()
    if deadline is not None:
        deadline.restart()


def _checkin(dbapi_connection: Any, _record: Any) -> None:
    if dbapi_connection is not None:
        dbapi_connection.set_progress_handler(None, 0)


@contextmanager
def bounded(engine: Engine, seconds: float | None = None) -> Iterator[None]:
    """Statements of connections checked out of ``engine``'s pool inside the block stop once
    they have run for ``seconds`` each (:data:`DEFAULT_SECONDS` by default), ending the block
    with :class:`TooMuchWork` (SQLite only)."""
    if engine.dialect.name != "sqlite":
        raise ValueError("only SQLite statements can be bounded")
    if engine not in _watched:
        event.listen(engine, "checkout", _checkout)
        event.listen(engine, "checkin", _checkin)
        event.listen(engine, "before_cursor_execute", statement_starts)
        _watched.add(engine)
    token = _deadline.set(_Deadline(DEFAULT_SECONDS if seconds is None else seconds))
    try:
        yield
    except OperationalError as error:
        if "interrupted" not in str(error.orig):
            raise
        raise TooMuchWork from None
    finally:
        _deadline.reset(token)


class LongReads:
    """The reads that ran past their bound, by a key the caller chooses (the same key, the
    same statements): the next read of a key found here skips the bounded attempt, so a long
    read costs the bound once rather than on every request. The oldest key is forgotten first,
    beyond :data:`LONG_READS_KEPT`."""

    def __init__(self) -> None:
        self._keys: OrderedDict[Hashable, None] = OrderedDict()

    def __contains__(self, key: Hashable) -> bool:
        if key not in self._keys:
            return False
        self._keys.move_to_end(key)
        return True

    def add(self, key: Hashable) -> None:
        self._keys[key] = None
        self._keys.move_to_end(key)
        while len(self._keys) > LONG_READS_KEPT:
            self._keys.popitem(last=False)
