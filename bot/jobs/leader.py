"""Leader election: exactly one process runs the scheduler.

APScheduler 3 cannot share its job store between processes (two schedulers run every job
twice), so the scheduler runs only in the process that holds a lock:

- SQLite (one machine): an exclusive `fcntl` lock on a file next to the database. The kernel
  drops it when the process dies, however it dies.
- PostgreSQL (replicas): a session-level `pg_try_advisory_lock` on a connection kept open for as
  long as the process leads. When the process dies its session ends and PostgreSQL releases the
  lock; a follower polling every `leader_poll_seconds` takes over.

The lock key is derived from the database schema, so separate deployments (or test schemas) on
one PostgreSQL server do not contend. Both locks, and their SQL, live in `storage.locks`
(`scheduler_lock`); this module only decides what holding one means.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot.services.unit import Clock
from storage.db import transaction
from storage.locks import scheduler_lock
from storage.repositories.leases import Leases
from storage.sessions import DatabaseError, Engine

log = logging.getLogger(__name__)

LEASE_NAME = "scheduler"


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
        self._lock = scheduler_lock(self.engine)
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
        except DatabaseError:
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
