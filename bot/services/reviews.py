"""Re-review: an approver confirms that approved artifacts still hold, leaving them unchanged.

An approved artifact goes stale `max_age_days` after its last review (the spec guard refuses it
then). "Re-approve unchanged" records a new review date for the same sha256: one
`artifact_reviews` row per artifact, one audit entry each, and one commit of the index with
`Approved-By` and `Phase` trailers. It moves no gate. The same separation of duties as an
approval applies: an approver, not the goal's requester.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.services.changes import apply_change, artifact_facts, goal_facts
from bot.services.errors import (
    GoalClosed,
    GoalNotFound,
    InvalidInput,
    NotAnApprover,
    SelfApproval,
    ServiceError,
)
from bot.services.goals import GoalService
from bot.services.unit import Actor, load_goal_for_update
from bot.sop import reviews as rules
from bot.sop.outcomes import ArtifactFacts, Refusal, Refused
from bot.sop.phases import GoalState, Phase
from storage.db import transaction
from storage.models import Artifact, ArtifactReview, Goal
from storage.repositories import Approvals, Artifacts
from storage.sessions import Session


@dataclass(frozen=True)
class Reviewed:
    phase: str
    version: int
    sha256: str


def approved_latest(session: Session, goal: Goal) -> list[Artifact]:
    """The latest version of each document phase, when that version is approved."""
    return rules.approved_latest(
        Artifacts(session).documents(goal_id=goal.id), Approvals(session).approved_shas(goal_id=goal.id)
    )


def _checked(goals: GoalService, session: Session, goal_id: str, actor: Actor) -> Goal:
    goal = load_goal_for_update(session, goal_id)
    if goal is None:
        raise GoalNotFound(goal_id)
    refusal = rules.check_reviewer(
        goal_facts(goal),
        actor.id,
        is_approver=goal.state != GoalState.ACTIVE or goals.directory.is_approver(actor.id, repo=goal.repo),
        allow_self_approval=goals.allow_self_approval,
    )
    if refusal is not None:
        raise _error(refusal)
    return goal


def _error(refusal: Refusal) -> ServiceError:
    if refusal.reason is Refused.GOAL_CLOSED:
        return GoalClosed(refusal.goal_id, str(refusal.detail.get("state")))
    if refusal.reason is Refused.NOT_AN_APPROVER:
        return NotAnApprover(refusal.goal_id, "re-review")
    if refusal.reason is Refused.SELF_APPROVAL:
        return SelfApproval(refusal.goal_id)
    return InvalidInput(refusal.message)


def _facts(current: list[Artifact]) -> list[ArtifactFacts]:
    return [f for f in map(artifact_facts, current) if f is not None]


def reaffirm(
    goals: GoalService,
    *,
    goal_id: str,
    actor: Actor,
    phases: Iterable[str] = (),
    sha256: str | None = None,
) -> list[Reviewed]:
    """Re-approve unchanged the approved artifacts of a goal (all, or those of `phases`); with
    `sha256` (a button's), only if that is still the approved version."""
    wanted = {Phase(p).value for p in phases}
    now = goals.clock()
    with transaction(goals.engine) as session:
        goal = _checked(goals, session, goal_id, actor)
        current = _facts(approved_latest(session, goal))
        outcome = rules.reaffirm(
            goal_facts(goal), current, actor=actor.id, phases=wanted, sha256=sha256, at=now
        )
        if isinstance(outcome, Refusal):
            raise _error(outcome)
        for art in outcome.reviewed:
            session.add(
                ArtifactReview(
                    goal_id=goal.id,
                    phase=art.phase,
                    artifact_version=art.version,
                    artifact_sha256=art.sha256,
                    by=actor.id,
                    at=now,
                )
            )
        apply_change(session, goal, outcome.change, actor=actor, now=now)
        done = [Reviewed(a.phase, a.version, a.sha256) for a in outcome.reviewed]
    goals._committed()
    return done


def ask_for_changes(goals: GoalService, *, goal_id: str, phase: str, sha256: str, actor: Actor) -> None:
    """An approver asks for changes of an approved artifact (a freshness reminder's button).

    The procedure does not reopen an earlier phase; the request is said in the goal's thread, to
    its requester, with what they can do, and audited. Unless it is re-approved, the artifact goes
    stale and the spec guard then refuses the repository."""
    now = goals.clock()
    with transaction(goals.engine) as session:
        goal = _checked(goals, session, goal_id, actor)
        current = _facts(approved_latest(session, goal))
        change = rules.ask_for_changes(
            goal_facts(goal), current, actor=actor.id, phase=phase, sha256=sha256, at=now
        )
        if isinstance(change, Refusal):
            raise _error(change)
        apply_change(session, goal, change, actor=actor, now=now)
    goals._committed()
