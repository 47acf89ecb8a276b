"""Request an expired approval again: the same content is posted as the next version.

A new version (not the old message revived) gives the gate a fresh SLA clock and fresh reminder
levels, and shows everyone in the thread that the request was renewed. The content, and so its
sha256, is unchanged, so nothing about what is being approved changes.
"""

from __future__ import annotations

from sqlmodel import select

from bot.jobs.sla import current_artifact
from bot.services.errors import GoalClosed, GoalNotFound, InvalidInput
from bot.services.goals import GoalService
from bot.services.unit import Actor, audit, load_goal_for_update
from bot.sop.phases import LABELS, GoalState, Phase, PhaseStatus
from storage.db import read_session, transaction
from storage.jobs_models import Reminder
from storage.models import Artifact, Goal


def rerequest(goals: GoalService, *, goal_id: str, actor: Actor) -> Artifact:
    """Post the expired artifact again as version n+1, awaiting approval. Refusals raise ServiceError."""
    with read_session(goals.engine) as session:
        goal = session.get(Goal, goal_id)
        if goal is None:
            raise GoalNotFound(goal_id)
        if goal.state != GoalState.ACTIVE:
            raise GoalClosed(goal.id, goal.state)
        allowed = (
            actor.id == goal.requester or goals.directory.is_approver(actor.id) or actor.id.startswith("cli:")
        )
        if not allowed:
            raise InvalidInput(f"Only the requester or an approver can request {goal.id} again.")
        if goal.status != PhaseStatus.EXPIRED:
            raise InvalidInput(
                f"{goal.id} {LABELS[Phase(goal.phase)]} has not expired "
                f"(it is {goal.status.replace('_', ' ')}); there is nothing to request again."
            )
        old = current_artifact(session, goal)
        if old is None:
            raise InvalidInput(f"{goal.id} has no artifact to request again.")
    new = goals.record_draft(
        goal_id=goal.id,
        phase=goal.phase,
        version=old.version + 1,
        content=old.content,
        summary=old.summary,
        drafted_by=old.drafted_by,
        offline=old.offline,
        task_id=old.task_id,
    )
    if new is None:
        raise InvalidInput(f"{goal.id} moved on; there is nothing to request again.")
    now = goals.clock()
    key = f"rerequest:{goal.id}:{goal.phase}:{new.task_id}:v{new.version}"
    with transaction(goals.engine) as session:
        locked = load_goal_for_update(session, goal.id)
        # Two clicks at once both reach here with the same new version; only the first is audited.
        if session.exec(select(Reminder.id).where(Reminder.key == key)).first() is None:
            session.add(
                Reminder(
                    key=key,
                    level="rerequested",
                    goal_id=goal.id,
                    phase=goal.phase,
                    version=new.version,
                    recipients=[],
                    sent_at=now,
                )
            )
            audit(
                session,
                actor=actor,
                action="approval.rerequested",
                now=now,
                goal=locked,
                sha=new.sha256,
                version=new.version,
                previous_version=old.version,
                task_id=new.task_id or None,
            )
    return new
