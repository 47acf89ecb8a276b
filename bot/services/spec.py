"""A person sets or waives the Mini-Spec requirement, in writing, and the procedure follows.

The triggers found in the brief, PRD and task list decide by default whether a goal needs a
Mini-Spec. A person may overrule them either way, but only an approver, only with a written
justification of at least `MIN_JUSTIFICATION` characters, and only while the goal is before its
Action Plan approval: after that the plan and the code rest on the old decision. The decision is
stored in `Goal.spec_waiver`, audited (`spec.required` / `spec.waived` with the justification)
and honoured by `bot.sop.gates.assess_spec` when the Task List is approved. Decided later, it takes effect
at once: a goal at the Action Plan that now needs a spec goes back to the Mini-Spec, and a goal
drafting a spec that is now waived moves on to the Action Plan.

Nothing read from a thread, a brief or a model reaches this module: the only way in is a named
person's command (`orch goal spec`, later a Slack action), checked against the approver list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.services.changes import apply_change, goal_facts, phase_facts, refusal_error
from bot.services.errors import GoalClosed, GoalNotFound, InvalidInput, NotAnApprover, ServiceError
from bot.services.goals import GoalService
from bot.services.unit import Actor, load_goal_for_update
from bot.sop import gates
from bot.sop.outcomes import Refusal, Refused
from bot.sop.phases import LABELS, GoalState, Phase
from storage.db import transaction
from storage.repositories import Approvals, Effects
from storage.sessions import Session

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


def _apply(
    goals: GoalService,
    session: Session,
    goal_id: str,
    decision: SpecDecision,
    actor: Actor,
    justification: str,
    now: datetime,
) -> SpecOutcome:
    """Load the goal, apply `bot.sop.gates.set_spec`, write what it returns."""
    goal = load_goal_for_update(session, goal_id)
    if goal is None:
        raise GoalNotFound(goal_id)
    may = goal.state != GoalState.ACTIVE or goals.directory.may_decide(
        actor.id, goal.approvers, repo=goal.repo
    )
    approved = Approvals(session).approvers_in_phase(goal.id, Phase.SPEC.value)
    result = gates.set_spec(
        goal_facts(goal),
        decision=decision,
        actor=actor.id,
        justification=justification,
        may_decide=may,
        spec_approved=bool(approved),
        decisions_so_far=Effects(session).count_with_prefix(f"publish:{goal.id}:spec-"),
        now=now,
        policy=goals.policy,
        history=phase_facts(session, goal),
    )
    if isinstance(result, Refusal):
        if result.reason is Refused.SELF_APPROVAL:
            raise SelfWaiver(goal.id)
        if result.reason is Refused.TOO_LATE:
            raise SpecDecisionTooLate(goal.id, goal.phase)
        raise refusal_error(result)
    apply_change(session, goal, result.change, actor=actor, now=now)
    return SpecOutcome(goal.id, decision, goal.phase, result.moved)
