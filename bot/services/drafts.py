"""A person's own draft of the current phase's artifact, taken like an agent's draft.

The team may write a PRD, Mini-Spec or Action Plan themselves (from the CLI, or an MCP client):
the text becomes the next version of the phase's artifact and waits for approval like any draft.
"""

from __future__ import annotations

from bot.redact import redact
from bot.services.errors import InvalidInput
from bot.services.goals import GoalService
from bot.sop.phases import GoalState, Phase
from storage.db import read_session
from storage.models import Artifact
from storage.repositories import Artifacts

MAX_CONTENT = 60_000


def submit_draft(
    goals: GoalService, *, goal_id: str, content: str, summary: str, drafted_by: str
) -> Artifact:
    goal = goals.get(goal_id)
    if goal.state != GoalState.ACTIVE:
        raise InvalidInput(f"{goal.id} is {goal.state}; drafts are only taken for active goals")
    if goal.phase in (Phase.SCAFFOLD_CHECK.value, Phase.IMPLEMENTATION.value, Phase.DONE.value):
        raise InvalidInput(
            f"{goal.id} is at {goal.phase}: that artifact is produced by the orchestrator itself"
        )
    if not content.strip() or len(content) > MAX_CONTENT:
        raise InvalidInput(f"a draft needs content (at most {MAX_CONTENT} characters)")
    with read_session(goals.engine) as session:
        versions = Artifacts(session).versions(goal.id, goal.phase)
    artifact = goals.record_draft(
        goal_id=goal.id,
        phase=goal.phase,
        version=max(versions, default=0) + 1,
        content=redact(content),
        summary=redact(summary)[:300],
        drafted_by=redact(drafted_by)[:80],
        offline=False,
    )
    if artifact is None:
        raise InvalidInput(f"{goal.id} moved on while the draft was submitted; read it again")
    return artifact
