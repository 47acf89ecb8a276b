"""A person sets or waives the Mini-Spec requirement, in writing, and the procedure follows.

The triggers found in the brief, PRD and task list decide by default whether a goal needs a
Mini-Spec. A person may overrule them either way, but only an approver, only with a written
justification of at least `MIN_JUSTIFICATION` characters, and only while the goal is before its
Action Plan approval: after that the plan and the code rest on the old decision. The decision is
stored in `Goal.spec_waiver`, audited (`spec.required` / `spec.waived` with the justification)
and honoured by `flow.decide_spec` when the Task List is approved. Decided later, it takes effect
at once: a goal at the Action Plan that now needs a spec goes back to the Mini-Spec, and a goal
drafting a spec that is now waived moves on to the Action Plan.

Nothing read from a thread, a brief or a model reaches this module: the only way in is a named
person's command (`orch goal spec`, later a Slack action), checked against the approver list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlmodel import Session, col, func, select

from bot.services.errors import GoalClosed, GoalNotFound, InvalidInput, NotAnApprover, ServiceError
from bot.services.goals import GoalService
from bot.services.unit import Actor, add_effect, audit, load_goal_for_update
from bot.sop.phases import LABELS, ORDER, Decision, GoalState, Phase
from storage.db import transaction
from storage.models import Approval, Effect, Goal

SpecDecision = Literal["required", "waived"]
DECISIONS: tuple[SpecDecision, ...] = ("required", "waived")
MIN_JUSTIFICATION = 20
MAX_JUSTIFICATION = 2_000


class SelfWaiver(ServiceError):
    def __init__(self, goal_id: str) -> None:
        super().__init__(
            f"You started {goal_id}, so you cannot waive its Mini-Spec yourself (separation of duties). "
            "Ask another approver."
        )


class SpecDecisionTooLate(ServiceError):
    def __init__(self, goal_id: str, phase: str) -> None:
        super().__init__(
            f"{goal_id} is at {LABELS[Phase(phase)]}: its Action Plan is approved, so the Mini-Spec decision "
            "can no longer change. Start a new goal for a follow-up."
        )


@dataclass(frozen=True)
class SpecOutcome:
    goal_id: str
    decision: SpecDecision
    phase: str  # the goal's phase after the decision
    moved: bool  # the decision re-opened the Mini-Spec or skipped it


def _clean(justification: str | None) -> str:
    text = " ".join((justification or "").replace("\x00", "").split())
    if len(text) < MIN_JUSTIFICATION:
        raise InvalidInput(
            f"Please justify the decision in writing (at least {MIN_JUSTIFICATION} characters, "
            f"got {len(text)}): it goes into the audit log and the goal's record."
        )
    if len(text) > MAX_JUSTIFICATION:
        raise InvalidInput(f"The justification is {len(text)} characters; keep it under {MAX_JUSTIFICATION}.")
    return text


def set_spec_requirement(
    goals: GoalService, *, goal_id: str, decision: str, actor: Actor, justification: str | None
) -> SpecOutcome:
    """Record that the goal's Mini-Spec is `required` or `waived`, and apply it if already due."""
    if decision not in DECISIONS:
        raise InvalidInput("The Mini-Spec decision is either `required` or `waived`.")
    text = _clean(justification)
    now = goals.clock()
    try:
        with transaction(goals.engine) as session:
            outcome = _apply(goals, session, goal_id, decision, actor, text, now)  # type: ignore[arg-type]
    except (NotAnApprover, SelfWaiver, GoalClosed, SpecDecisionTooLate) as exc:
        goals.refuse(goal_id=goal_id, actor=actor, reason=type(exc).__name__, decision=f"spec.{decision}")
        raise
    goals._committed()
    return outcome


def _spec_approved(session: Session, goal: Goal) -> bool:
    return (
        session.exec(
            select(Approval.id).where(
                Approval.goal_id == goal.id,
                Approval.phase == Phase.SPEC.value,
                Approval.decision == Decision.APPROVE.value,
            )
        ).first()
        is not None
    )


def _apply(
    goals: GoalService,
    session: Session,
    goal_id: str,
    decision: SpecDecision,
    actor: Actor,
    justification: str,
    now: datetime,
) -> SpecOutcome:
    from bot.services.flow import enter_phase, record_spec_skip  # flow imports goals; keep the cycle lazy

    goal = load_goal_for_update(session, goal_id)
    if goal is None:
        raise GoalNotFound(goal_id)
    if goal.state != GoalState.ACTIVE:
        raise GoalClosed(goal.id, goal.state)
    if not goals.directory.may_decide(actor.id, goal.approvers, repo=goal.repo):
        raise NotAnApprover(goal.id, LABELS[Phase.SPEC])
    # Waiving removes a gate, so it follows the gates' separation of duties; requiring adds one.
    if decision == "waived" and actor.id == goal.requester and not goals.allow_self_approval:
        raise SelfWaiver(goal.id)
    phase = Phase(goal.phase)
    if ORDER.index(phase) > ORDER.index(Phase.ACTION_PLAN):
        raise SpecDecisionTooLate(goal.id, goal.phase)

    previous = (goal.spec_waiver or {}).get("decision")
    goal.spec_waiver = {
        "decision": decision,
        "by": actor.id,
        "at": now.isoformat(),
        "justification": justification,
    }
    goal.spec_required = decision == "required"
    goal.updated_at = now
    session.add(goal)
    audit(
        session,
        actor=actor,
        action=f"spec.{decision}",
        now=now,
        goal=goal,
        justification=justification,
        previous=previous,
        triggers=list(goal.spec_triggers),
    )

    # One publish per decision, numbered, so a second decision is committed too (keys are unique).
    prefix = f"publish:{goal.id}:spec-"
    count = session.exec(
        select(func.count()).select_from(Effect).where(col(Effect.key).startswith(prefix))
    ).one()
    tag = f"spec-{count + 1}"
    moved = False
    if decision == "required" and phase is Phase.ACTION_PLAN and not _spec_approved(session, goal):
        # The Action Plan in the making rests on "no spec": back to the Mini-Spec, then a fresh plan.
        enter_phase(goals, session, goal, Phase.SPEC, now, actor, tag)
        moved = True
    elif decision == "waived" and phase is Phase.SPEC:
        record_spec_skip(session, goal, now)
        enter_phase(goals, session, goal, Phase.ACTION_PLAN, now, actor, tag)
        moved = True
    else:
        goals._card_effect(session, goal, now, tag)
    if goal.channel_id:
        add_effect(
            session,
            key=f"note:{goal.id}:{tag}",
            kind="slack.thread_note",
            goal_id=goal.id,
            now=now,
            text=f"Mini-Spec {decision} by <@{actor.id}>: {justification}",
        )
    add_effect(
        session,
        key=f"{prefix}{count + 1}",
        kind="repo.publish_state",
        goal_id=goal.id,
        now=now,
        message=f"orch({goal.id}): mini-spec {decision} — {goal.title}",
    )
    return SpecOutcome(goal.id, decision, goal.phase, moved)
