"""Recording a draft as data in, data out: which goals take it and what storing it writes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from bot.sop import drafts
from bot.sop.outcomes import GoalFacts
from bot.sop.phases import GoalState, Phase, PhaseStatus

AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def goal(**kw: Any) -> GoalFacts:
    base = GoalFacts(
        id="G-0001",
        title="CSV export",
        requester="UREQ",
        phase=Phase.TASK_LIST.value,
        status=PhaseStatus.DRAFTING.value,
        state=GoalState.ACTIVE.value,
        channel_id="C1",
        tasks=({"id": 1, "title": "old"},),
    )
    return replace(base, **kw)


def record(g: GoalFacts, **kw: Any) -> Any:
    args: dict[str, Any] = {
        "artifact_id": 7,
        "phase": Phase.TASK_LIST.value,
        "version": 2,
        "task_id": 0,
        "sha256": "a" * 64,
        "drafted_by": "offline",
        "run_id": "run-1",
        "tasks": None,
        "at": AT,
    }
    return drafts.drafted(g, **{**args, **kw})


def test_only_an_open_goal_still_in_the_drafted_phase_takes_the_draft() -> None:
    assert drafts.takes_draft(goal(), Phase.TASK_LIST.value)
    assert not drafts.takes_draft(goal(), Phase.PRD.value)  # a late draft of a phase it has left
    assert not drafts.takes_draft(goal(state=GoalState.CANCELLED.value), Phase.TASK_LIST.value)


def test_a_stored_draft_awaits_a_decision_is_audited_and_posted() -> None:
    change = record(goal())
    assert change.goal.status == PhaseStatus.AWAITING_APPROVAL
    assert change.goal.updated_at == AT
    assert change.goal.tasks == goal().tasks  # a draft without a task list keeps the goal's
    (event,) = change.events
    assert (event.action, event.actor, event.sha) == ("artifact.drafted", "bot", "a" * 64)
    assert dict(event.payload) == {"run_id": "run-1", "version": 2, "task_id": None, "drafted_by": "offline"}
    post, card = change.effects
    assert (post.key, post.kind, dict(post.payload)) == (
        "artifact:G-0001:task_list:0:2:post",
        "slack.post_artifact",
        {"artifact_id": 7},
    )
    assert (card.key, card.kind) == ("card:G-0001:task_list:0:2:drafted", "slack.update_card")


def test_a_task_list_draft_brings_its_tasks_and_a_goal_without_a_thread_gets_no_card() -> None:
    tasks = [{"id": 1, "title": "parse"}, {"id": 2, "title": "export"}]
    change = record(goal(channel_id=None), tasks=tasks, task_id=3)
    assert [dict(t) for t in change.goal.tasks] == tasks
    assert dict(change.events[0].payload)["task_id"] == 3
    assert [e.kind for e in change.effects] == ["slack.post_artifact"]
