"""Request an expired approval again: the same content is posted as the next version.

A new version (not the old message revived) gives the gate a fresh SLA clock and fresh reminder
levels, and shows everyone in the thread that the request was renewed. The content, and so its
sha256, is unchanged, so nothing about what is being approved changes. The rules are
`bot.sop.gates.rerequest` (who may, and when) and `gates.rerequested` (what is recorded).
"""

from __future__ import annotations

from bot.services.changes import apply_change, artifact_facts, goal_facts, refusal_error
from bot.services.errors import GoalNotFound, InvalidInput
from bot.services.goals import GoalService
from bot.services.unit import Actor, load_goal_for_update
from bot.sop import gates
from storage.db import read_session, transaction
from storage.models import Artifact
from storage.repositories import Artifacts, Goals, Reminders


def rerequest(goals: GoalService, *, goal_id: str, actor: Actor) -> Artifact:
    """Post the expired artifact again as version n+1, awaiting approval. Refusals raise ServiceError."""
    with read_session(goals.engine) as session:
        goal = Goals(session).get(goal_id)
        if goal is None:
            raise GoalNotFound(goal_id)
        old = Artifacts(session).current(goal)
    facts = goal_facts(goal)
    is_approver = (
        goal.state == "active"
        and actor.id != goal.requester
        and goals.directory.is_approver(actor.id, repo=goal.repo)
    )
    refused = gates.rerequest(facts, artifact_facts(old), actor=actor.id, is_approver=is_approver)
    if refused is not None:
        raise refusal_error(refused)
    assert old is not None
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
    new_facts = artifact_facts(new)
    assert new_facts is not None
    with transaction(goals.engine) as session:
        locked = load_goal_for_update(session, goal.id)
        assert locked is not None
        change = gates.rerequested(goal_facts(locked), new_facts, previous_version=old.version)
        # Two clicks at once both reach here with the same new version; only the first is audited.
        if change.level is not None and not Reminders(session).exists(change.level.key):
            apply_change(session, locked, change, actor=actor, now=now)
    return new
