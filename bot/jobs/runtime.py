"""The jobs runtime of one process: worker, leader election, scheduler, sweeps and digests.

`install_jobs(container, agent_handlers)` is called by the composition root; the server's lifespan calls
`start()`/`stop()`. A use case adds agent work (a draft, a build) to the jobs table in its own
transaction (`bot.services.unit.add_effect`); the worker runs each job once its goal's earlier
effects are carried out. Without a running worker (the CLI), the outbox's drain runs the jobs whose
turn has come here (`run_ready`), so `orch goal …` still completes its work before it returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.effects.port import WorkHandler
from bot.jobs import queue, recovery
from bot.jobs.config import SchedulerConfig, load_scheduler_config
from bot.jobs.digest import Digest, post_digest_now, post_due_digests
from bot.jobs.freshness import DueReview, FreshnessReport, ask_review, sweep_freshness
from bot.jobs.leader import LeaderElector, record_tick
from bot.jobs.recovery import Retried
from bot.jobs.sla import SlaDeps, SweepReport, sweep
from bot.jobs.worker import JobHandler, JobWorker
from bot.observability.runs import runs_dir_for
from bot.services.unit import Actor
from bot.sop.effect_kinds import read_back
from storage.models import Artifact

if TYPE_CHECKING:
    from bot.deps import Deps as Container

log = logging.getLogger(__name__)


@dataclass
class JobsRuntime:
    container: Container
    config: SchedulerConfig
    worker: JobWorker
    elector: LeaderElector
    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    scheduler: AsyncIOScheduler | None = None
    work_handlers: dict[str, WorkHandler] = field(default_factory=dict)  # WorkEffects.draft/build

    # -- wiring ------------------------------------------------------------------------------

    @property
    def engine(self) -> Any:
        return self.container.engine

    @property
    def database_url(self) -> str:
        return str(self.container.settings.database_url)

    @property
    def handlers(self) -> dict[str, Any]:
        """Job kind → handler; tests may wrap one (a scripted job that waits)."""
        return self.worker.handlers

    @property
    def work(self) -> Any:
        """The WorkEffects behind the agent jobs (its `drafter` and `builder` are the models' ports)."""
        handler = self.work_handlers.get("draft")
        return getattr(handler, "__self__", None)

    @property
    def is_leader(self) -> bool:
        return self.elector.is_leader

    def deps(self) -> SlaDeps:
        c = self.container
        return SlaDeps(
            engine=c.engine,
            directory=c.directory,
            policy=self.config.sla,
            allow_self_approval=c.settings.allow_self_approval,
            freshness_max_age=timedelta(days=c.settings.freshness_max_age_days),
            runs_dir=runs_dir_for(c.settings),
            prices=dict(c.settings.prices),
        )

    def _now(self, now: datetime | None) -> datetime:
        return now if now is not None else self.container.clock()

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        from bot.jobs.scheduler import RUNTIMES

        RUNTIMES[self.token] = self
        # Agent jobs and the outbox block in threads (git, SQLite, subprocesses): give this loop enough
        # threads for every job at once plus the outbox, rather than asyncio's default of cpu + 4.
        loop = asyncio.get_running_loop()
        loop.set_default_executor(
            ThreadPoolExecutor(max_workers=self.worker.max_parallel + 16, thread_name_prefix="orch-work")
        )
        await self.worker.start()
        await self.elector.start()

    async def stop(self, grace: float = 0.0) -> None:
        """Give up the scheduler's lead, let running jobs finish for up to `grace` seconds, release the rest."""
        from bot.jobs.scheduler import RUNTIMES

        await self.elector.stop()
        await self.worker.stop(grace)
        RUNTIMES.pop(self.token, None)

    async def _elected(self) -> None:
        from bot.jobs.scheduler import start_scheduler

        self.scheduler = start_scheduler(self)

    async def _lost(self) -> None:
        if self.scheduler is not None:
            with contextlib.suppress(Exception):
                self.scheduler.shutdown(wait=False)
            self.scheduler = None

    # -- agent jobs --------------------------------------------------------------------------

    def use(self, kind: str, handler: WorkHandler) -> None:
        """Run `kind`'s jobs with `handler` from now on (tests that swap the implementer)."""
        self.work_handlers[kind] = handler
        self.worker.handlers[kind] = _checked(kind, handler)

    async def run_ready(self, goal_id: str | None = None) -> int:
        """Without a running worker in this process (the CLI, a drain in tests): run the jobs whose
        turn has come (of one goal, when given) here, side by side up to the job limit; returns
        how many ran."""
        if self.worker.running:
            return 0
        kinds, now = list(self.handlers), self.container.clock()
        # Most looks find nothing ready: a read first, since the claim's transaction takes the write lock.
        if not await asyncio.to_thread(queue.any_due, self.engine, now=now, kinds=kinds):
            return 0
        claimed = await asyncio.to_thread(
            queue.claim,
            self.engine,
            now=now,
            worker=f"{self.worker.name}:inline",
            limit=self.worker.max_parallel,
            kinds=kinds,
            goal_id=goal_id,
            max_attempts=self.config.jobs.max_attempts,
        )
        await asyncio.gather(*(self.worker.run_claimed(job) for job in claimed))
        return len(claimed)

    # -- scheduled work (also callable directly, with any `now`) -------------------------------

    def sweep(self, now: datetime | None = None) -> SweepReport:
        report = sweep(self.deps(), now=self._now(now))
        if report.sent:
            self.container.dispatcher.kick()
        return report

    def freshness_limits(self) -> tuple[timedelta, timedelta]:
        s = self.container.settings
        return timedelta(days=s.freshness_max_age_days), timedelta(days=s.freshness_reminder_days)

    def remind_freshness(self, now: datetime | None = None) -> FreshnessReport:
        """Remind the approvers of artifacts about to go stale (bot/jobs/freshness.py)."""
        max_age, lead = self.freshness_limits()
        report = sweep_freshness(self.deps(), now=self._now(now), max_age=max_age, lead=lead)
        if report.reminded:
            self.container.dispatcher.kick()
        return report

    def ask_review(self, goal_id: str, actor: Actor, now: datetime | None = None) -> list[DueReview]:
        max_age, _lead = self.freshness_limits()
        due = ask_review(self.deps(), goal_id=goal_id, actor=actor, now=self._now(now), max_age=max_age)
        self.container.dispatcher.kick()
        return due

    def post_due_digests(self, now: datetime | None = None) -> list[str]:
        posted = post_due_digests(self.deps(), self.config.digest, now=self._now(now))
        if posted:
            self.container.dispatcher.kick()
        return posted

    def post_digest(self, channel: str, *, actor: Actor, now: datetime | None = None) -> Digest:
        digest = post_digest_now(self.deps(), channel=channel, now=self._now(now), actor=actor)
        self.container.dispatcher.kick()
        return digest

    def rerequest(self, goal_id: str, actor: Actor) -> Artifact | Retried:
        """Ask again: an expired approval is posted again; a failed draft or build runs again."""
        from bot.jobs.rerequest import rerequest

        if recovery.has_failed_work(self.engine, goal_id.upper()):
            return recovery.retry_failed(self.container.goals, goal_id=goal_id.upper(), actor=actor)
        return rerequest(self.container.goals, goal_id=goal_id, actor=actor)

    async def recover(self) -> list[str]:
        """Retry the failed drafts and builds whose model answers again; returns the goals retried.

        Each job is retried this way at most `recovery.AUTO_RETRY_ROUNDS` times, and only after the
        model's endpoint answered a cheap call (bot.agents.probe), so an outage costs no rounds."""
        from bot.agents.probe import model_answers
        from bot.services.errors import ServiceError

        stuck = await asyncio.to_thread(recovery.stalled, self.engine)
        answers: dict[str, bool] = {}
        retried: list[str] = []
        for item in stuck:
            if item.auto_retries >= recovery.AUTO_RETRY_ROUNDS:
                continue
            if item.kind not in answers:
                answers[item.kind] = await model_answers(self.container.settings, item.kind)
            if not answers[item.kind]:
                continue
            try:
                await asyncio.to_thread(
                    recovery.retry_failed,
                    self.container.goals,
                    goal_id=item.goal_id,
                    actor=Actor("scheduler"),
                    auto=True,
                )
            except ServiceError:  # a person retried or cancelled it meanwhile
                continue
            retried.append(item.goal_id)
        if retried:
            log.info("the model answers again: retried the failed work of %s", ", ".join(retried))
        return retried

    async def tick(self) -> None:
        """The scheduler's periodic job: SLA sweep, a digest catch-up, failed work whose model is
        back, and a sign of life."""
        await asyncio.to_thread(self.sweep)
        await asyncio.to_thread(self.remind_freshness)
        try:
            await self.recover()
        except Exception:  # a database hiccup here must not cost the sweep its sign of life
            log.exception("retrying failed work failed")
        await asyncio.to_thread(self.post_due_digests)
        await asyncio.to_thread(record_tick, self.engine, self.container.clock())

    def ci_poll_seconds(self) -> float:
        """How often CI results are fetched for open pull requests: only where no GitHub webhook is
        configured (with one, the host tells the bot), and 0 when nothing is delivered to a host."""
        s = self.container.settings
        if self.container.ci_poller is None or s.github_webhook_secret is not None:
            return 0.0
        return float(s.ci_poll_seconds)

    async def ci_poll_tick(self) -> None:
        poll = self.container.ci_poller
        if poll is not None:
            await asyncio.to_thread(poll, self.container.settings.ci_poll_seconds)

    async def digest_tick(self) -> None:
        await asyncio.to_thread(self.post_due_digests)
        await asyncio.to_thread(record_tick, self.engine, self.container.clock())


def _checked(kind: str, handler: WorkHandler) -> JobHandler:
    """`handler`, run only on a job whose payload fits `kind`'s type (as the outbox's table does)."""

    async def run(job: queue.Claimed) -> None:
        read_back(kind, job.payload)
        await handler(job)

    return run


def install_jobs(c: Container, agent_handlers: dict[str, WorkHandler]) -> JobsRuntime:
    """Build the runtime whose jobs run `agent_handlers` (the chosen implementer's draft and build)."""
    from bot.config import ConfigError

    try:
        config = load_scheduler_config(
            timezone=c.settings.timezone,
            raw=c.settings.scheduler_tables,
            approval_sla_hours=c.settings.approval_sla_hours,
        )
    except (ValueError, OSError) as exc:
        raise ConfigError(f"orch.toml [jobs]/[sla]/[digest]: {exc}") from exc
    name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
    worker = JobWorker(
        engine=c.engine,
        clock=c.clock,
        # A job reads its payload back through its kind's type, as an effect does.
        handlers={k: _checked(k, h) for k, h in agent_handlers.items()},
        config=config.jobs,
        max_parallel=c.settings.max_parallel_jobs,
        name=name,
    )
    # A finished job may have recorded effects; finished effects may let a job start.
    worker.on_done.append(c.dispatcher.kick)
    c.dispatcher.on_lane_done.append(worker.kick)
    runtime = JobsRuntime(
        container=c,
        config=config,
        worker=worker,
        elector=None,  # type: ignore[arg-type]
        work_handlers=dict(agent_handlers),
    )
    runtime.elector = LeaderElector(
        engine=c.engine,
        clock=c.clock,
        poll_seconds=config.jobs.leader_poll_seconds,
        on_elected=runtime._elected,
        on_lost=runtime._lost,
        name=name,
    )
    # A committed service action (a cancel among them) wakes the worker, which then notices
    # cancelled jobs at once instead of at its next heartbeat.
    c.goals.kick.append(worker.kick)
    c.sla = config.sla  # approval due times follow the SLA policy in force
    c.job_kicks.append(worker.kick)
    c.dispatcher.run_work = runtime.run_ready
    c.dispatcher.jobs_inline = lambda: not worker.running
    return runtime
