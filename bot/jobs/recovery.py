"""A draft or build that failed for good: say so in the thread, and run it again when asked.

The queue retries a failed attempt a few times with backoff (bot.jobs.queue); each retry shows in
the goal's progress message. When the last attempt fails, the goal's status becomes `failed` and
its thread gets one message with Retry, Request changes and Cancel. Retry records the same work
again as an outbox effect (so a worker runs it as a new job, or the CLI inline); Request changes
does the same with a person's feedback, which the drafter or builder reads as it does after a
gate's Request changes (there may be no artifact to click: the draft never came). `/orch
rerequest` and `orch goal request-changes` reach the same use case. The scheduler also retries
such work by itself once the model answers again (`stalled` + `JobsRuntime.recover`), a bounded
number of times per draft or build.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.redact import redact
from bot.services.errors import GoalClosed, GoalNotFound, InvalidInput
from bot.services.unit import Actor, add_effect, load_goal_for_update
from bot.services.writes import goal_facts, write_change
from bot.sop import recovery as rules
from bot.sop.effect_kinds import Status
from bot.sop.job_text import describe
from bot.sop.outcomes import Refusal
from bot.sop.phases import GoalState, PhaseStatus
from bot.sop.recovery import AGENT_KINDS, JobFacts, holds_goal
from storage.db import read_session, transaction
from storage.jobs_models import Job
from storage.models import Goal
from storage.repositories import Goals, Jobs
from storage.sessions import Engine, Session

if TYPE_CHECKING:
    from bot.services.goal_port import GoalsPort as GoalService

# The rules' names, where the scheduler and the failure message's handler have always found them.
AUTO_RETRY_ROUNDS = rules.AUTO_RETRY_ROUNDS
FAILURE_KIND = rules.FAILURE_KIND
SETTLED_KIND = rules.SETTLED_KIND


@dataclass(frozen=True)
class Retried:
    goal_id: str
    kind: str  # "draft" | "build"
    what: str  # the job's description, as the thread shows it
    feedback: bool


def rerequest_text(result: Any) -> str:
    """What `/orch rerequest` and `orch rerequest` answer: a renewed approval or a retried job."""
    if isinstance(result, Retried):
        return f"{result.goal_id}: {result.what} runs again; the goal's thread shows how it goes."
    return f"{result.goal_id}: approval requested again as v{result.version}, in the goal's thread."


def what_failed(job: Job) -> str:
    return job.description or job.kind


def describe_again(job: Job, payload: dict[str, Any]) -> str:
    return describe(job.kind, payload)


def job_facts(job: Job) -> JobFacts:
    return JobFacts(
        id=job.id or 0,
        kind=job.kind,
        key=job.key,
        payload=dict(job.payload),
        attempts=job.attempts,
        last_error=job.last_error,
    )


def _holds_goal(goal: Goal | None, job: Job) -> bool:
    """Is this job the goal's current work (not an obsolete draft of a phase it has left)?"""
    return goal is not None and holds_goal(goal_facts(goal), job_facts(job))


def on_attempt_failed(session: Session, job: Job, now: datetime, backoff: float) -> None:
    """An attempt failed and the job is queued again: the goal's progress message says so."""
    if job.kind not in AGENT_KINDS or not job.goal_id:
        return
    goal = Goals(session).get(job.goal_id)
    if not _holds_goal(goal, job) or goal is None or not goal.channel_id:
        return
    error = " ".join((job.last_error or "").split())[:200]
    add_effect(
        session,
        key=f"status:{job.goal_id}:job:{job.id}:{job.payload.get('retries', 0)}:{job.attempts}",
        goal_id=job.goal_id,
        now=now,
        payload=Status(
            text=f"↻ Attempt {job.attempts} of {job.max_attempts} failed ({error}); "
            f"retrying ({job.attempts + 1}/{job.max_attempts}) in {backoff:g} s."
        ),
    )


def on_failed(session: Session, job: Job, now: datetime) -> bool:
    """The job's last attempt failed. If it held its goal, the goal is marked failed and the thread
    gets the message with what a person can do; returns whether it did (else the caller's note)."""
    if job.kind not in AGENT_KINDS or not job.goal_id:
        return False
    goal = Goals(session).get(job.goal_id)
    if goal is None:
        return False
    change = rules.stalled(goal_facts(goal), job_facts(job), what=what_failed(job), at=now)
    if change is None:
        return False
    write_change(session, goal, change, actor=Actor("bot"), now=now)
    return True


def failed_job(session: Session, goal: Goal) -> Job | None:
    """The goal's failed draft or build that holds it, if it is held by one."""
    if goal.status != PhaseStatus.FAILED:
        return None
    job = Jobs(session).newest_of_kinds(goal_id=goal.id, kinds=AGENT_KINDS)
    return job if job is not None and job.status == "failed" else None


def has_failed_work(engine: Engine, goal_id: str) -> bool:
    with read_session(engine) as session:
        goal = Goals(session).get(goal_id)
        return goal is not None and failed_job(session, goal) is not None


def retry_failed(
    goals: GoalService,
    *,
    goal_id: str,
    actor: Actor,
    feedback: str | None = None,
    auto: bool = False,
) -> Retried:
    """Queue the goal's failed draft or build again (with `feedback`, as a request for changes).

    Retry and Cancel are for the requester and the approvers; feedback, like a gate's Request
    changes, for approvers only. Refusals raise ServiceError with the sentence to show."""
    feedback = redact(feedback.strip()) if feedback and feedback.strip() else None
    now = goals.clock()
    with transaction(goals.engine) as session:
        goal = load_goal_for_update(session, goal_id)
        if goal is None:
            raise GoalNotFound(goal_id)
        if goal.state != GoalState.ACTIVE:
            raise GoalClosed(goal.id, goal.state)
        if feedback is not None:
            goals._check_authority(goal, actor)
        elif not (
            auto
            or actor.id == goal.requester
            or goals.directory.is_approver(actor.id, repo=goal.repo)
            or actor.id.startswith("cli:")
        ):
            raise InvalidInput(f"Only the requester or an approver can retry {goal.id}.")
        found = failed_job(session, goal)
        facts = goal_facts(goal)
        job = job_facts(found) if found is not None else None
        plan = rules.plan_retry(facts, job, feedback=feedback, auto=auto)
        if isinstance(plan, Refusal):
            raise InvalidInput(plan.message)
        assert found is not None and job is not None
        what = describe_again(found, dict(plan.payload))
        change = rules.retried(
            facts, job, plan, actor=actor.id, what=what, feedback=feedback, auto=auto, at=now
        )
        write_change(session, goal, change, actor=actor, now=now)
        result = Retried(goal.id, job.kind, what, feedback is not None)
    goals._committed()  # wakes the job worker and the outbox
    return result


@dataclass(frozen=True)
class Stalled:
    goal_id: str
    kind: str
    auto_retries: int


def stalled(engine: Engine) -> list[Stalled]:
    """Active goals held by a failed draft or build (for the automatic retry)."""
    with read_session(engine) as session:
        goals = Goals(session).with_status(state=GoalState.ACTIVE, status=PhaseStatus.FAILED)
        found = []
        for goal in goals:
            job = failed_job(session, goal)
            if job is not None:
                found.append(Stalled(goal.id, job.kind, int(job.payload.get("auto_retries", 0))))
        return found
