"""Leader election: exactly one process runs the scheduler.

APScheduler 3 cannot share its job store between processes (two schedulers run every job
twice), so the scheduler runs only in the process that holds a lock:

- SQLite (one machine): an exclusive `fcntl` lock on a file next to the database. The kernel
  drops it when the process dies, however it dies.
- PostgreSQL (replicas): a session-level `pg_try_advisory_lock` on a connection kept open for as
  long as the process leads. When the process dies its session ends and PostgreSQL releases the
  lock; a follower polling every `leader_poll_seconds` takes over.

The lock key is derived from the database schema (storage.locks), so separate deployments (or
test schemas) on one PostgreSQL server do not contend.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.services.unit import Clock
from storage.db import is_sqlite, transaction
from storage.locks import SCHEDULER, lock_namespace
from storage.repositories.leases import Leases

log = logging.getLogger(__name__)

LEASE_NAME = "scheduler"


class _FileLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[str] | None = None

    def try_acquire(self) -> bool:
        import fcntl

        if self._handle is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._handle = handle
        return True

    def still_held(self) -> bool:
        return self._handle is not None

    def release(self) -> None:
        import fcntl

        if self._handle is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


class _AdvisoryLock:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._conn: Connection | None = None

    def try_acquire(self) -> bool:
        if self._conn is not None:
            return True
        ns = lock_namespace(self.engine, SCHEDULER)
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:ns, 0)"), {"ns": ns}).scalar_one())
        except SQLAlchemyError:
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def still_held(self) -> bool:
        """The lock lives as long as its session: check the session is still there."""
        if self._conn is None:
            return False
        try:
            self._conn.execute(text("SELECT 1"))
            return True
        except SQLAlchemyError:
            self._drop()
            return False

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(SQLAlchemyError):
                self._conn.invalidate()
                self._conn.close()
            self._conn = None

    def release(self) -> None:
        if self._conn is None:
            return
        with contextlib.suppress(SQLAlchemyError):
            self._conn.execute(
                text("SELECT pg_advisory_unlock(:ns, 0)"), {"ns": lock_namespace(self.engine, SCHEDULER)}
            )
            self._conn.close()
        self._conn = None


class _AlwaysLeader:
    """An in-memory SQLite database lives in one process: that process leads."""

    def try_acquire(self) -> bool:
        return True

    def still_held(self) -> bool:
        return True

    def release(self) -> None:
        return None


def make_lock(engine: Engine) -> Any:
    if not is_sqlite(engine):
        return _AdvisoryLock(engine)
    database = make_url(str(engine.url)).database
    if not database or database == ":memory:":
        return _AlwaysLeader()
    return _FileLock(Path(database).with_name(Path(database).name + ".scheduler.lock"))


@dataclass
class LeaderElector:
    """Polls for the lock; calls `on_elected` when it gets it and `on_lost` when it loses it."""

    engine: Engine
    clock: Clock
    poll_seconds: float
    on_elected: Callable[[], Awaitable[None]]
    on_lost: Callable[[], Awaitable[None]]
    name: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    is_leader: bool = False
    _lock: Any = None
    _task: asyncio.Task[None] | None = None
    _wake: asyncio.Event | None = None

    async def start(self) -> None:
        self._lock = make_lock(self.engine)
        self._wake = asyncio.Event()
        await self._step()
        self._task = asyncio.create_task(self._run(), name="orch-leader")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.is_leader:
            self.is_leader = False
            await self.on_lost()
        if self._lock is not None:
            await asyncio.to_thread(self._lock.release)

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_seconds):
                    await self._wake.wait()
            try:
                await self._step()
            except Exception:  # a database outage must not end the election loop
                log.exception("leader election step failed")

    async def _step(self) -> None:
        if self.is_leader:
            if await asyncio.to_thread(self._lock.still_held):
                await asyncio.to_thread(self._record, False)
                return
            log.warning("lost the scheduler lock; stopping the scheduler here")
            self.is_leader = False
            await self.on_lost()
            return
        try:
            got = await asyncio.to_thread(self._lock.try_acquire)
        except SQLAlchemyError:
            log.warning("could not reach the database to take the scheduler lock; will retry")
            return
        if not got:
            return
        try:
            await asyncio.to_thread(self._record, True)
            await self.on_elected()
        except Exception:  # holding the lock without a scheduler would stop everyone: let go, retry
            log.exception("could not start the scheduler; releasing the lock")
            await asyncio.to_thread(self._lock.release)
            return
        # Only now: "leader" means the scheduler runs here.
        self.is_leader = True
        log.info("%s now runs the scheduler", self.name)

    def _record(self, elected: bool) -> None:
        """Make the holder visible in `orch_leader` (elections are logged, not audited: they change no goal)."""
        now = self.clock()
        with transaction(self.engine) as session:
            Leases(session).record(
                name=LEASE_NAME,
                holder=self.name,
                pid=os.getpid(),
                host=socket.gethostname(),
                elected=elected,
                now=now,
            )


def record_tick(engine: Engine, now: Any) -> None:
    """The leader's scheduler ran a job: note it, so operators (and tests) see it is alive."""
    with transaction(engine) as session:
        Leases(session).tick(name=LEASE_NAME, now=now)
