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

# How much a read may do inside bounded(), in SQLite's virtual-machine instructions, counted to
# within GRANULARITY: a read by key takes well under a thousand, a 100-run page rendered as JSON
# 10,000 to 20,000, the 999-run page 80,000 to 160,000, and a statistics $filter ordered by end
# time over 10,000 runs more than 320,000 (measured on the benchmark's histories).
DEFAULT_STEPS = 50_000

# SQLite calls the progress handler every this many instructions. Its count runs on over every
# execution of a prepared statement, which the driver keeps and reuses, so the handler counts
# its own calls: a read is stopped once it has been called steps / GRANULARITY times.
GRANULARITY = 1_000


class _Budget:
    """The progress handler of one bounded read: non-zero (stop) once its calls run out."""

    def __init__(self, steps: int) -> None:
        self.calls = steps // GRANULARITY

    def __call__(self) -> int:
        self.calls -= 1
        return 1 if self.calls < 0 else 0


_budget: ContextVar[_Budget | None] = ContextVar("flowruns_bounded_budget", default=None)
_watched: weakref.WeakSet[Engine] = weakref.WeakSet()


class TooMuchWork(Exception):
    """A statement inside :func:`bounded` did more than its bound; nothing was read."""


def _checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    budget = _budget.get()
    if budget is not None:
        dbapi_connection.set_progress_handler(budget, GRANULARITY)


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
    token = _budget.set(_Budget(DEFAULT_STEPS if steps is None else steps))
    try:
        yield
    except OperationalError as error:
        if "interrupted" not in str(error.orig):
            raise
        raise TooMuchWork from None
    finally:
        _budget.reset(token)
