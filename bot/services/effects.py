"""Effects a person looks at and re-runs: `orch effects list|retry`, `/orch retry`, the Retry button.

A retry puts a failed effect back in the outbox as if new (its attempts and failure clock reset),
and makes an effect that waits for its next attempt due now; each is audited. The dispatcher then
runs it first among its goal's effects, and what waited behind it follows in order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.services.errors import GoalNotFound, InvalidInput
from bot.services.unit import Actor, Clock, audit
from storage.db import read_session, transaction
from storage.jobs_models import Job
from storage.models import Effect, Goal
from storage.repositories import Effects, Goals, Jobs
from storage.sessions import Engine, Session

if TYPE_CHECKING:
    from bot.deps import Deps as Container

# An effect waiting this long for its next attempt is worth a look (`orch doctor`, the App Home).
LONG_WAIT = timedelta(minutes=10)
ATTENTION_KINDS_EXCLUDED = ("notify.failure",)


@dataclass(frozen=True)
class Attention:
    """A goal that needs a person: how many of its effects failed or wait long, and the first one."""

    goal_id: str
    failed: int
    waiting: int
    first_error: str


@dataclass(frozen=True)
class Retried:
    """One thing put back to run: an effect or an agent job."""

    what: str  # effect | job
    id: int
    kind: str
    goal_id: str | None


@dataclass
class EffectsService:
    engine: Engine
    clock: Clock
    is_approver: Callable[..., bool] = lambda _user, **_where: False  # (user, repo=…)
    kick: list[Callable[[], None]] = field(default_factory=list)

    def find(self, *, status: str | None = None, goal_id: str | None = None, limit: int = 50) -> list[Effect]:
        """Newest first; `status` pending|done|failed, or `waiting` (pending after a failure)."""
        with read_session(self.engine) as session:
            return Effects(session).newest(status=status, goal_id=goal_id, limit=limit)

    def needing_attention(self, *, long_wait: timedelta = LONG_WAIT) -> list[Attention]:
        """Goals with a failed effect, or one failing for longer than `long_wait` (oldest first)."""
        cutoff = self.clock() - long_wait
        with read_session(self.engine) as session:
            rows = Effects(session).needing_attention(cutoff=cutoff, excluded_kinds=ATTENTION_KINDS_EXCLUDED)
        found: dict[str, Attention] = {}
        for row in rows:
            assert row.goal_id is not None
            seen = found.get(row.goal_id)
            failed, waiting = (1, 0) if row.status == "failed" else (0, 1)
            if seen is None:
                found[row.goal_id] = Attention(row.goal_id, failed, waiting, row.last_error or "")
            else:
                found[row.goal_id] = Attention(
                    row.goal_id, seen.failed + failed, seen.waiting + waiting, seen.first_error
                )
        return list(found.values())

    def retry(
        self,
        *,
        actor: Actor,
        effect_id: int | None = None,
        goal_id: str | None = None,
        job_id: int | None = None,
    ) -> list[Retried]:
        """Re-run one failed effect or agent job, or every failed or waiting effect and failed job of
        a goal; audited. Returns what was put back. InvalidInput when there is nothing to retry or
        the actor may not."""
        if sum(x is not None for x in (effect_id, goal_id, job_id)) != 1:
            raise InvalidInput("Say which: one effect id, one job id, or a goal id.")
        now = self.clock()
        with transaction(self.engine) as session:
            effects, jobs = self._to_retry(session, effect_id=effect_id, goal_id=goal_id, job_id=job_id)
            owners = [e.goal_id for e in effects] + [j.goal_id for j in jobs]
            goal_id = next((g for g in owners if g), goal_id)
            goal = Goals(session).get(goal_id) if goal_id else None
            self._check(actor, goal)
            for row in effects:
                was = row.status
                row.status, row.attempts, row.not_before = "pending", 0, None
                row.failing_since, row.done_at = None, None
                session.add(row)
                audit(
                    session, actor=actor, action="effect.retried", now=now, goal=goal,
                    effect=row.id, kind=row.kind, was=was, last_error=row.last_error,
                )  # fmt: skip
            for job in jobs:
                job.status, job.attempts, job.not_before = "queued", 0, None
                job.run_id, job.worker, job.finished_at = None, None, None
                session.add(job)
                audit(
                    session, actor=actor, action="job.retried", now=now, goal=goal,
                    job=job.id, kind=job.kind, last_error=job.last_error,
                )  # fmt: skip
            done = [Retried("effect", e.id or 0, e.kind, e.goal_id) for e in effects]
            done += [Retried("job", j.id or 0, j.description or j.kind, j.goal_id) for j in jobs]
        for wake in self.kick:
            wake()
        return done

    def _to_retry(
        self, session: Session, *, effect_id: int | None, goal_id: str | None, job_id: int | None
    ) -> tuple[list[Effect], list[Job]]:
        if effect_id is not None:
            row = Effects(session).get(effect_id)
            if row is None:
                raise InvalidInput(f"There is no effect {effect_id}. `orch effects list` shows them.")
            if row.status != "failed" and not (row.status == "pending" and row.failing_since):
                raise InvalidInput(
                    f"Effect {effect_id} is {row.status}; only a failed or waiting one is retried."
                )
            return [row], []
        if job_id is not None:
            job = Jobs(session).get(job_id)
            if job is None or job.status != "failed":
                raise InvalidInput(
                    f"Job {job_id} has not failed; `orch jobs list --status failed` shows those."
                )
            return [], [job]
        goal = Goals(session).get(str(goal_id))
        if goal is None:
            raise GoalNotFound(str(goal_id))
        effects = Effects(session).failing_for_goal(goal.id)
        jobs: list[Job] = []
        if goal.state == "active":  # a closed goal's jobs stay as they ended
            jobs = Jobs(session).of_goal(goal.id, ("failed",))
        if not effects and not jobs:
            raise InvalidInput(f"{goal.id} has no failed or waiting step to retry.")
        return effects, jobs

    def _check(self, actor: Actor, goal: Goal | None) -> None:
        """The requester, an approver or the command line may retry (as for cancel)."""
        if actor.id.startswith("cli:") or self.is_approver(actor.id, repo=goal.repo if goal else None):
            return
        if goal is not None and actor.id == goal.requester:
            return
        which = goal.id if goal else "this"
        raise InvalidInput(f"Only the requester or an approver can retry {which}.")


def effects_service(container: Container) -> EffectsService:
    """The service wired from the composition root's parts (listeners, CLI and Home share it)."""
    return EffectsService(
        engine=container.engine,
        clock=container.clock,
        is_approver=container.directory.is_approver,
        kick=[container.dispatcher.kick, *_job_kick(container)],
    )


