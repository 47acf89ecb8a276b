"""The outbox dispatcher: carries out recorded effects after their transaction committed.

A goal's effects run in the order they were recorded where they build on each other: its thread
before the messages in it, its files before its commits. Its Slack messages and its repository
commits do not build on each other, so they run side by side in two "lanes": a goal's Slack lane
and its repository lane (the PRD is posted while the approval is committed; a new goal's card is
posted while its "start goal" commit is made). An effect that says the commits are made (recorded
`after_repo`) runs after everything recorded before it and before everything after it.

A goal's agent work (a draft, a build) is a job (`bot.jobs`), not an effect: it starts once the
goal's commits recorded before it are made (what it records is posted after the goal's earlier
messages in the Slack lane anyway), and the Scaffold Check's job, which reads the repository,
holds back the goal's commits recorded after it until it has looked (`Jobs.holding`).

Different goals' lanes run at the same time, at most `max_lanes` lanes at once.
Effects of no goal share one lane. Each handler is idempotent by the effect's key, so a crash at any point and a
re-run after restart leaves exactly one message, mirror section and commit.

An effect that waits to be retried, or that finally failed, holds back its goal's later effects of
its stream and all the goal's work after it: nothing is posted or committed out of order, and a
goal is not said to be done (a note recorded after its commits) while one of them has not been made.
A failure is retried with backoff for hours (`bot.effects.retry`); one that finally fails records a
`notify.failure` effect that tells the goal's thread what failed and offers Retry and Cancel.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
from collections.abc import Callable, Coroutine, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot.effects.port import FAILURE_NOTE, Handler, RetryLater, WaitForPerson
from bot.effects.retry import Failure, RetryPolicy, classify, is_timeout
from bot.faults import fault_point
from bot.observability.logging import log_context
from bot.observability.tracing import set_attributes, span
from bot.services.unit import Clock
from storage import locks
from storage.db import from_loop, read_session, transaction
from storage.models import Effect, Goal
from storage.repositories import Jobs

log = logging.getLogger(__name__)

CLOSED_BY_PERSON = ("cancelled", "rejected")  # the thread message of an effect that finally failed
# On PostgreSQL a running effect holds a pooled connection for its advisory lock and needs another
# for its transactions, and the pool (storage.db: 10 + 20 overflow) also serves the jobs and the
# listeners: more lanes than that would wait for connections inside the loop and stop it for good.
PG_MAX_LANES = 8
MAX_LANES = 32  # lanes running at once (up to two per goal): Slack calls overlap, git publishes batch up
# Repository lanes take turns at the branch lock (their publishes batch up while they wait), so
# more of them at once adds nothing but waiting: they may hold at most half of the lanes, and the
# other half stays for posts and work. Without this, many goals' commits waiting for the lock took
# every lane, and other goals' drafts and posts waited behind them.
REPO_SHARE = 2
# Effects that only draw a projection of the goal's state as it is when they run (the card, its
# progress message, the Homes): one followed by another of its kind in the same lane draws nothing
# the later one does not, so it is marked done without a call, and the posts between them go out
# one Slack round trip sooner (an approval's card update no longer delays the next draft's post).
RE_RENDERS = frozenset({"slack.update_card"})

# The streams of a goal's effects (see the module's docstring); any other kind is "work".
SLACK, REPO, WORK = "slack", "repo", "work"
LaneKey = tuple[str | None, str]  # (goal id, stream)


def stream(effect: Effect) -> str:
    """A Slack effect recorded with `after_repo` (a note that says the commits are made) runs in
    order with everything, as does any other kind that is neither a message nor a commit."""
    if effect.kind.startswith(("slack.", "notify.")) and not effect.payload.get("after_repo"):
        return SLACK
    if effect.kind.startswith("repo."):
        return REPO
    return WORK


def runnable(effect: Effect, now: datetime | None) -> bool:
    """Pending and due (a failed effect, or one waiting for its retry, is not)."""
    if effect.status != "pending":
        return False
    return now is None or effect.not_before is None or effect.not_before <= now


def split_lanes(
    goal_id: str | None,
    effects: list[Effect],
    now: datetime | None = None,
    held_after: int | None = None,
    all_held_after: int | None = None,
) -> dict[LaneKey, list[Effect]]:
    """The lanes a goal can run now, given its unfinished effects in id order (see the module's docstring).

    Work first in line: that work and the work right after it, in one lane. Otherwise the Slack
    and the repository effects up to the next work, each stream in its own lane. An effect that is
    not runnable (`now` given: waiting for its retry, or failed) stops its stream there; so does
    any but a message recorded after `held_after` (the goal's Scaffold Check job is still looking),
    and any recorded after `all_held_after` (a job this process runs inline is still to run).
    """
    if goal_id is None:
        return {(None, WORK): [e for e in effects if runnable(e, now)]} if effects else {}

    def waits(effect: Effect) -> bool:
        after = effect.id or 0
        return (
            not runnable(effect, now)
            or (all_held_after is not None and after > all_held_after)
            or (held_after is not None and after > held_after and stream(effect) != SLACK)
        )

    if stream(effects[0]) == WORK:
        run: list[Effect] = []
        for effect in effects:
            if stream(effect) != WORK or waits(effect):
                break
            run.append(effect)
        return {(goal_id, WORK): run} if run else {}
    lanes: dict[LaneKey, list[Effect]] = {}
    blocked: set[str] = set()
    for effect in effects:
        kind = stream(effect)
        if kind == WORK:
            break
        if kind in blocked:
            continue
        if waits(effect):
            blocked.add(kind)
            continue
        lanes.setdefault((goal_id, kind), []).append(effect)
    return lanes


@dataclass
class EffectDispatcher:
    engine: Engine
    clock: Clock
    handlers: dict[str, Handler] = field(default_factory=dict)
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    _wake: asyncio.Event | None = None
    _task: asyncio.Task[None] | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    idle: asyncio.Event | None = None
    max_lanes: int = MAX_LANES
    _lanes: dict[LaneKey, asyncio.Task[int]] = field(default_factory=dict)
    _stopping: bool = False  # shutting down: a lane ends after its running effect
    _running: set[int] = field(default_factory=set)  # effects running in this process
    _running_guard: threading.Lock = field(default_factory=threading.Lock)
    # The jobs runtime: woken when a lane ends (a job may be waiting for those effects), and, in a
    # process whose worker is not running, asked by drain() to run the jobs whose turn has come.
    on_lane_done: list[Callable[[], None]] = field(default_factory=list)
    run_work: Callable[[], Coroutine[Any, Any, int]] | None = None
    # True while no worker runs in this process: its drain runs each job where it was recorded, so
    # every unfinished job holds back its goal's effects recorded after it (as in the CLI).
    jobs_inline: Callable[[], bool] = lambda: False
    _held: bool = False  # the last look found effects held back by a job that is running or may start
    _work: asyncio.Task[int] | None = None  # jobs this loop runs itself while no worker runs here

    def __post_init__(self) -> None:
        if self.engine.dialect.name == "postgresql":
            self.max_lanes = min(self.max_lanes, PG_MAX_LANES)

    def install(self, table: Mapping[str, Handler]) -> None:
        """Take the handler table the composition root built once (`bot.effects.table`)."""
        if self.handlers:
            raise RuntimeError("the effect handlers are installed once, when the process starts")
        self.handlers = dict(table)

    def register(self, kind: str, handler: Handler) -> None:
        """Tests only: a handler for a kind of their own (the product's come from `install`)."""
        self.handlers[kind] = handler

    # -- running -----------------------------------------------------------------------------

    def kick(self) -> None:
        """Wake the loop; safe to call from any thread."""
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def start(self) -> None:
        self._stopping = False
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self.idle = asyncio.Event()
        self._wake.set()
        self._task = asyncio.create_task(self._run(), name="orch-effects")

    async def stop(self, grace: float = 0.0) -> None:
        """Start no more effects; give the running ones up to `grace` seconds, then cancel them (an
        effect cancelled half-way is still pending and runs again, idempotently, after a restart)."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._work is not None:
            self._work.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._work
            self._work = None
        if grace > 0 and self._lanes:
            await asyncio.wait(list(self._lanes.values()), timeout=grace)
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
        # Until stop(): its cancel of this task can be lost (asyncio.wait_for on 3.11 drops a cancel
        # that comes as the wake-up does), and lanes started while stopping end at once and wake
        # the loop again, so the flag, not the cancel alone, ends the loop.
        while not self._stopping:
            self._wake.clear()
            self.idle.clear()
            try:
                started = self._start_lanes()
                self._start_work()
            except Exception:  # the loop must survive anything the database throws
                log.exception("effects loop failed; retrying")
                started = 0
            if not started and not self._lanes and (self._work is None or self._work.done()):
                self.idle.set()
            timeout = self._next_due_in()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=timeout)

    def _start_lanes(self) -> int:
        free = self.max_lanes - len(self._lanes)
        if free <= 0:
            return 0
        repo_free = max(1, self.max_lanes // REPO_SHARE) - sum(1 for key in self._lanes if key[1] == REPO)
        started = 0
        for key, effects in self._due_lanes(exclude=set(self._lanes)).items():
            if started >= free:
                break
            if key[1] == REPO:
                if repo_free <= 0:
                    continue  # a later goal's posts and work may still start
                repo_free -= 1
            lane = asyncio.create_task(self._lane(effects), name=f"orch-effects-{key[0] or 'none'}-{key[1]}")
            self._lanes[key] = lane
            lane.add_done_callback(functools.partial(self._lane_done, key))
            started += 1
        return started

    def _start_work(self) -> None:
        """With no worker in this process (Socket Mode, tests), run the jobs whose turn has come on
        this loop, one batch at a time; the loop looks again when a batch ran or a lane ended."""
        if self.run_work is None or self._stopping or not self.jobs_inline():
            return
        if self._work is not None and not self._work.done():
            return
        self._work = asyncio.create_task(self.run_work(), name="orch-inline-jobs")
        self._work.add_done_callback(self._work_done)

    def _work_done(self, task: asyncio.Task[int]) -> None:
        if task.cancelled():
            return
        if (exc := task.exception()) is not None:
            log.error("running jobs inline failed; retrying", exc_info=exc)
        elif task.result() and self._wake is not None:
            self._wake.set()  # they recorded effects, and more jobs may be free to start
        elif not self._lanes and self.idle is not None:
            self.idle.set()  # nothing ran and nothing runs: the loop waits for a kick

    def _lane_done(self, key: LaneKey, task: asyncio.Task[int]) -> None:
        if self._lanes.get(key) is task:
            del self._lanes[key]
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("effects of %s failed; retrying", key[0] or "no goal", exc_info=exc)
        if self._wake is not None:
            self._wake.set()

    def _due_lanes(self, exclude: set[LaneKey], limit: int = 2000) -> dict[LaneKey, list[Effect]]:
        """The lanes that can start now (those in `exclude` left out), from the pending effects,
        oldest first. A running lane's effects are still pending, so they hold back what follows;
        so do effects waiting for a retry and failed ones (see the module's docstring)."""
        now = self.clock()
        with read_session(self.engine) as session:
            pending = list(
                session.exec(
                    select(Effect).where(Effect.status == "pending").order_by(col(Effect.id)).limit(limit)
                ).all()
            )
            goal_ids = {e.goal_id for e in pending if e.goal_id is not None}
            # A failed effect holds its goal back until it is retried; a goal closed by a person
            # (cancelled, rejected) is not held, so its closing card and commit still go out.
            failed = (
                list(
                    session.exec(
                        select(Effect)
                        .join(Goal, col(Goal.id) == col(Effect.goal_id))
                        .where(
                            Effect.status == "failed",
                            col(Effect.goal_id).in_(goal_ids),
                            col(Goal.state).not_in(CLOSED_BY_PERSON),
                        )
                    ).all()
                )
                if goal_ids
                else []
            )
            holding = Jobs(session).holding(goal_ids, every=self.jobs_inline())
        goals: dict[str | None, list[Effect]] = {}
        for effect in sorted([*pending, *failed], key=lambda e: e.id or 0):
            goals.setdefault(effect.goal_id, []).append(effect)
        held: dict[str, int] = {}
        all_held: dict[str, int] = {}
        for hold in holding:
            held[hold.goal_id] = min(held.get(hold.goal_id, hold.follows), hold.follows)
            if not hold.in_order:
                all_held[hold.goal_id] = min(all_held.get(hold.goal_id, hold.follows), hold.follows)
        self._held = any(
            (e.id or 0) > hold.follows and (not hold.in_order or stream(e) != SLACK)
            for hold in holding
            if hold.live
            for e in goals.get(hold.goal_id, [])
        )
        lanes: dict[LaneKey, list[Effect]] = {}
        for goal_id, effects in goals.items():
            marks = (held.get(goal_id), all_held.get(goal_id)) if goal_id is not None else (None, None)
            for key, run in split_lanes(goal_id, effects, now, *marks).items():
                if key not in exclude:
                    lanes[key] = run
        return lanes

    async def _lane(self, effects: list[Effect]) -> int:
        """Run one lane's effects in order; stop at the first that waits (its later ones wait too)."""
        ran = 0
        for i, effect in enumerate(effects):
            if self._stopping:
                break
            redrawn_later = effect.kind in RE_RENDERS and any(e.kind == effect.kind for e in effects[i + 1 :])
            ok = await self._run_again_if_cancelled_inside(effect, _nothing if redrawn_later else None)
            if ok is None:  # another replica is running it; it keeps the goal's order from there
                if effect.goal_id is None:
                    continue
                break
            ran += 1
            if not ok and effect.goal_id is not None:
                break
        if ran:
            for wake in self.on_lane_done:
                wake()
        return ran

    async def _run_again_if_cancelled_inside(self, effect: Effect, handler: Handler | None) -> bool | None:
        while True:
            try:
                return await self.run_one(effect, handler)
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
        # Only retries still to come: one whose time has passed is either running or held back
        # behind an earlier effect of its goal, and a lane's end wakes the loop for it.
        now = self.clock()
        with read_session(self.engine) as session:
            due = session.exec(
                select(Effect.not_before)
                .where(Effect.status == "pending", col(Effect.not_before) > now)
                .order_by(col(Effect.not_before))
            ).first()
        if due is None:
            return 30.0
        return max(0.05, min(30.0, (due - now).total_seconds()))

    async def run_pending(self, limit: int = 2000) -> int:
        """Run the effects that are due now (each lane in order, lanes side by side); return how
        many ran. Used by drain(), the CLI and tests; the server's loop starts lanes as they come."""
        lanes = self._due_lanes(exclude=set(self._lanes), limit=limit)
        gate = asyncio.Semaphore(self.max_lanes)
        repo_gate = asyncio.Semaphore(max(1, self.max_lanes // REPO_SHARE))

        async def bounded(effects: list[Effect]) -> int:
            async with gate:
                return await self._lane(effects)

        async def bounded_repo(effects: list[Effect]) -> int:
            async with repo_gate:  # taken first: a repository lane waiting here holds no lane
                return await bounded(effects)

        results = await asyncio.gather(
            *((bounded_repo if key[1] == REPO else bounded)(e) for key, e in lanes.items()),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return sum(r for r in results if isinstance(r, int))

    async def run_one(self, effect: Effect, instead: Handler | None = None) -> bool | None:
        """Run one effect (with `instead` rather than its kind's handler, when given); None when it
        is not ours to run (done meanwhile, or another replica has it)."""
        # Replicas share the outbox on PostgreSQL: an effect runs only under its advisory lock.
        # Its bookkeeping writes (the attempt, the done mark) go through `from_loop`: on PostgreSQL in
        # threads, so lanes of other goals go on while one waits for the server; on SQLite on the
        # loop, where the in-process writer's turn comes sooner than a thread's GIL after a hop.
        # Within this process too: the server's loop and a drain() in another thread (the CLI,
        # tests) share this dispatcher, and on SQLite the advisory lock grants everyone.
        # The advisory lock's connection is taken and given back in threads (`claim_async`): never
        # on the loop.
        with self._claim_here(int(effect.id or 0)) as here:
            async with locks.claim_async(self.engine, locks.EFFECTS, int(effect.id or 0)) as mine:
                if not (here and mine):
                    return None
                handler = instead or self.handlers.get(effect.kind)
                if handler is None:
                    await from_loop(
                        self.engine, self._finish, effect, "failed", f"no handler for {effect.kind}"
                    )
                    return False
                # Count the attempt before running it: a handler that sees attempts > 1 knows an earlier
                # attempt may have got half-way (crash after a Slack post) and checks before acting again.
                attempts = await from_loop(self.engine, self._begin, effect)
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
            except WaitForPerson as exc:
                set_attributes(current, **{"orch.effect.outcome": "retry_later"})
                await from_loop(self.engine, self._wait_for_person, effect, str(exc), exc.delay)
                return False
            except RetryLater as exc:
                set_attributes(current, **{"orch.effect.outcome": "retry_later"})
                await from_loop(self.engine, self._retry, effect, Failure("transient", str(exc)))
                return False
            except Exception as exc:
                set_attributes(current, **{"orch.effect.outcome": "error"})
                log.exception("effect %s (%s) failed", effect.key, effect.kind)
                failure = classify(exc)
                if is_timeout(exc):
                    # The call may have been carried out with its answer lost: the next attempt
                    # looks for it first (its marker, its trailer), after the answer had time to land.
                    failure = Failure("transient", failure.reason, self.policy.after_timeout)
                await from_loop(self.engine, self._retry, effect, failure)
                return False
            fault_point("before_effect_done")
            await from_loop(self.engine, self._finish, effect, "done", None)
            set_attributes(current, **{"orch.effect.outcome": "done"})
            log.debug("effect %s (%s) done", effect.key, effect.kind)
            return True

    @contextlib.contextmanager
    def _claim_here(self, effect_id: int) -> Iterator[bool]:
        with self._running_guard:
            mine = effect_id not in self._running
            self._running.add(effect_id)
        try:
            yield mine
        finally:
            if mine:
                with self._running_guard:
                    self._running.discard(effect_id)

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
            if status == "done":
                row.failing_since = None
            session.add(row)

    def _wait_for_person(self, effect: Effect, error: str, delay: float) -> None:
        """Look again in `delay` seconds; this attempt does not count and no horizon runs out."""
        from bot.redact import redact

        with transaction(self.engine) as session:
            row = session.get(Effect, effect.id)
            if row is None:
                return
            row.last_error = redact(error)[:2000]
            row.attempts = max(0, row.attempts - 1)
            row.not_before = self.clock() + timedelta(seconds=delay)
            session.add(row)

    def _retry(self, effect: Effect, failure: Failure) -> None:
        """Schedule the next attempt, or mark the effect failed and have its goal's thread told."""
        from bot.redact import redact

        now = self.clock()
        with transaction(self.engine) as session:
            row = session.get(Effect, effect.id)
            if row is None:
                return
            row.last_error = redact(failure.reason)[:2000]
            row.failing_since = row.failing_since or now
            when = self.policy.next_attempt(
                attempts=row.attempts, failing_since=row.failing_since, now=now, failure=failure
            )
            if when is not None:
                row.not_before = when
                session.add(row)
                return
            row.status, row.done_at = "failed", now
            session.add(row)
            if row.kind != FAILURE_NOTE:
                from bot.effects.failures import record_failure

                record_failure(session, row, now=now)

    async def drain(self, timeout: float = 30.0) -> None:
        """Run effects, and the jobs whose turn has come when no worker runs them, until none is due
        (tests and the CLI)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if await self.run_pending():
                continue
            if self.run_work is not None and await self.run_work():
                continue  # jobs run here (no worker is running) record effects of their own
            # Nothing left for us to start; lanes the server's loop runs may still be at work, and
            # effects they add become due after them, as do those a Scaffold Check job holds back.
            if not self._lanes and not self._due_lanes(exclude=set()) and not self._held:
                return
            await asyncio.sleep(0.01)
        raise TimeoutError("effects still pending after drain timeout")


async def _nothing(effect: Effect) -> None:
    """The handler of an effect whose work a later effect of its lane does (see RE_RENDERS)."""
