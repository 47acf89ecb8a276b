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

from sqlmodel import Session, col, select

from bot.services.errors import GoalClosed, GoalNotFound, InvalidInput, NotAnApprover, SelfApproval
from bot.services.goals import GoalService
from bot.services.unit import Actor, add_effect, audit, load_goal_for_update
from bot.sop.effect_kinds import PublishState, ThreadNote
from bot.sop.phases import LABELS, GoalState, Phase
from storage.db import transaction
from storage.models import Approval, Artifact, ArtifactReview, Goal


@dataclass(frozen=True)
class Reviewed:
    phase: str
    version: int
    sha256: str


def approved_latest(session: Session, goal: Goal) -> list[Artifact]:
    """The latest version of each document phase, when that version is approved."""
    rows = session.exec(
        select(Artifact).where(Artifact.goal_id == goal.id, Artifact.task_id == 0).order_by(col(Artifact.id))
    ).all()
    latest: dict[str, Artifact] = {}
    for art in rows:
        latest[art.phase] = art
    approved = set(
        session.exec(
            select(Approval.artifact_sha256).where(
                Approval.goal_id == goal.id, Approval.decision == "approve"
            )
        ).all()
    )
    return [a for a in latest.values() if a.sha256 in approved]


def _checked(goals: GoalService, session: Session, goal_id: str, actor: Actor) -> Goal:
    goal = load_goal_for_update(session, goal_id)
    if goal is None:
        raise GoalNotFound(goal_id)
    if goal.state != GoalState.ACTIVE:
        raise GoalClosed(goal.id, goal.state)
    if not goals.directory.is_approver(actor.id):
        raise NotAnApprover(goal.id, "re-review")
    if actor.id == goal.requester and not goals.allow_self_approval:
        raise SelfApproval(goal.id)
    return goal


def _stale_click(goal: Goal, phase: str, sha256: str, current: list[Artifact]) -> None:
    """A button names the version it showed: refuse when that is no longer the approved one."""
    if not any(a.phase == phase and a.sha256 == sha256 for a in current):
        raise InvalidInput(
            f"{goal.id} {LABELS[Phase(phase)]}: the version this message showed is no longer the approved "
            "one; your click changed nothing"
        )


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
        current = approved_latest(session, goal)
        if sha256 is not None:
            for phase in wanted:
                _stale_click(goal, phase, sha256, current)
        artifacts = [a for a in current if not wanted or a.phase in wanted]
        if not artifacts:
            raise InvalidInput(
                f"{goal.id} has no approved artifact to re-review" + (" in that phase" if wanted else "")
            )
        done = []
        for art in artifacts:
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
            audit(
                session,
                actor=actor,
                action="artifact.reviewed",
                now=now,
                goal=goal,
                phase=art.phase,
                sha=art.sha256,
                version=art.version,
                outcome="unchanged",
            )
            done.append(Reviewed(art.phase, art.version, art.sha256))
        names = ", ".join(f"{LABELS[Phase(r.phase)]} v{r.version}" for r in done)
        add_effect(
            session,
            key=f"publish:{goal.id}:reviewed:{now.isoformat()}",
            goal_id=goal.id,
            now=now,
            payload=PublishState(
                message=f"orch({goal.id}): re-review {names} — unchanged",
                trailers={"Phase": ", ".join(r.phase for r in done), "Approved-By": actor.id},
            ),
        )
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
        current = approved_latest(session, goal)
        _stale_click(goal, phase, sha256, current)
        art = next(a for a in current if a.phase == phase)
        audit(session, actor=actor, action="review.changes_requested", now=now, goal=goal, phase=phase,
              sha=sha256, version=art.version)  # fmt: skip
        if goal.channel_id:
            label = f"{LABELS[Phase(phase)]} v{art.version}"
            add_effect(
                session,
                key=f"note:{goal.id}:review-changes:{phase}:{sha256[:12]}:{actor.id}:{now.isoformat()}",
                goal_id=goal.id,
                now=now,
                payload=ThreadNote(
                    text=f"<@{actor.id}> asks for changes to {label} instead of re-approving it unchanged. "
                    f"<@{goal.requester}>: until an approver re-approves it, it goes stale and the spec guard "
                    "refuses the repository; bring the change as a new goal (`/orch start`), or cancel this one."
                ),
            )
    goals._committed()
