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

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.jobs.job_text import describe
from bot.redact import redact
from bot.services.errors import GoalClosed, GoalNotFound, InvalidInput
from bot.services.unit import Actor, add_effect, audit, load_goal_for_update
from bot.sop.effect_kinds import AGENT_KINDS, Status, UpdateCard, WorkFailed, WorkFailureSettled, parse
from bot.sop.phases import LABELS, GoalState, Phase, PhaseStatus
from storage.db import read_session, transaction
from storage.jobs_models import Job
from storage.models import Goal

if TYPE_CHECKING:
    from bot.services.goal_port import GoalsPort as GoalService


# The scheduler retries one failed draft or build by itself at most this often (a model that answers but keeps
# giving unusable drafts must not be asked forever); a person's Retry is not counted.
AUTO_RETRY_ROUNDS = 3
FAILURE_KIND = WorkFailed.KIND  # the thread message with Retry / Request changes / Cancel
SETTLED_KIND = WorkFailureSettled.KIND  # that message once the work runs again: no more buttons


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


def _holds_goal(goal: Goal | None, job: Job) -> bool:
    """Is this job the goal's current work (not an obsolete draft of a phase it has left)?"""
    if goal is None or goal.state != GoalState.ACTIVE:
        return False
    if goal.status not in (PhaseStatus.DRAFTING, PhaseStatus.CHANGES_REQUESTED):
        return False  # its result was recorded already (awaiting a decision), or it failed before
    if job.kind == "build":
        return goal.phase == Phase.IMPLEMENTATION.value
    return goal.phase == job.payload.get("phase")


def on_attempt_failed(session: Session, job: Job, now: datetime, backoff: float) -> None:
    """An attempt failed and the job is queued again: the goal's progress message says so."""
    if job.kind not in AGENT_KINDS or not job.goal_id:
        return
    goal = session.get(Goal, job.goal_id)
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
    goal = session.get(Goal, job.goal_id)
    if goal is None or not _holds_goal(goal, job):
        return False
    goal.status = PhaseStatus.FAILED
    goal.updated_at = now
    session.add(goal)
    round_ = int(job.payload.get("retries", 0))
    audit(
        session,
        actor=Actor("bot"),
        action="goal.stalled",
        now=now,
        goal=goal,
        job=job.id,
        kind=job.kind,
        error=job.last_error,
    )
    if goal.channel_id:
        add_effect(
            session,
            key=f"failed:{goal.id}:job:{job.id}:{round_}",
            goal_id=goal.id,
            now=now,
            payload=WorkFailed(
                job_id=job.id,
                job_kind=job.kind,
                what=what_failed(job),
                attempts=job.attempts,
                error=(job.last_error or "")[:500],
                auto_retry=int(job.payload.get("auto_retries", 0)) < AUTO_RETRY_ROUNDS,
            ),
        )
        add_effect(
            session,
            key=f"card:{goal.id}:failed:{job.id}:{round_}",
            goal_id=goal.id,
            now=now,
            payload=UpdateCard(),
        )
    return True


def failed_job(session: Session, goal: Goal) -> Job | None:
    """The goal's failed draft or build that holds it, if it is held by one."""
    if goal.status != PhaseStatus.FAILED:
        return None
    job = session.exec(
        select(Job)
        .where(Job.goal_id == goal.id, col(Job.kind).in_(AGENT_KINDS))
        .order_by(col(Job.id).desc())
        .limit(1)
    ).first()
    return job if job is not None and job.status == "failed" else None


def has_failed_work(engine: Engine, goal_id: str) -> bool:
    with read_session(engine) as session:
        goal = session.get(Goal, goal_id)
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
            or goals.directory.is_approver(actor.id)
            or actor.id.startswith("cli:")
        ):
            raise InvalidInput(f"Only the requester or an approver can retry {goal.id}.")
        job = failed_job(session, goal)
        if job is None:
            raise InvalidInput(
                f"{goal.id} {LABELS[Phase(goal.phase)]} is {str(goal.status).replace('_', ' ')}; "
                "there is no failed draft or build to retry."
            )
        payload: dict[str, Any] = dict(job.payload)
        failure_key = f"failed:{goal.id}:job:{job.id}:{int(payload.get('retries', 0))}"
        payload["retries"] = int(payload.get("retries", 0)) + 1
        if auto:
            payload["auto_retries"] = int(payload.get("auto_retries", 0)) + 1
        if feedback is not None:
            payload["feedback"] = feedback
        # The work goes through the outbox again, as it first did: a worker runs the new job, or the
        # CLI runs it inline. The failed job stays as it ended, for the record.
        base_key = str(payload.pop("retry_of", None) or job.key)
        add_effect(
            session,
            key=f"{base_key}:retry:{payload['retries']}",
            goal_id=goal.id,
            now=now,
            payload=parse(job.kind, {**payload, "retry_of": base_key}),
        )
        goal.status = PhaseStatus.CHANGES_REQUESTED if feedback else PhaseStatus.DRAFTING
        goal.updated_at = now
        session.add(goal)
        extra: dict[str, Any] = {"automatic": True} if auto else {}
        if feedback is not None:
            extra["feedback"] = feedback
        audit(
            session,
            actor=actor,
            action="job.retried",
            now=now,
            goal=goal,
            job=job.id,
            kind=job.kind,
            round=payload["retries"],
            **extra,
        )
        if goal.channel_id:
            add_effect(
                session,
                key=f"settle:{failure_key}",
                goal_id=goal.id,
                now=now,
                payload=WorkFailureSettled(
                    failure_key=failure_key,
                    actor=actor.id,
                    what=describe_again(job, payload),
                    feedback=feedback is not None,
                    automatic=auto,
                ),
            )
            add_effect(
                session,
                key=f"card:{goal.id}:retried:{job.id}:{payload['retries']}",
                goal_id=goal.id,
                now=now,
                payload=UpdateCard(),
            )
        result = Retried(goal.id, job.kind, describe_again(job, payload), feedback is not None)
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
        goals = session.exec(
            select(Goal).where(Goal.state == GoalState.ACTIVE, Goal.status == PhaseStatus.FAILED)
        ).all()
        found = []
        for goal in goals:
            job = failed_job(session, goal)
            if job is not None:
                found.append(Stalled(goal.id, job.kind, int(job.payload.get("auto_retries", 0))))
        return found
