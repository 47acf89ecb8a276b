"""One writer per SQLite database: units of work take turns on one connection and commit in batches.

SQLite lets one connection write at a time. When every thread opened its own `BEGIN IMMEDIATE`,
the threads that lost the race slept in SQLite's busy handler (in steps of up to 100 ms) while
the lock was free again long before they woke: a convoy in which trivial transactions were held
70–130 ms (docs/BENCHMARKS.md). Here a process has one writer per database file. A unit of work
(one `storage.db.transaction` block, or one `write_connection` block) queues for the writer's
connection, and the connection is handed from one unit to the next in arrival order, without a
sleep. The first unit of a batch begins the transaction (`BEGIN IMMEDIATE`); each unit runs in a
`SAVEPOINT` of its own, so a unit that raises is rolled back alone and its caller gets its error
while the others go on; the unit that finds nobody waiting behind it (or the batch full) commits,
and one commit serves every unit of the batch.

What callers see does not change: the block runs in the caller's thread with the caller's
context, its session is an ordinary one, and `transaction` returns only once the batch holding
the unit has committed, so nobody is told "done" before it is durable; the units of a batch
return in the order they ran, as they would have committed one by one. When the commit fails,
every unit of that batch gets the error (none of them is stored), as a failed commit did before.

Reads do not queue here: they run on other pooled connections (`storage.db.read_session`), on
the last committed state, as WAL allows.

The rule a unit must keep is the rule a transaction always had: wait on nothing but the database
inside it (no network call, no git, no other thread). Units behind it wait as long as it holds the
connection.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from sqlalchemy.engine import Connection, Engine, RootTransaction, make_url
from sqlalchemy.exc import OperationalError

log = logging.getLogger(__name__)

MAX_UNITS = 64  # units of work per batch at most
MAX_BATCH_SECONDS = 0.005  # a batch open this long commits after the unit that runs now
WAIT_SECONDS = 30.0  # as SQLite's busy_timeout: how long a unit waits for its turn before failing
ORDERED_RETURN_SECONDS = 1.0  # how long the committing unit waits for each earlier one to go on


class _Batch:
    __slots__ = ("conn", "error", "started", "tx", "units", "waiting")

    def __init__(self, conn: Connection, tx: RootTransaction) -> None:
        self.conn = conn
        self.tx = tx
        self.error: BaseException | None = None
        self.started = time.monotonic()
        self.units = 0
        # The units waiting for the commit, in the order they ran: (woken, gone) events each.
        self.waiting: list[tuple[threading.Event, threading.Event]] = []


class Writer:
    """The one writer of a SQLite database in this process (see the module's docstring)."""

    def __init__(
        self,
        engine: Engine,
        *,
        max_units: int = MAX_UNITS,
        max_seconds: float = MAX_BATCH_SECONDS,
        wait: float = WAIT_SECONDS,
    ) -> None:
        self.engine = engine
        self.max_units = max_units
        self.max_seconds = max_seconds
        self.wait = wait
        self._lock = threading.Lock()
        self._turns: deque[threading.Event] = deque()  # units waiting for the connection, in order
        self._busy = False
        self._owner: int | None = None  # the thread whose unit has the connection
        self._batch: _Batch | None = None
        # Counters for the bench and `orch doctor`-style inspection.
        self.batches = 0
        self.units = 0

    @contextmanager
    def unit(self) -> Iterator[Connection]:
        """The writer's connection, inside the open batch's transaction, for one unit of work.

        The caller opens its own savepoint on it (a Session with `create_savepoint`, or
        `begin_nested`), so that a failure rolls back this unit alone. On leaving, the unit waits
        until its batch is committed, and raises the commit's error if that failed.
        """
        self._take_turn()
        try:
            batch = self._batch if self._batch is not None else self._open()
        except BaseException:
            self._pass_turn()
            raise
        try:
            yield batch.conn
        except BaseException:
            self._leave(batch, wait=False)
            raise
        self._leave(batch, wait=True)

    # -- the turn ----------------------------------------------------------------------------------

    def _take_turn(self) -> None:
        me = threading.get_ident()
        with self._lock:
            if not self._busy:
                self._busy, self._owner = True, me
                return
            if self._owner == me:
                raise RuntimeError(
                    "a write transaction was opened inside another one on the same database and thread"
                )
            turn = threading.Event()
            self._turns.append(turn)
        if not turn.wait(self.wait):
            with self._lock:
                try:
                    self._turns.remove(turn)
                except ValueError:
                    pass  # handed to us as we gave up: it is ours
                else:
                    raise OperationalError(
                        "BEGIN IMMEDIATE",
                        None,
                        sqlite3.OperationalError(
                            f"database is locked (waited {self.wait:.0f} s for the writer)"
                        ),
                    )
        with self._lock:
            self._owner = me

    def _pass_turn(self) -> None:
        """Hand the connection to the next unit in line, or leave it free."""
        with self._lock:
            self._owner = None
            if self._turns:
                self._turns.popleft().set()  # still busy: it is the next unit's now
            else:
                self._busy = False

    # -- the batch ---------------------------------------------------------------------------------

    def _open(self) -> _Batch:
        # A connection from the pool per batch, given back after it: what the pool's checkout hooks
        # set on a connection (a test's simulated full disk, say) holds for the next batch too.
        conn = self.engine.connect()
        try:
            tx = conn.begin()  # BEGIN IMMEDIATE (storage.db's hook)
        except BaseException:
            conn.close()
            raise
        self._batch = batch = _Batch(conn, tx)
        return batch

    def _leave(self, batch: _Batch, *, wait: bool) -> None:
        batch.units += 1
        lost = not _in_transaction(batch.conn)  # SQLite rolled it all back (disk full, I/O error)
        with self._lock:
            others = bool(self._turns)
        if (
            lost
            or not others
            or batch.units >= self.max_units
            or time.monotonic() - batch.started >= self.max_seconds
        ):
            self._batch = None
            self._commit(batch, lost=lost)
            self._pass_turn()
            # The units of the batch return in the order they ran, the committing one last: a
            # caller that began its write first still goes on first, as when each unit committed
            # on its own (the outbox's lanes start in that order, for one).
            for woken, gone in batch.waiting:
                woken.set()
                gone.wait(ORDERED_RETURN_SECONDS)
        elif wait:
            woken, gone = threading.Event(), threading.Event()
            batch.waiting.append((woken, gone))
            self._pass_turn()
            woken.wait()
            gone.set()
        else:
            self._pass_turn()
        if wait and batch.error is not None:
            cause = getattr(batch.error, "orig", None) or batch.error  # the driver's own error
            raise OperationalError("COMMIT", None, cause) from batch.error

    def _commit(self, batch: _Batch, *, lost: bool) -> None:
        try:
            if lost:
                raise sqlite3.OperationalError("the transaction was rolled back by the database")
            batch.tx.commit()
        except BaseException as exc:
            batch.error = exc
            log.warning("a batch of %d units of work was not committed: %s", batch.units, exc)
            with suppress(Exception):
                batch.tx.rollback()
        finally:
            with suppress(Exception):
                batch.conn.close()  # back to the pool until the next batch
            self.batches += 1
            self.units += batch.units


def _in_transaction(conn: Connection) -> bool:
    try:
        driver: Any = conn.connection.driver_connection
        return bool(driver.in_transaction)
    except Exception:  # an invalidated connection
        return False


_ATTRIBUTE = "_orch_writer"
_writers_lock = threading.Lock()


def writer_for(engine: Engine) -> Writer | None:
    """This process's writer of `engine`'s database: for a SQLite file; None for PostgreSQL (whose
    row locks let writers run side by side) and for an in-memory SQLite database.

    The writer is kept on the engine: it lives as long as the engine does."""
    try:
        return engine.__dict__[_ATTRIBUTE]  # type: ignore[no-any-return]
    except KeyError:
        pass
    url = make_url(engine.url)
    single = url.get_backend_name() == "sqlite" and bool(url.database) and url.database != ":memory:"
    with _writers_lock:
        if _ATTRIBUTE not in engine.__dict__:
            engine.__dict__[_ATTRIBUTE] = Writer(engine) if single else None
        return engine.__dict__[_ATTRIBUTE]  # type: ignore[no-any-return]
