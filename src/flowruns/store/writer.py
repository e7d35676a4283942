"""SQLite's writer: every write transaction of a process, one after the other on one connection,
committed in groups.

SQLite lets one transaction write at a time. Rather than letting each request's thread open
its own ``BEGIN IMMEDIATE`` and sleep in SQLite's busy handler until the file is free (it
polls, sleeping up to 100 ms at a time), the threads of one process queue here for the writer
in arrival order and are handed it directly, one after the other.

**Groups.** The first write after a quiet spell opens a transaction (``BEGIN IMMEDIATE``) on the
writer's connection (one of the pool, kept for the writer); each write runs its whole block
inside that transaction, in its own ``SAVEPOINT``. The writer commits when it is released with
nobody waiting for it, or when the group holds :data:`GROUP_WRITES` writes: the writes that
queued up meanwhile (typically, while the previous group's commit waited for the disk) share one
commit, and so one fsync. A write is acknowledged — :meth:`GroupWriter.write` returns — only once
its group has committed.

**One failing write fails no other.** A block that raises rolls back to its own savepoint
only, and the error reaches its caller alone. Only if the transaction itself is gone (SQLite
rolls the whole transaction back on a full disk or an I/O error) or the commit fails do the
other writes of the group fail too: none of them was acknowledged, so each caller gets
:class:`~flowruns.errors.DatabaseUnavailable` and may send its request again.

**Several processes on one file** each have a writer. Their groups take turns on an exclusive
``flock`` of a file beside the database (``flowruns.db-writer``), taken before ``BEGIN
IMMEDIATE`` and released after the commit: a process that waits for another's group is woken by
the kernel the moment it ends. SQLite's own lock would make it wait in SQLite's busy handler,
which polls, sleeping 1, 2, 5, 10, … up to 100 ms between tries, and so kept a server's writes
waiting for most of that after every short write of its notification delivery process. A
process that does not take the ``flock`` (a ``sqlite3`` shell, say) still takes its turn on
SQLite's lock, through the busy handler.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from sqlalchemy import Connection, Engine, RootTransaction
from sqlalchemy.engine import NestedTransaction

from flowruns.errors import DatabaseUnavailable

# A group commits when it holds this many writes, even with writes waiting to join it: bounds
# the wait of its first write under a load that never lets the queue drain.
GROUP_WRITES = 64


class _Group:
    """One write transaction, shared by the writes that ran in it until it ends."""

    def __init__(self, connection: Connection, transaction: RootTransaction) -> None:
        self.connection = connection
        self.transaction = transaction
        self.writes = 0
        self.ended = threading.Event()
        self.failure: BaseException | None = None

    def full(self) -> bool:
        return self.writes >= GROUP_WRITES

    def alive(self) -> bool:
        """Whether SQLite still holds the transaction open (it rolls back by itself on some
        errors)."""
        try:
            driver = self.connection.connection.dbapi_connection
            return bool(driver is not None and getattr(driver, "in_transaction", False))
        except Exception:  # a connection that cannot be asked cannot be trusted
            return False


class NestedWrite(RuntimeError):
    """A write transaction opened inside another of the same thread: it would wait for itself."""


class GroupWriter:
    """The one writer of a SQLite database in this process (see the module docstring)."""

    def __init__(self, engine: Engine, turns: Path | None = None) -> None:
        self._engine = engine
        # The file whose flock the writers of every process on the database take turns on.
        self._turns = None if turns is None else os.open(turns, os.O_RDWR | os.O_CREAT, 0o600)
        self._mutex = threading.Lock()
        self._busy = False
        self._holder: int | None = None
        self._queue: deque[threading.Event] = deque()
        self._group: _Group | None = None
        # Held from the first write on, so that one connection's page cache holds what writes
        # touch; dropped after a failed transaction and made again by the next write.
        self._connection: Connection | None = None

    @property
    def waiting(self) -> int:
        """How many writes wait for the writer now."""
        with self._mutex:
            return len(self._queue)

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """The writer's connection inside the current group's transaction, for one write.

        Returns after the group the write joined has committed; raises what the block raised
        (its own changes undone, the group's kept), or :class:`DatabaseUnavailable` when the
        group failed as a whole.
        """
        self._take()
        try:
            group = self._group or self._open()
            savepoint: NestedTransaction | None = None
            try:
                savepoint = group.connection.begin_nested()
                yield group.connection
                savepoint.commit()
            except BaseException as error:
                self._undo(group, savepoint, error)
                raise
            group.writes += 1
        finally:
            self._pass_on()
        group.ended.wait()
        if group.failure is not None:
            raise DatabaseUnavailable() from group.failure

    def _take(self) -> None:
        """Wait for the writer; writes get it in the order they asked."""
        me = threading.get_ident()
        with self._mutex:
            if self._holder == me:
                raise NestedWrite("a write transaction cannot be opened inside another")
            if not self._busy:
                self._busy, self._holder = True, me
                return
            turn = threading.Event()
            self._queue.append(turn)
        turn.wait()
        self._holder = me

    def _pass_on(self) -> None:
        """Commit the group unless another write is waiting to join it (and it is not full);
        then hand the writer to the next write in line, or free it."""
        try:
            with self._mutex:
                queued = bool(self._queue)
            group = self._group
            if group is not None and (not queued or group.full()):
                self._end(group, None)
        finally:
            with self._mutex:
                self._holder = None
                if self._queue:
                    self._queue.popleft().set()
                else:
                    self._busy = False

    def _open(self) -> _Group:
        if self._connection is None:
            self._connection = self._engine.connect().execution_options(flowruns_write=True)
        if self._turns is not None:
            fcntl.flock(self._turns, fcntl.LOCK_EX)
        try:
            transaction = self._connection.begin()
        except BaseException:
            self._end_turn()
            self._drop_connection()
            raise
        self._group = _Group(self._connection, transaction)
        return self._group

    def _end(self, group: _Group, failure: BaseException | None) -> None:
        """Commit the group (``failure`` None) or roll it back, then wake its writes."""
        self._group = None
        try:
            if failure is None:
                try:
                    group.transaction.commit()
                except BaseException as error:
                    failure = error
            if failure is not None:
                with suppress(Exception):  # already failed: the first error is the one told
                    group.transaction.rollback()
                self._drop_connection()
        finally:
            self._end_turn()
            group.failure = failure
            group.ended.set()

    def _end_turn(self) -> None:
        if self._turns is not None:
            fcntl.flock(self._turns, fcntl.LOCK_UN)

    def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with suppress(Exception):  # a connection that failed may fail to close too
                connection.close()

    def close(self) -> None:
        """Give the writer's connection back to the pool (no write may be under way)."""
        self._drop_connection()
        if self._turns is not None:
            os.close(self._turns)
            self._turns = None

    def _undo(
        self, group: _Group, savepoint: NestedTransaction | None, error: BaseException
    ) -> None:
        """Roll back one write; if that cannot be done alone, end the whole group with it."""
        try:
            if savepoint is not None and group.alive():
                savepoint.rollback()
                if group.alive():
                    return
        except Exception:  # the group is ended below
            pass
        self._end(group, error)
