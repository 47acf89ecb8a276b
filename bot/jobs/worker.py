"""The job worker: claims queued jobs, runs at most N at once, heartbeats them, retries failures.

One worker runs in each bot process (in the server's event loop). Workers in other processes
share the jobs table: the claim is atomic, so a job runs in one place at a time. A worker that
dies stops heartbeating; any worker re-queues its jobs once the lease has run out.

Test hook: `ORCH_JOB_HOLD=draft` parks every claimed "draft" job after its handler has finished
and before it is marked succeeded (`draft:before` parks it before the handler runs; `draft/prd`
only the PRD's drafts), while the heartbeat goes on. Crash tests kill the process there with SIGKILL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from bot.jobs import queue
from bot.jobs.config import JobsConfig
from bot.jobs.queue import Claimed
from bot.observability.logging import log_context
from bot.observability.tracing import set_attributes, span
from bot.services.unit import Clock
from storage import wakeups
from storage.db import from_loop

log = logging.getLogger(__name__)

JobHandler = Callable[[Claimed], Awaitable[None]]
HOLD_ENV = "ORCH_JOB_HOLD"


def _held(job: Claimed, where: str) -> bool:
    """`draft`, `draft:before`, `draft/prd`, `draft/prd:before`: which jobs park, and where."""
    wanted = {part.strip() for part in os.environ.get(HOLD_ENV, "").split(",") if part.strip()}
    names = {job.kind, f"{job.kind}/{job.phase}"}
    return any(f"{name}:{where}" in wanted or (where == "after" and name in wanted) for name in names)


@dataclass
class JobWorker:
    engine: Engine
    clock: Clock
    handlers: dict[str, JobHandler]
    config: JobsConfig
    max_parallel: int
    name: str
    on_done: list[Callable[[], None]] = field(default_factory=list)
    _tasks: dict[str, tuple[asyncio.Task[None], Claimed]] = field(default_factory=dict)
    # Run ids whose handler has returned (or raised) and whose outcome is being recorded: the
    # heartbeat no longer sees them as running once `succeeded` is committed, and must leave them be.
    _finishing: set[str] = field(default_factory=set)
    _wake: asyncio.Event | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _main: asyncio.Task[None] | None = None
    _listener: asyncio.Task[None] | None = None  # PostgreSQL: LISTENs for jobs queued elsewhere
    listening: bool = False  # that LISTEN connection is up (observability and tests)
    _stopping: bool = False
    peak: int = 0  # the most jobs this worker has run at once (observability and tests)
    loops: int = 0  # passes of the claim loop so far

    @property
    def running(self) -> bool:
        return self._main is not None and not self._main.done()

    @property
    def active(self) -> int:
        return len(self._tasks)

    def kick(self) -> None:
        """Look for work now; safe from any thread."""
        if self._loop is not None and self._wake is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._wake.set)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._stopping = False
        self._main = asyncio.create_task(self._run(), name=f"orch-jobs-{self.name}")
        if self.engine.dialect.name == "postgresql":
            # A job queued by another process (its NOTIFY) is claimed at once, not at the next poll.
            self._listener = asyncio.create_task(
                wakeups.listen(self.engine.url, wakeups.JOBS, self._wake.set, up=self._listening),
                name=f"orch-jobs-listen-{self.name}",
            )

    def _listening(self, up: bool) -> None:
        self.listening = up

    async def stop(self, grace: float = 0.0) -> None:
        """Stop claiming; give the running jobs up to `grace` seconds to finish, then cancel the rest
        and give them back to the queue (another worker, or this one after a restart, runs them)."""
        self._stopping = True
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        if self._main is not None:
            # Ask the loop to end rather than only cancelling it: on Python 3.11 `wait_for` can swallow
            # a cancel that lands as its awaited event is set, and the loop would go on forever.
            if self._wake is not None:
                self._wake.set()
            try:
                await asyncio.wait_for(asyncio.shield(self._main), timeout=5)
            except (TimeoutError, asyncio.CancelledError):
                self._main.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._main
            self._main = None
        if grace > 0 and self._tasks:
            await self._let_finish(grace)
        tasks = list(self._tasks.values())
        for task, _job in tasks:
            task.cancel()
        for task, _job in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _let_finish(self, grace: float) -> None:
        """Wait for the running jobs, heartbeating them meanwhile: a job that outlives the lease
        while this process is stopping must not be taken for dead and run a second time elsewhere."""
        log.info("waiting up to %.0f s for %d running job(s) to finish", grace, len(self._tasks))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while self._tasks and (left := deadline - loop.time()) > 0:
            running = [task for task, _job in self._tasks.values()]
            await asyncio.wait(running, timeout=min(left, self.config.heartbeat_seconds))
            try:
                await self._beat(write=True)
            except Exception:  # a database hiccup: the lease is long enough to try again
                log.exception("heartbeat while stopping failed")

    # -- the loop ----------------------------------------------------------------------------

    async def _run(self) -> None:
        assert self._wake is not None
        loop = asyncio.get_running_loop()
        next_beat = next_requeue = loop.time()
        while not self._stopping:
            self._wake.clear()
            self.loops += 1
            try:
                if loop.time() >= next_requeue:
                    await asyncio.to_thread(self.requeue_expired)
                    next_requeue = loop.time() + max(0.05, self.config.lease_seconds / 2)
                await self._claim_and_start()
                # Look on every wake-up, not only on time: a kick after a goal was cancelled then
                # stops its running job at once. Only the heartbeat proper writes, and on time.
                beat = loop.time() >= next_beat
                await self._beat(write=beat)
                if beat:
                    next_beat = loop.time() + self.config.heartbeat_seconds
            except Exception:  # the loop must survive a database hiccup
                log.exception("job worker loop failed; retrying")
            timeout = max(
                0.01, min(self.config.poll_seconds, next_beat - loop.time(), next_requeue - loop.time())
            )
            if self._stopping:
                break
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._wake.wait()

    def requeue_expired(self) -> list[int]:
        return queue.requeue_expired(
            self.engine, now=self.clock(), lease=self.config.lease_seconds, backoff=self.config.backoff
        )

    async def _claim_and_start(self) -> None:
        free = self.max_parallel - len(self._tasks)
        if free <= 0 or self._stopping:
            return
        claimed = await from_loop(self.engine, self._claim, free)
        for job in claimed:
            self._spawn(job)

    def _claim(self, limit: int) -> list[Claimed]:
        # Most wake-ups find nothing queued (a job ended, an effect was recorded): look first with a
        # read, since on SQLite the claim's transaction takes the write lock even when it finds nothing.
        kinds = list(self.handlers)
        now = self.clock()
        if not queue.any_due(self.engine, now=now, kinds=kinds):
            return []
        return queue.claim(
            self.engine,
            now=now,
            worker=self.name,
            limit=limit,
            kinds=kinds,
            max_attempts=self.config.max_attempts,
        )

    def _spawn(self, job: Claimed) -> asyncio.Task[None]:
        task = asyncio.create_task(self._execute(job), name=f"orch-job-{job.id}")
        self._tasks[job.run_id] = (task, job)
        self.peak = max(self.peak, len(self._tasks))
        return task

    async def _beat(self, *, write: bool = True) -> None:
        """Heartbeat the running attempts (or, with `write=False`, only look at them); stop the ones
        that were cancelled or taken away."""
        if not self._tasks:
            return
        # Only the attempts asked about can be judged: a job spawned while the heartbeat ran is not
        # in its answer, and is not lost for that.
        asked = list(self._tasks)
        if write:
            alive = await asyncio.to_thread(queue.heartbeat, self.engine, run_ids=asked, now=self.clock())
        else:
            alive = await asyncio.to_thread(queue.still_running, self.engine, run_ids=asked)
        for run_id in asked:
            if run_id in alive or run_id not in self._tasks or run_id in self._finishing:
                continue
            task, job = self._tasks[run_id]
            if task.done():
                continue
            log.info("job %s (%s) is no longer ours (cancelled or re-queued); stopping it", job.id, job.kind)
            task.cancel()

    # -- one job -----------------------------------------------------------------------------

    async def _execute(self, job: Claimed) -> None:
        try:
            await self.run_claimed(job)
        finally:
            self._tasks.pop(job.run_id, None)
            self.kick()
            for callback in self.on_done:
                callback()

    async def run_claimed(self, job: Claimed) -> str:
        """Run one claimed job to its end; returns the status it ended in (also used inline by the CLI).

        A span per job, as the outbox has one per effect, and the goal id on every line logged."""
        attributes = {"orch.job.key": job.key, "orch.job.attempt": job.attempts, "orch.goal_id": job.goal_id}
        with span(f"job {job.kind}", **attributes) as current, log_context(goal_id=job.goal_id):
            try:
                status = await self._run_claimed(job)
                set_attributes(current, **{"orch.job.outcome": status})
                return status
            finally:
                self._finishing.discard(job.run_id)

    async def _run_claimed(self, job: Claimed) -> str:
        handler = self.handlers[job.kind]
        try:
            if _held(job, "before"):
                await asyncio.Event().wait()
            await handler(job)
            if _held(job, "after"):
                await asyncio.Event().wait()
        except asyncio.CancelledError:
            if self._stopping:
                await asyncio.shield(asyncio.to_thread(queue.release, self.engine, job, now=self.clock()))
            return "cancelled"
        except Exception as exc:  # the edge of a job: record it, retry or report it in the thread
            log.exception("job %s (%s) attempt %s failed", job.id, job.kind, job.attempts)
            self._finishing.add(job.run_id)
            status = await from_loop(
                self.engine,
                queue.fail,
                self.engine,
                job,
                now=self.clock(),
                error=f"{type(exc).__name__}: {exc}",
                backoff=self.config.backoff(job.attempts),
            )
            return status or "lost"
        # From here on the attempt is over: a heartbeat that no longer finds it running (because
        # `succeeded` was just committed) must not cancel the task that is recording it.
        self._finishing.add(job.run_id)
        done = await from_loop(self.engine, queue.succeed, self.engine, job, now=self.clock())
        return "succeeded" if done else "lost"
