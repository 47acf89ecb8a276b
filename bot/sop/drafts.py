"""The rule for recording a drafted artifact version: which goals take a draft, and what storing
one writes (the goal awaits a decision, the audit entry, the post in the thread and the goal card).
Plain data in, what happened out; the time comes in as a value."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.sop.effect_kinds import PostArtifact, UpdateCard
from bot.sop.outcomes import BOT, Change, Effect, Event, GoalFacts
from bot.sop.phases import GoalState, PhaseStatus


def takes_draft(goal: GoalFacts, phase: str) -> bool:
    """A draft is recorded only for an open goal still in the phase it was drafted for (a late
    draft of a phase the goal has left, or of a closed goal, is dropped)."""
    return goal.state == GoalState.ACTIVE and goal.phase == phase


def drafted(
    goal: GoalFacts,
    *,
    artifact_id: int,
    phase: str,
    version: int,
    task_id: int,
    sha256: str,
    drafted_by: str,
    run_id: str | None,
    tasks: Sequence[Mapping[str, Any]] | None,
    at: datetime,
) -> Change:
    """The stored version asks for a decision: the goal awaits approval (with the draft's task list
    when it brings one), the draft is audited, posted in the thread and shown on the goal card."""
    after = goal.but(status=PhaseStatus.AWAITING_APPROVAL.value, updated_at=at)
    if tasks is not None:
        after = after.but(tasks=tuple(dict(t) for t in tasks))
    event = Event(
        action="artifact.drafted",
        phase=goal.phase,
        actor=BOT,
        sha=sha256,
        payload={"run_id": run_id, "version": version, "task_id": task_id or None, "drafted_by": drafted_by},
    )
    effects = [
        Effect(
            key=f"artifact:{goal.id}:{phase}:{task_id}:{version}:post",
            data=PostArtifact(artifact_id=artifact_id),
        )
    ]
    if goal.channel_id:
        effects.append(Effect(key=f"card:{goal.id}:{phase}:{task_id}:{version}:drafted", data=UpdateCard()))
    return Change(goal=after, events=(event,), effects=tuple(effects))
