"""A build that changed nothing is never offered as an approvable diff.

Approving an empty diff would close the task with nothing merged. Instead the goal waits as failed
and its thread says what happened (what the builder tried that did not go through, and its last
message) with Retry and Request changes (bot/blocks/empty_build.py). Either runs the build again,
as the next version of the task's diff; Request changes passes the person's directions as feedback.
Both are open to the goal's requester and its approvers, and audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.redact import redact
from bot.services.errors import GoalClosed, GoalNotFound, InvalidInput, ServiceError
from bot.services.unit import Actor, add_effect, audit, load_goal_for_update
from bot.sop.effect_kinds import Build, EmptyBuild, Status
from bot.sop.phases import GoalState, Phase, PhaseStatus
from storage.audit import AuditEntry
from storage.db import transaction
from storage.repositories import AuditReads, Effects

if TYPE_CHECKING:
    from bot.services.goals import GoalService

EMPTY = "build.empty"
RETRIED = "build.retried"
EFFECT_KIND = EmptyBuild.KIND
MAX_FAILED_SHOWN = 10


class NothingToRetry(ServiceError):
    def __init__(self, goal_id: str) -> None:
        super().__init__(f"{goal_id} has no build that changed nothing waiting for a retry (it moved on).")


@dataclass(frozen=True)
class Retried:
    goal_id: str
    task_id: int
    version: int  # the version the new build will post


def record_empty_build(
    service: GoalService,
    *,
    goal_id: str,
    task_id: int,
    version: int,
    run_id: str | None,
    last_message: str,
    failed_actions: Sequence[str] = (),
    stopped_by: str | None = None,
) -> bool:
    """Hold the goal and tell its thread, instead of posting an empty diff. Replays are no-ops.

    A build a person stopped (`stopped_by`) is held the same way, whatever it changed so far."""
    now = service.clock()
    key = f"codex_empty:{goal_id}:{task_id}:{version}"
    failed = [redact(a) for a in failed_actions][:MAX_FAILED_SHOWN]
    message = redact(last_message.strip())
    with transaction(service.engine) as session:
        goal = load_goal_for_update(session, goal_id)
        if goal is None or goal.state != GoalState.ACTIVE or goal.phase != Phase.IMPLEMENTATION.value:
            return False
        if Effects(session).exists(key):
            return False
        goal.status = PhaseStatus.FAILED
        goal.updated_at = now
        session.add(goal)
        audit(
            session,
            actor=Actor("bot"),
            action=EMPTY,
            now=now,
            goal=goal,
            run_id=run_id,
            task_id=task_id,
            version=version,
            failed_actions=failed,
            last_message=message[:2000],
            stopped_by=stopped_by,
        )
        add_effect(
            session,
            key=key,
            goal_id=goal_id,
            now=now,
            payload=EmptyBuild(
                task_id=task_id,
                version=version,
                run_id=run_id,
                failed_actions=failed,
                last_message=message[:2000],
                stopped_by=stopped_by,
            ),
        )
        service._card_effect(session, goal, now, f"implementation:{task_id}:{version}:empty")
    service._committed()
    return True


def _last_empty(session: Any, goal_id: str) -> AuditEntry | None:
    return AuditReads(session).newest_of(goal_id=goal_id, actions=(EMPTY, RETRIED))


def retry_empty_build(
    service: GoalService, *, goal_id: str, actor: Actor, feedback: str | None = None
) -> Retried:
    """Run the build that changed nothing again (with `feedback` when a person gave directions)."""
    feedback = redact(feedback.strip()) if feedback and feedback.strip() else None
    now = service.clock()
    with transaction(service.engine) as session:
        goal = load_goal_for_update(session, goal_id)
        if goal is None:
            raise GoalNotFound(goal_id)
        if goal.state != GoalState.ACTIVE:
            raise GoalClosed(goal.id, goal.state)
        if actor.id != goal.requester and not service.directory.is_approver(actor.id, repo=goal.repo):
            raise InvalidInput(f"Only the requester or an approver of {goal.id} can run its build again.")
        last = _last_empty(session, goal.id)
        if (
            last is None
            or last.action != EMPTY
            or goal.phase != Phase.IMPLEMENTATION.value
            or goal.status != PhaseStatus.FAILED
        ):
            raise NothingToRetry(goal.id)
        held = last.payload_dict()
        task_id, version = int(held["task_id"]), int(held["version"]) + 1
        goal.status = PhaseStatus.CHANGES_REQUESTED if feedback else PhaseStatus.DRAFTING
        goal.updated_at = now
        session.add(goal)
        audit(
            session,
            actor=actor,
            action=RETRIED,
            now=now,
            goal=goal,
            task_id=task_id,
            version=version,
            feedback=feedback,
        )
        add_effect(
            session,
            key=f"build:{goal.id}:{task_id}:{version}:retry",
            goal_id=goal.id,
            now=now,
            payload=Build(task_id=task_id, version=version, feedback=feedback),
        )
        add_effect(
            session,
            key=f"status:{goal.id}:{task_id}:{version}:retry",
            goal_id=goal.id,
            now=now,
            payload=Status(),
        )
        service._card_effect(session, goal, now, f"implementation:{task_id}:{version}:retry")
    service._committed()
    return Retried(goal.id, task_id, version)
