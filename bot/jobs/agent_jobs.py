"""Agent work as jobs: the "draft" and "build" outbox effects enqueue a job; workers run it.

The services still record `draft`/`build` effects in the same transaction as the state change;
the outbox turns each into a row of the jobs table (idempotent by the effect's key) and returns
at once, so the single outbox loop never waits on an agent. The job then runs the very handler
the effect used to run (WorkEffects.draft / .build), which is idempotent: a re-run after a crash
records nothing twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.jobs.queue import Claimed
from bot.sop.phases import Phase
from storage.models import Effect

EffectHandler = Callable[[Effect], Awaitable[None]]


def runs_in_order(effect: Effect) -> bool:
    """The scaffold check reads the repository that the goal's next effect (its first publish)
    writes to, so it finishes before the outbox moves on, as it always did. It is quick and calls
    no model; every other draft or build runs alongside the outbox."""
    return effect.kind == "draft" and effect.payload.get("phase") == Phase.SCAFFOLD_CHECK.value


def as_effect(job: Claimed) -> Effect:
    """The job seen as the effect its handler expects (not stored; the attempt count carries over)."""
    return Effect(
        key=job.key,
        kind=job.kind,
        goal_id=job.goal_id,
        payload=dict(job.payload),
        attempts=job.attempts,
        created_at=job.created_at,
    )


def job_handler(effect_handler: EffectHandler) -> Callable[[Claimed], Awaitable[None]]:
    async def run(job: Claimed) -> None:
        await effect_handler(as_effect(job))

    return run
