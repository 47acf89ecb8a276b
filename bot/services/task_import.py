"""Propose a Task Master import as the goal's next Task List version, through the gate."""

from __future__ import annotations

from bot.redact import redact
from bot.services.drafts import MAX_CONTENT
from bot.services.errors import InvalidInput
from bot.services.goals import GoalService
from bot.sop.phases import LABELS, GoalState, Phase
from bot.sop.records import TaskRecord
from bot.sop.task_import import render_import, task_changes
from storage.db import read_session
from storage.models import Artifact
from storage.repositories import Artifacts


def propose_import(
    goals: GoalService, *, goal_id: str, tasks: list[TaskRecord], source: str, actor: str
) -> tuple[Artifact, list[str]]:
    """The imported tasks as the next Task List draft (audited as drafted by the import); the
    changes against the current task list. Refused unless the goal is at its Task List."""
    goal = goals.get(goal_id)
    if goal.state != GoalState.ACTIVE:
        raise InvalidInput(f"{goal.id} is {goal.state}; a task list is only proposed for an active goal")
    if goal.phase != Phase.TASK_LIST.value:
        raise InvalidInput(
            f"{goal.id} is at the {LABELS[Phase(goal.phase)]}, not the Task List: an imported task list is "
            "proposed while the goal is at its Task List (start a goal for the new work, or ask an approver)"
        )
    current = [TaskRecord.model_validate(t) for t in goal.tasks]
    changes = task_changes(current, tasks)
    if not changes:
        raise InvalidInput(f"{goal.id}'s task list already holds these tasks; there is nothing to propose")
    content = render_import(title=goal.title, goal_id=goal.id, source=source, current=current, proposed=tasks)
    if len(content) > MAX_CONTENT:
        raise InvalidInput(
            f"the imported task list is {len(content)} characters as Markdown; at most {MAX_CONTENT}"
        )
    with read_session(goals.engine) as session:
        last = Artifacts(session).last_version(goal_id=goal.id, phase=goal.phase)
    artifact = goals.record_draft(
        goal_id=goal.id,
        phase=goal.phase,
        version=(last or 0) + 1,
        content=redact(content),
        summary=redact(f"Task Master import of {source}: {len(changes)} change(s)")[:300],
        drafted_by=redact(f"taskmaster-import:{actor}")[:80],
        offline=False,
        tasks=[t.model_dump(mode="json") for t in tasks],
    )
    if artifact is None:
        raise InvalidInput(f"{goal.id} moved on while the import was proposed; read it again")
    return artifact, changes
