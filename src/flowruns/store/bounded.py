"""Reads bounded in work: SQLite statements that stop once they have done a set amount of it.

A read by key or a page off an index takes SQLite tens to hundreds of microseconds, less than
handing the call to a worker thread and back; a read the indexes do not serve (a ``$filter`` on
a statistics member over a million runs) can take seconds. The caller cannot tell which is which
before it runs. Inside :func:`bounded`, every statement of a SQLite connection the pool hands
out is interrupted once it has executed ``steps`` virtual-machine instructions (SQLite's
progress handler), and the read ends with :class:`TooMuchWork`; the caller then runs it again
where a long read does no harm. A read transaction changes nothing, so running it again is
safe. Other engines run unbounded: the caller does not ask for a bound there.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.exc import OperationalError

# How much a statement may do inside bounded(), in SQLite's virtual-machine instructions: a
# read by key takes well under a hundred, a 100-run page rendered as JSON about 10,000, a scan
# of 10,000 runs testing a statistics member about 41,000 (4 a row), so a scan of a large
# history is stopped after a small fraction of its work.
DEFAULT_STEPS = 20_000

_steps: ContextVar[int | None] = ContextVar("flowruns_bounded_steps", default=None)
_watched: weakref.WeakSet[Engine] = weakref.WeakSet()


class TooMuchWork(Exception):
    """A statement inside :func:`bounded` did more than its bound; nothing was read."""


def _stop() -> int:
    return 1  # non-zero: SQLite interrupts the statement


def _checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    steps = _steps.get()
    if steps is not None:
        dbapi_connection.set_progress_handler(_stop, steps)


def _checkin(dbapi_connection: Any, _record: Any) -> None:
    if dbapi_connection is not None:
        dbapi_connection.set_progress_handler(None, 0)


@contextmanager
def bounded(engine: Engine, steps: int | None = None) -> Iterator[None]:
    """Statements of connections checked out of ``engine``'s pool inside the block stop after
    ``steps`` instructions (:data:`DEFAULT_STEPS` by default), ending the block with
    :class:`TooMuchWork` (SQLite only)."""
    if engine.dialect.name != "sqlite":
        raise ValueError("only SQLite statements can be bounded")
    if engine not in _watched:
        event.listen(engine, "checkout", _checkout)
        event.listen(engine, "checkin", _checkin)
        _watched.add(engine)
    token = _steps.set(DEFAULT_STEPS if steps is None else steps)
    try:
        yield
    except OperationalError as error:
        if "interrupted" not in str(error.orig):
            raise
        raise TooMuchWork from None
    finally:
        _steps.reset(token)
