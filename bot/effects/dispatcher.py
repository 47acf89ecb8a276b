"""The outbox dispatcher: carries out recorded effects after their transaction committed.

A goal's effects run in the order they were recorded where they build on each other: its thread
before the messages in it, its files before its commits, and its work (a draft, a build) after
everything recorded before it and before everything recorded after it. Its Slack messages and its
repository commits do not build on each other, so between two pieces of work they run side by side
in two "lanes": a goal's Slack lane and its repository lane (the PRD is posted while the approval
is committed). Different goals' lanes run at the same time, at most `max_lanes` lanes at once.
Effects of no goal share one lane. Each handler is idempotent by the effect's key, so a crash at any point and a
re-run after restart leaves exactly one message, mirror section and commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot.faults import fault_point
from bot.logging import log_context
from bot.services.unit import Clock
from bot.tracing import set_attributes, span
from storage import locks
from storage.db import read_session, transaction
from storage.models import Effect

log = logging.getLogger(__name__)

Handler = Callable[[Effect], Awaitable[None]]
MAX_ATTEMPTS = 6
# On PostgreSQL a running effect holds a pooled connection for its advisory lock and needs another
# for its transactions, and the pool (storage.db: 10 + 20 overflow) also serves the jobs and the
# listeners: more lanes than that would wait for connections inside the loop and stop it for good.
PG_MAX_LANES = 8
MAX_LANES = 32  # lanes running at once (up to two per goal): Slack calls overlap, git publishes batch up

# The streams of a goal's effects (see the module's docstring); any other kind is "work".
SLACK, REPO, WORK = "slack", "repo", "work"
LaneKey = tuple[str | None, str]  # (goal id, stream)


def stream(effect: Effect) -> str:
    """A Slack effect recorded with `after_repo` (a note that says the commits are made) runs in
    order with everything, like work."""
    if effect.kind.startswith(("slack.", "notify.")) and not effect.payload.get("after_repo"):
        return SLACK
    if effect.kind.startswith("repo."):
        return REPO
    return WORK


def split_lanes(goal_id: str | None, effects: list[Effect]) -> dict[LaneKey, list[Effect]]:
    """The lanes a goal can run now, given its due effects in id order (see the module's docstring).

    Work first in line: that work and the work right after it, in one lane. Otherwise the Slack
    and the repository effects up to the next work, each stream in its own lane.
    """
    if goal_id is None:
        return {(None, WORK): effects}
    if stream(effects[0]) == WORK:
        run: list[Effect] = []
        for effect in effects:
            if stream(effect) != WORK:
                break
            run.append(effect)
        return {(goal_id, WORK): run}
    lanes: dict[LaneKey, list[Effect]] = {}
    for effect in effects:
        kind = stream(effect)
        if kind == WORK:
            break
        lanes.setdefault((goal_id, kind), []).append(effect)
    return lanes


class RetryLater(Exception):
    """A handler asks to be run again later (for example the thread is not posted yet)."""


class WaitForPerson(RetryLater):
    """The effect cannot succeed until a person repairs what its handler reported (the repository
    is mid-merge, read-only, …): it is looked at again every `delay` seconds without using up its
    attempts, so nothing is lost however long the repair takes."""

    def __init__(self, message: str, *, delay: float) -> None:
        super().__init__(message)
        self.delay = delay


@dataclass
class EffectDispatcher:
    engine: Engine
    clock: Clock
    handlers: dict[str, Handler] = field(default_factory=dict)
    _wake: asyncio.Event | None = None
    _task: asyncio.Task[None] | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    idle: asyncio.Event | None = None
    max_lanes: int = MAX_LANES
    _lanes: dict[LaneKey, asyncio.Task[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.engine.dialect.name == "postgresql":
            self.max_lanes = min(self.max_lanes, PG_MAX_LANES)

    def register(self, kind: str, handler: Handler) -> None:
        self.handlers[kind] = handler

    # -- running -----------------------------------------------------------------------------

    def kick(self) -> None:
        """Wake the loop; safe to call from any thread."""
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self.idle = asyncio.Event()
        self._wake.set()
        self._task = asyncio.create_task(self._run(), name="orch-effects")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        lanes = list(self._lanes.values())
        for lane in lanes:
            lane.cancel()
        for lane in lanes:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await lane
        self._lanes.clear()

    async def _run(self) -> None:
        """Start every lane with due effects that is not running; wake up when a lane ends, an
        effect is recorded (kick) or a retry comes due."""
        assert self._wake is not None and self.idle is not None
        while True:
            self._wake.clear()
            self.idle.clear()
            try:
                started = self._start_lanes()
            except Exception:  # the loop must survive anything the database throws
                log.exception("effects loop failed; retrying")
                started = 0
            if not started and not self._lanes:
                self.idle.set()
            timeout = self._next_due_in()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=timeout)

    def _start_lanes(self) -> int:
        free = self.max_lanes - len(self._lanes)
        if free <= 0:
            return 0
        started = 0
        for key, effects in self._due_lanes(exclude=set(self._lanes)).items():
            if started >= free:
                break
            lane = asyncio.create_task(self._lane(effects), name=f"orch-effects-{key[0] or 'none'}-{key[1]}")
            self._lanes[key] = lane
            lane.add_done_callback(functools.partial(self._lane_done, key))
            started += 1
        return started

    def _lane_done(self, key: LaneKey, task: asyncio.Task[int]) -> None:
        if self._lanes.get(key) is task:
            del self._lanes[key]
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("effects of %s failed; retrying", key[0] or "no goal", exc_info=exc)
        if self._wake is not None:
            self._wake.set()

    def _due_lanes(self, exclude: set[LaneKey], limit: int = 500) -> dict[LaneKey, list[Effect]]:
        """The lanes that can start now (those in `exclude` left out), from the due pending effects,
        oldest first. A running lane's effects are still pending, so they hold back what follows."""
        now = self.clock()
        query = (
            select(Effect)
            .where(Effect.status == "pending")
            .where((col(Effect.not_before).is_(None)) | (col(Effect.not_before) <= now))
        )
        with read_session(self.engine) as session:
            pending = list(session.exec(query.order_by(col(Effect.id)).limit(limit)).all())
        goals: dict[str | None, list[Effect]] = {}
        for effect in pending:
            goals.setdefault(effect.goal_id, []).append(effect)
        lanes: dict[LaneKey, list[Effect]] = {}
        for goal_id, effects in goals.items():
            for key, run in split_lanes(goal_id, effects).items():
                if key not in exclude:
                    lanes[key] = run
        return lanes

    async def _lane(self, effects: list[Effect]) -> int:
        """Run one lane's effects in order; stop at the first that waits (its later ones wait too)."""
        ran = 0
        for effect in effects:
            ok = await self._run_again_if_cancelled_inside(effect)
            if ok is None:  # another replica is running it; it keeps the goal's order from there
                if effect.goal_id is None:
                    continue
                break
            ran += 1
            if not ok and effect.goal_id is not None:
                break
        return ran

    async def _run_again_if_cancelled_inside(self, effect: Effect) -> bool | None:
        while True:
            try:
                return await self.run_one(effect)
            except asyncio.CancelledError:
                # A task the handler awaited was cancelled, not this lane (stop() cancels the lane,
                # which then shows in cancelling()). The bench once saw a scaffold draft's job
                # cancelled by the worker's heartbeat right after it had succeeded. The effect is
                # still pending, so run it again at once.
                current = asyncio.current_task()
                if current is None or current.cancelling():
                    raise
                log.warning("an effect was cancelled from inside its handler; running it again")

    def _next_due_in(self) -> float:
        with read_session(self.engine) as session:
            due = session.exec(
                select(Effect.not_before)
                .where(Effect.status == "pending", col(Effect.not_before).is_not(None))
                .order_by(col(Effect.not_before))
            ).first()
        if due is None:
            return 30.0
        return max(0.05, min(30.0, (due - self.clock()).total_seconds()))

    async def run_pending(self, limit: int = 100) -> int:
        """Run the effects that are due now (each lane in order, lanes side by side); return how
        many ran. Used by drain(), the CLI and tests; the server's loop starts lanes as they come."""
        lanes = self._due_lanes(exclude=set(self._lanes), limit=limit)
        gate = asyncio.Semaphore(self.max_lanes)

        async def bounded(effects: list[Effect]) -> int:
            async with gate:
                return await self._lane(effects)

        results = await asyncio.gather(*(bounded(e) for e in lanes.values()), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return sum(r for r in results if isinstance(r, int))

    async def run_one(self, effect: Effect) -> bool | None:
        """Run one effect; None when it is not ours to run (done meanwhile, or another replica has it)."""
        # Replicas share the outbox on PostgreSQL: an effect runs only under its advisory lock.
        # The database writes run in threads: on SQLite each waits for the write lock, and lanes
        # of other goals go on meanwhile instead of the whole loop waiting.
        # The lock's connection is taken and given back in threads (`claim_async`): never on the loop.
        async with locks.claim_async(self.engine, locks.EFFECTS, int(effect.id or 0)) as mine:
            if not mine:
                return None
            handler = self.handlers.get(effect.kind)
            if handler is None:
                await asyncio.to_thread(self._finish, effect, "failed", f"no handler for {effect.kind}")
                return False
            # Count the attempt before running it: a handler that sees attempts > 1 knows an earlier
            # attempt may have got half-way (crash after a Slack post) and checks before acting again.
            attempts = await asyncio.to_thread(self._begin, effect)
            if attempts is None:  # done meanwhile (by another process, or an earlier lane)
                return None
            effect.attempts = attempts
            return await self._run_one(effect, handler)

    async def _run_one(self, effect: Effect, handler: Handler) -> bool:
        # A span per effect, and the goal id on every line logged while it runs.
        with (
            span(
                f"effect {effect.kind}",
                **{
                    "orch.effect.key": effect.key,
                    "orch.effect.attempt": effect.attempts,
                    "orch.goal_id": effect.goal_id,
                },
            ) as current,
            log_context(goal_id=effect.goal_id),
        ):
            try:
                await handler(effect)
            except RetryLater as exc:
                set_attributes(current, **{"orch.effect.outcome": "retry_later"})
                wait = exc.delay if isinstance(exc, WaitForPerson) else None
                await asyncio.to_thread(self._retry, effect, str(exc), wait)
                return False
            except Exception as exc:
                set_attributes(current, **{"orch.effect.outcome": "error"})
                log.exception("effect %s (%s) failed", effect.key, effect.kind)
                await asyncio.to_thread(self._retry, effect, f"{type(exc).__name__}: {exc}")
                return False
            fault_point("before_effect_done")
            await asyncio.to_thread(self._finish, effect, "done", None)
            set_attributes(current, **{"orch.effect.outcome": "done"})
            log.debug("effect %s (%s) done", effect.key, effect.kind)
            return True

    def _begin(self, effect: Effect) -> int | None:
        """Count an attempt of a pending effect; None when it is no longer pending."""
        with transaction(self.engine) as session:
            row = session.get(Effect, effect.id)
            if row is None:
                return effect.attempts + 1
            if row.status != "pending":
                return None
            row.attempts += 1
            session.add(row)
            return row.attempts

    def _finish(self, effect: Effect, status: str, error: str | None) -> None:
        with transaction(self.engine) as session:
            row = session.get(Effect, effect.id)
            if row is None:
                return
            row.status = status
            row.last_error = error
            row.done_at = self.clock()
            session.add(row)

    def _retry(self, effect: Effect, error: str, wait: float | None = None) -> None:
        from bot.redact import redact

        with transaction(self.engine) as session:
            row = session.get(Effect, effect.id)
            if row is None:
                return
            row.last_error = redact(error)[:2000]
            if wait is not None:  # WaitForPerson: this attempt does not count
                row.attempts = max(0, row.attempts - 1)
                row.not_before = self.clock() + timedelta(seconds=wait)
            elif row.attempts >= MAX_ATTEMPTS:
                row.status = "failed"
            else:
                row.not_before = self.clock() + timedelta(seconds=min(60, 0.5 * 2**row.attempts))
            session.add(row)

    async def drain(self, timeout: float = 30.0) -> None:
        """Run effects until none is due (tests and the CLI)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if await self.run_pending():
                continue
            # Nothing left for us to start; lanes the server's loop runs may still be at work, and
            # effects they add become due after them.
            if not self._lanes and not self._due_lanes(exclude=set(), limit=1):
                return
            await asyncio.sleep(0.01)
        raise TimeoutError("effects still pending after drain timeout")
