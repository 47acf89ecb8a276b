"""From rows to the procedure's facts and back: load what a rule reads, write what it returns.

`apply_change` writes a rule's `Change` into the caller's transaction (through
`bot.services.writes`): the goal's new state, the approval, the audit entries (in order) and then
the outbox rows, so a state change, its audit entry and its effects commit together or not at all;
and it stops the goal's agent jobs when the rule says so.
"""

from __future__ import annotations

from datetime import datetime

from bot.services.errors import (
    GoalClosed,
    GoalNotFound,
    InvalidInput,
    NotAnApprover,
    NotAwaitingDecision,
    SelfApproval,
    ServiceError,
    StaleArtifact,
    WrongMessage,
)
from bot.services.unit import Actor
from bot.services.writes import artifact_facts as artifact_facts
from bot.services.writes import goal_facts as goal_facts
from bot.services.writes import write_change
from bot.sop.gates import PhaseFacts, label
from bot.sop.outcomes import Change, Refusal, Refused
from bot.sop.phases import Phase
from storage.models import Goal
from storage.repositories import Artifacts, Jobs
from storage.sessions import Session


def phase_facts(session: Session, goal: Goal) -> PhaseFacts:
    """What entering a phase or starting a task reads: versions so far, build keys, the texts the
    Mini-Spec triggers read (only when the Task List is the gate being passed)."""
    artifacts = Artifacts(session)
    texts: dict[str, str] = {}
    if goal.phase == Phase.TASK_LIST.value:
        texts = {p.value: artifacts.newest_text(goal.id, p.value) for p in (Phase.PRD, Phase.TASK_LIST)}
    return PhaseFacts(
        last_versions=artifacts.last_versions(goal.id),
        build_keys=Jobs(session).keys_with_prefix(f"build:{goal.id}:"),
        texts=texts,
    )


def apply_change(session: Session, goal: Goal, change: Change, *, actor: Actor, now: datetime) -> None:
    """Write `change` into the open transaction (rows, audit entries, outbox), in that order, and
    stop the goal's agent jobs when the change says so."""
    write_change(session, goal, change, actor=actor, now=now)
    if change.cancel_jobs:
        from bot.jobs.queue import cancel_goal_jobs  # local: the jobs package imports the services

        cancel_goal_jobs(session, goal.id, now)  # running ones stop when their worker next looks


def refusal_error(refusal: Refusal) -> ServiceError:
    """The sentence a person is shown for a rule's refusal."""
    r, goal_id, d = refusal.reason, refusal.goal_id, refusal.detail
    if r is Refused.GOAL_NOT_FOUND:
        return GoalNotFound(goal_id)
    if r is Refused.WRONG_MESSAGE:
        return WrongMessage(goal_id)
    if r is Refused.GOAL_CLOSED:
        return GoalClosed(goal_id, str(d.get("state")))
    if r is Refused.NOT_AN_APPROVER:
        return NotAnApprover(goal_id, label(str(d.get("phase"))))
    if r is Refused.SELF_APPROVAL and not refusal.message:
        return SelfApproval(goal_id)
    if r is Refused.NOT_AWAITING and not refusal.message:
        return NotAwaitingDecision(goal_id, label(str(d.get("phase"))), str(d.get("status")))
    if r is Refused.STALE:
        return StaleArtifact(d.get("clicked_version"), d.get("current_version"))
    if r is Refused.SECRET_IN_DIFF:
        from bot.services.diff_secrets import SecretInDiff  # local: it imports this module's neighbours

        return SecretInDiff(goal_id, int(d.get("version") or 0), list(d.get("findings") or []))
    return InvalidInput(refusal.message)
