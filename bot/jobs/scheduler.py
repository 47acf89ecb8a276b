"""APScheduler 3.11 wiring: a persistent SQLAlchemy job store in our database, started only by the leader.

Jobs have stable ids and are upserted at every start. A cron job whose trigger did not change
keeps its stored next run time, so a run missed while no leader was up is caught up once
(`coalesce`) if it is within `misfire_grace_seconds`. The job functions are importable by name
(a pickled job store needs that) and find this process's runtime by the token in their args.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Protocol

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.jobs.sla_policy import parse_minute_of_day
from storage.db import make_engine

if TYPE_CHECKING:
    from bot.jobs.config import SchedulerConfig


class JobsRuntime(Protocol):
    """What the scheduler needs of the jobs runtime (`bot.jobs.runtime.JobsRuntime`), which starts it."""

    token: str

    @property
    def config(self) -> SchedulerConfig: ...

    @property
    def database_url(self) -> str: ...

    async def tick(self) -> None: ...

    async def digest_tick(self) -> None: ...


log = logging.getLogger(__name__)

RUNTIMES: dict[str, JobsRuntime] = {}  # token → runtime of this process
SWEEP_JOB = "orch.sla_sweep"
DIGEST_JOB_PREFIX = "orch.digest."


async def sla_tick(token: str) -> None:
    runtime = RUNTIMES.get(token)
    if runtime is None:
        log.info("scheduler tick for a runtime that is gone; ignored")
        return
    await runtime.tick()


async def digest_tick(token: str) -> None:
    runtime = RUNTIMES.get(token)
    if runtime is None:
        return
    await runtime.digest_tick()


def digest_trigger(at: str, timezone: Any) -> CronTrigger:
    minute = parse_minute_of_day(at)
    return CronTrigger(hour=minute // 60, minute=minute % 60, timezone=timezone)


def wanted_jobs(runtime: JobsRuntime) -> list[tuple[str, str, Any]]:
    cfg, tz = runtime.config, runtime.config.sla.tz
    jobs: list[tuple[str, str, Any]] = [
        (
            SWEEP_JOB,
            "bot.jobs.scheduler:sla_tick",
            IntervalTrigger(seconds=cfg.jobs.sweep_seconds, timezone=tz),
        ),
    ]
    if cfg.digest.enabled:
        for at in cfg.digest.all_times():
            jobs.append(
                (
                    f"{DIGEST_JOB_PREFIX}{at.replace(':', '')}",
                    "bot.jobs.scheduler:digest_tick",
                    digest_trigger(at, tz),
                )
            )
    return jobs


def start_scheduler(runtime: JobsRuntime) -> AsyncIOScheduler:
    """Build, fill and start the scheduler (call inside the running event loop)."""
    cfg = runtime.config
    # Its own engine: the job store disposes of its engine at shutdown.
    store = SQLAlchemyJobStore(engine=make_engine(runtime.database_url), tablename="apscheduler_jobs")
    scheduler = AsyncIOScheduler(
        jobstores={"default": store},
        job_defaults={
            "coalesce": True,
            "misfire_grace_time": cfg.jobs.misfire_grace_seconds,
            "max_instances": 1,
        },
        timezone=cfg.sla.tz,
    )
    scheduler.start(paused=True)
    existing = {job.id: job for job in scheduler.get_jobs()}
    wanted = wanted_jobs(runtime)
    for job_id, func, trigger in wanted:
        old = existing.get(job_id)
        keep = (
            old is not None
            and isinstance(trigger, CronTrigger)
            and repr(old.trigger) == repr(trigger)
            and old.func_ref == func
        )
        if keep:
            scheduler.modify_job(job_id, args=[runtime.token])
        else:
            scheduler.add_job(
                func, trigger, id=job_id, name=job_id, args=[runtime.token], replace_existing=True
            )
    for job_id in set(existing) - {w[0] for w in wanted}:
        if job_id.startswith("orch."):
            scheduler.remove_job(job_id)
    scheduler.resume()
    return scheduler
