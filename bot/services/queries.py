"""Read-only views of goals for the CLI and Slack status."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.services.errors import GoalNotFound
from bot.sop.phases import LABELS, Phase
from storage.db import read_session
from storage.repositories import Approvals, Artifacts, Goals

if TYPE_CHECKING:
    from bot.deps import Deps as Container


def goal_details(*, container: Container, goal_id: str) -> dict[str, Any]:
    with read_session(container.engine) as session:
        goal = Goals(session).get(goal_id)
        if goal is None:
            raise GoalNotFound(goal_id)
        artifacts = Artifacts(session).of_goal(goal_id)
        approvals = Approvals(session).of_goal(goal_id)
    current = next((a for a in reversed(artifacts) if a.phase == goal.phase), None)
    lines = [
        f"{goal.id}  {goal.title}",
        f"  requester {goal.requester} · phase {LABELS[Phase(goal.phase)]} · "
        f"{goal.status.replace('_', ' ') if goal.state == 'active' else goal.state} · mode {goal.mode}",
        f"  spec required: {goal.spec_required} {('(' + ', '.join(goal.spec_triggers) + ')') if goal.spec_triggers else ''}",
        "  artifacts:",
    ]
    for art in artifacts:
        task = f" task {art.task_id}" if art.task_id else ""
        lines.append(f"    {art.phase}{task} v{art.version}  sha {art.sha256[:12]}  by {art.drafted_by}")
    lines.append("  decisions:")
    for ap in approvals:
        lines.append(
            f"    {ap.at:%Y-%m-%d %H:%M} {ap.decision} {ap.phase} v{ap.artifact_version} by {ap.by}"
            + (f": {ap.reason}" if ap.reason else "")
        )
    if current is not None:
        lines += ["", f"--- current artifact: {current.phase} v{current.version} ---", current.content]
    return {
        "id": goal.id,
        "title": goal.title,
        "phase": goal.phase,
        "status": goal.status,
        "state": goal.state,
        "artifacts": [
            {"phase": a.phase, "version": a.version, "task_id": a.task_id, "sha256": a.sha256}
            for a in artifacts
        ],
        "approvals": [
            {
                "phase": a.phase,
                "decision": a.decision,
                "by": a.by,
                "at": a.at.isoformat(),
                "version": a.artifact_version,
            }
            for a in approvals
        ],
        "tasks": goal.tasks,
        "text": "\n".join(lines),
    }
