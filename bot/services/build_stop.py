"""Stop a running Codex build: the requester or an approver interrupts its turn, audited.

The turn ends as stopped and the build is held like one that changed nothing
(bot/services/empty_build.py): the goal waits with Retry / Request changes / Cancel goal.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from bot.codex import running
from bot.services.budgets import paused_at_budget
from bot.services.errors import GoalClosed, GoalNotFound, InvalidInput, ServiceError
from bot.services.unit import Actor, audit
from bot.sop.phases import GoalState, Phase, PhaseStatus
from storage.db import read_session, transaction
from storage.models import Goal
from storage.repositories import AuditReads, Goals, SlackMessages

if TYPE_CHECKING:
    from bot.services.goals import GoalService

STOP_REQUESTED = "build.stop_requested"
STATUS_KIND = "status"  # the goal's progress message (bot/effects/slack_status.py)
BUILDING = (PhaseStatus.DRAFTING, PhaseStatus.CHANGES_REQUESTED)
ELSEWHERE = "Stopping the build of {}: another process runs it and stops it within a few seconds."
POLL_SECONDS = 1.0  # how often a process running a build looks for a Stop recorded by another one


class NothingRunning(ServiceError):
    def __init__(self, goal_id: str) -> None:
        super().__init__(
            f"No build of {goal_id} is running here right now (it may have just finished or not started yet)."
        )


class PausedAtBudget(ServiceError):
    def __init__(self, goal_id: str) -> None:
        super().__init__(
            f"The build of {goal_id} is paused at its budget, so nothing runs to stop. An approver can "
            "raise the budget (the build then starts again) or stop the goal with the buttons in the thread."
        )


def is_building(goal: Goal) -> bool:
    return (
        goal.state == GoalState.ACTIVE
        and goal.phase == Phase.IMPLEMENTATION.value
        and goal.status in BUILDING
    )


def stop_build(service: GoalService, *, goal_id: str, actor: Actor) -> bool:
    """Stop the goal's running build: at once when it runs in this process (True); else the request
    is recorded and the process running it stops it within a few seconds (`stop_requested_by`)."""
    with read_session(service.engine) as session:
        goal = Goals(session).get(goal_id)
    if goal is None:
        raise GoalNotFound(goal_id)
    if goal.state != GoalState.ACTIVE:
        raise GoalClosed(goal.id, goal.state)
    if actor.id != goal.requester and not service.directory.is_approver(actor.id, repo=goal.repo):
        raise InvalidInput(f"Only the requester or an approver of {goal.id} can stop its build.")
    if not is_building(goal):
        raise NothingRunning(goal.id)
    if paused_at_budget(service, goal.id):
        raise PausedAtBudget(goal.id)
    interrupted = running.interrupt(goal.id, by=actor.id)
    with transaction(service.engine) as session:
        audit(
            session,
            actor=actor,
            action=STOP_REQUESTED,
            now=service.clock(),
            goal=Goals(session).get(goal.id),
            interrupted=interrupted,
        )
    return interrupted


def stop_requested_by(service: GoalService, *, goal_id: str, since: datetime) -> str | None:
    """Who asked, since `since`, to stop the goal's build from a process not running it (or None)."""
    with read_session(service.engine) as session:
        rows = AuditReads(session).of_goal(goal_id=goal_id, actions=(STOP_REQUESTED,), since=since)
    return next((e.actor for e in rows if not e.payload_dict().get("interrupted")), None)


def goal_of_status_message(service: GoalService, *, channel: str, ts: str) -> Goal | None:
    """The goal whose progress message this is (a `:x:` reaction on it stops its build)."""
    with read_session(service.engine) as session:
        row = SlackMessages(session).find(kind=STATUS_KIND, channel=channel, ts=ts)
        return Goals(session).get(row.goal_id) if row is not None else None
