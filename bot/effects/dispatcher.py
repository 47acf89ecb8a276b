"""The outbox dispatcher: carries out recorded effects after their transaction committed.

Effects run in the order they were recorded. Each handler is idempotent by the effect's key, so a
crash at any point and a re-run after restart leaves exactly one message, mirror section and commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.faults import fault_point
from bot.logging import log_context
from bot.services.unit import Clock
from bot.tracing import set_attributes, span
from storage import locks
from storage.db import transaction
from storage.models import Effect

log = logging.getLogger(__name__)

Handler = Callable[[Effect], Awaitable[None]]
MAX_ATTEMPTS = 6


class RetryLater(Exception):
    """A handler asks to be run again later (for example the thread is not posted yet)."""


@dataclass
class EffectDispatcher:
    engine: Engine
    clock: Clock
    handlers: dict[str, Handler] = field(default_factory=dict)
    _wake: asyncio.Event | None = None
    _task: asyncio.Task[None] | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    idle: asyncio.Event | None = None

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

    async def _run(self) -> None:
        assert self._wake is not None and self.idle is not None
        while True:
            self._wake.clear()
            self.idle.clear()
            try:
                ran = await self.run_pending()
            except asyncio.CancelledError:
                # A task a handler awaited was cancelled, not this loop (stop() cancels this task,
                # which then shows in cancelling()). Left alone it ended the outbox for good: the bench
                # saw a scaffold draft's job cancelled by the worker's heartbeat right after it had
                # succeeded. The effect is still pending, so run it again at once.
                current = asyncio.current_task()
                if current is None or current.cancelling():
                    raise
                log.warning("an effect was cancelled from inside its handler; running it again")
                ran = 1
            except Exception:  # the loop must survive anything a handler or the database throws
                log.exception("effects loop failed; retrying")
                ran = 0
            if ran:
                continue
            self.idle.set()
            timeout = self._next_due_in()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=timeout)

    def _next_due_in(self) -> float:
        with Session(self.engine) as session:
            due = session.exec(
                select(Effect.not_before)
                .where(Effect.status == "pending", col(Effect.not_before).is_not(None))
                .order_by(col(Effect.not_before))
            ).first()
        if due is None:
            return 30.0
        return max(0.05, min(30.0, (due - self.clock()).total_seconds()))

    async def run_pending(self, limit: int = 100) -> int:
        """Run the effects that are due now, oldest first; return how many ran."""
        now = self.clock()
        with Session(self.engine) as session:
            pending = list(
                session.exec(
                    select(Effect)
                    .where(Effect.status == "pending")
                    .where((col(Effect.not_before).is_(None)) | (col(Effect.not_before) <= now))
                    .order_by(col(Effect.id))
                    .limit(limit)
                ).all()
            )
        blocked_goals: set[str | None] = set()
        ran = 0
        for effect in pending:
            # Keep each goal's effects in order: once one waits, the later ones of that goal wait too.
            if effect.goal_id is not None and effect.goal_id in blocked_goals:
                continue
            ok = await self.run_one(effect)
            if ok is None:  # another replica is running it; it keeps the goal's order from there
                blocked_goals.add(effect.goal_id)
                continue
            ran += 1
            if not ok:
                blocked_goals.add(effect.goal_id)
        return ran

    async def run_one(self, effect: Effect) -> bool | None:
        """Run one effect; None when it is not ours to run (done meanwhile, or another replica has it)."""
        # Replicas share the outbox on PostgreSQL: an effect runs only under its advisory lock.
        with locks.claim(self.engine, locks.EFFECTS, int(effect.id or 0)) as mine:
            if not mine or not self._still_pending(effect):
                return None
            return await self._run_one(effect)

    def _still_pending(self, effect: Effect) -> bool:
        with Session(self.engine) as session:
            row = session.get(Effect, effect.id)
            return row is None or row.status == "pending"

    async def _run_one(self, effect: Effect) -> bool:
        handler = self.handlers.get(effect.kind)
        if handler is None:
            self._finish(effect, "failed", f"no handler for {effect.kind}")
            return False
        # Count the attempt before running it: a handler that sees attempts > 1 knows an earlier
        # attempt may have got half-way (crash after a Slack post) and checks before acting again.
        effect.attempts = self._begin(effect)
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
                self._retry(effect, str(exc))
                return False
            except Exception as exc:
                set_attributes(current, **{"orch.effect.outcome": "error"})
                log.exception("effect %s (%s) failed", effect.key, effect.kind)
                self._retry(effect, f"{type(exc).__name__}: {exc}")
                return False
            fault_point("before_effect_done")
            self._finish(effect, "done", None)
            set_attributes(current, **{"orch.effect.outcome": "done"})
            log.debug("effect %s (%s) done", effect.key, effect.kind)
            return True

    def _begin(self, effect: Effect) -> int:
        with transaction(self.engine) as session:
            row = session.get(Effect, effect.id)
            if row is None:
                return effect.attempts + 1
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

    def _retry(self, effect: Effect, error: str) -> None:
        from bot.redact import redact

        with transaction(self.engine) as session:
            row = session.get(Effect, effect.id)
            if row is None:
                return
            row.last_error = redact(error)[:2000]
            if row.attempts >= MAX_ATTEMPTS:
                row.status = "failed"
            else:
                row.not_before = self.clock() + timedelta(seconds=min(60, 0.5 * 2**row.attempts))
            session.add(row)

    async def drain(self, timeout: float = 30.0) -> None:
        """Run effects until none is due (tests and the CLI)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if not await self.run_pending():
                return
        raise TimeoutError("effects still pending after drain timeout")