def _job_kick(container: Container) -> list[Callable[[], None]]:
    return list(container.job_kicks)


def outbox_report(
    engine: Engine, now: datetime, *, long_wait: timedelta = LONG_WAIT
) -> tuple[bool, list[str]]:
    """`orch doctor`'s lines on the outbox and the agent jobs: failed and long-waiting ones, each with
    what to run. False when something failed for good (a person must act)."""
    cutoff = now - long_wait
    with read_session(engine) as session:
        effects, jobs = Effects(session), Jobs(session)
        failed = effects.failed()
        waiting = effects.failing_since_before(cutoff=cutoff)
        closed = Goals(session).ids_in_states(states=("cancelled", "rejected"))
        jobs_failed = jobs.with_status(status="failed")
        jobs_waiting = jobs.queued_before(cutoff=cutoff)
    failed = [e for e in failed if e.goal_id not in closed]
    jobs_failed = [j for j in jobs_failed if j.goal_id not in closed]
    lines: list[str] = []
    for e in failed[:10]:
        lines.append(
            f"effect #{e.id} {e.kind} of {e.goal_id or 'no goal'} failed: {(e.last_error or '')[:160]}"
            f" — `orch effects retry {e.id}`"
        )
    for e in waiting[:10]:
        since = e.failing_since.isoformat(timespec="seconds") if e.failing_since else "?"
        lines.append(
            f"effect #{e.id} {e.kind} of {e.goal_id or 'no goal'} failing since {since}, "
            f"{e.attempts} attempt(s): {(e.last_error or '')[:160]}"
        )
    for j in jobs_failed[:10]:
        lines.append(
            f"job #{j.id} {j.description or j.kind} of {j.goal_id or 'no goal'} failed: {(j.last_error or '')[:160]}"
        )
    for j in jobs_waiting[:10]:
        lines.append(
            f"job #{j.id} {j.description or j.kind} of {j.goal_id or 'no goal'} queued since {j.created_at:%Y-%m-%d %H:%M}"
        )
    more = len(failed) + len(waiting) + len(jobs_failed) + len(jobs_waiting) - len(lines)
    if more > 0:
        lines.append(
            f"…and {more} more (`orch effects list --status failed`, `orch jobs list --status failed`)"
        )
    return not failed and not jobs_failed, lines
