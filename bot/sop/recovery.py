"""The rules for a draft or build that failed for good: whether it still holds its goal, what the
goal becomes when its last attempt fails, and what a retry records. Plain data in, what happened
out; the time comes in as a value and the texts a person reads are made by the caller."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.sop.effect_kinds import AGENT_KINDS, UpdateCard, WorkFailed, WorkFailureSettled, parse
from bot.sop.outcomes import BOT, Change, Effect, Event, GoalFacts, Refusal, Refused
from bot.sop.phases import LABELS, GoalState, Phase, PhaseStatus

# The scheduler retries one failed draft or build by itself at most this often (a model that answers but keeps
# giving unusable drafts must not be asked forever); a person's Retry is not counted.
AUTO_RETRY_ROUNDS = 3
FAILURE_KIND = WorkFailed.KIND  # the thread message with Retry / Request changes / Cancel
SETTLED_KIND = WorkFailureSettled.KIND  # that message once the work runs again: no more buttons


@dataclass(frozen=True)
class JobFacts:
    """An agent job as the rules see it."""

    id: int
    kind: str  # "draft" | "build"
    key: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    attempts: int = 0
    last_error: str | None = None


def holds_goal(goal: GoalFacts, job: JobFacts) -> bool:
    """Is this job the goal's current work (not an obsolete draft of a phase it has left)?"""
    if goal.state != GoalState.ACTIVE:
        return False
    if goal.status not in (PhaseStatus.DRAFTING, PhaseStatus.CHANGES_REQUESTED):
        return False  # its result was recorded already (awaiting a decision), or it failed before
    if job.kind == "build":
        return goal.phase == Phase.IMPLEMENTATION.value
    return goal.phase == job.payload.get("phase")


def stalled(goal: GoalFacts, job: JobFacts, *, what: str, at: datetime) -> Change | None:
    """The job's last attempt failed: when it held its goal, the goal is failed and its thread gets
    the message with what a person can do (None: the job held nothing)."""
    if job.kind not in AGENT_KINDS or not holds_goal(goal, job):
        return None
    round_ = int(job.payload.get("retries", 0))
    event = Event(
        action="goal.stalled",
        phase=goal.phase,
        actor=BOT,
        payload={"job": job.id, "kind": job.kind, "error": job.last_error},
    )
    effects: tuple[Effect, ...] = ()
    if goal.channel_id:
        effects = (
            Effect(
                key=f"failed:{goal.id}:job:{job.id}:{round_}",
                data=WorkFailed(
                    job_id=job.id,
                    job_kind=job.kind,
                    what=what,
                    attempts=job.attempts,
                    error=(job.last_error or "")[:500],
                    auto_retry=int(job.payload.get("auto_retries", 0)) < AUTO_RETRY_ROUNDS,
                ),
            ),
            Effect(key=f"card:{goal.id}:failed:{job.id}:{round_}", data=UpdateCard()),
        )
    return Change(
        goal=goal.but(status=PhaseStatus.FAILED.value, updated_at=at), events=(event,), effects=effects
    )


@dataclass(frozen=True)
class RetryPlan:
    """The same work recorded again: the outbox key and payload of the new attempt, the failure
    message it settles, and the goal's new status."""

    key: str
    payload: Mapping[str, Any]  # the work as it runs again (without the key it retries)
    base_key: str  # the outbox key of the first attempt, which every retry names
    failure_key: str
    round: int
    status: str


def plan_retry(
    goal: GoalFacts, job: JobFacts | None, *, feedback: str | None, auto: bool
) -> RetryPlan | Refusal:
    """Queue the goal's failed work again (with `feedback`, as a request for changes). `job` is the
    goal's failed draft or build, None when nothing failed."""
    if goal.state != GoalState.ACTIVE:
        return Refusal(Refused.GOAL_CLOSED, goal.id, detail={"state": goal.state})
    if job is None or goal.status != PhaseStatus.FAILED:
        return Refusal(
            Refused.NOT_AWAITING,
            goal.id,
            f"{goal.id} {LABELS[Phase(goal.phase)]} is {str(goal.status).replace('_', ' ')}; "
            "there is no failed draft or build to retry.",
        )
    payload: dict[str, Any] = dict(job.payload)
    failure_key = f"failed:{goal.id}:job:{job.id}:{int(payload.get('retries', 0))}"
    payload["retries"] = int(payload.get("retries", 0)) + 1
    if auto:
        payload["auto_retries"] = int(payload.get("auto_retries", 0)) + 1
    if feedback is not None:
        payload["feedback"] = feedback
    # The work goes through the outbox again, as it first did; the failed job stays as it ended.
    base_key = str(payload.pop("retry_of", None) or job.key)
    return RetryPlan(
        key=f"{base_key}:retry:{payload['retries']}",
        payload=payload,
        base_key=base_key,
        failure_key=failure_key,
        round=payload["retries"],
        status=(PhaseStatus.CHANGES_REQUESTED if feedback else PhaseStatus.DRAFTING).value,
    )


def retried(
    goal: GoalFacts,
    job: JobFacts,
    plan: RetryPlan,
    *,
    actor: str,
    what: str,
    feedback: str | None,
    auto: bool,
    at: datetime,
) -> Change:
    """What a retry writes: the goal back to work, the new attempt, the audit entry, and the failure
    message settled in the thread."""
    extra: dict[str, Any] = {"automatic": True} if auto else {}
    if feedback is not None:
        extra["feedback"] = feedback
    event = Event(
        action="job.retried",
        phase=goal.phase,
        payload={"job": job.id, "kind": job.kind, "round": plan.round, **extra},
    )
    effects = [Effect(key=plan.key, data=parse(job.kind, {**plan.payload, "retry_of": plan.base_key}))]
    if goal.channel_id:
        effects += [
            Effect(
                key=f"settle:{plan.failure_key}",
                data=WorkFailureSettled(
                    failure_key=plan.failure_key,
                    actor=actor,
                    what=what,
                    feedback=feedback is not None,
                    automatic=auto,
                ),
            ),
            Effect(key=f"card:{goal.id}:retried:{job.id}:{plan.round}", data=UpdateCard()),
        ]
    return Change(goal=goal.but(status=plan.status, updated_at=at), events=(event,), effects=tuple(effects))
