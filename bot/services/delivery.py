"""Delivery use cases people start: retry a merge the Git host refused."""

from __future__ import annotations

from bot.services.errors import GoalNotFound, InvalidInput
from bot.services.goals import GoalService
from bot.services.unit import Actor, add_effect, audit, load_goal_for_update
from bot.sop.effect_kinds import Deliver
from storage.db import transaction


def retry_delivery(goals: GoalService, *, goal_id: str, actor: Actor, key: str) -> None:
    """Record one more `repo.deliver` for the goal (keyed by the click, so a double click is one)."""
    now = goals.clock()
    with transaction(goals.engine) as session:
        goal = load_goal_for_update(session, goal_id)
        if goal is None:
            raise GoalNotFound(goal_id)
        if actor.id != goal.requester and not goals.directory.is_approver(
            actor.id, goal.approvers, repo=goal.repo
        ):
            raise InvalidInput(f"Only the requester or an approver of {goal.id} can retry its delivery.")
        audit(session, actor=actor, action="delivery.retried", now=now, goal=goal)
        add_effect(
            session, key=f"deliver:retry:{goal.id}:{key[:80]}", goal_id=goal.id, now=now, payload=Deliver()
        )
    goals._committed()
