"""The one line a goal's progress message shows, derived from the goal's state each time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.blocks import build_status_message, check_message
from bot.effects.presenters import progress_text
from storage.models import Artifact, Goal

NOW = datetime(2026, 5, 4, 14, 5, tzinfo=UTC)


def _goal(**fields: object) -> Goal:
    values: dict = {
        "id": "G-0007",
        "title": "CSV export",
        "brief": "b",
        "requester": "U1",
        "phase": "prd",
        "status": "drafting",
        "state": "active",
        "phase_started_at": NOW,
        "created_at": NOW,
        "updated_at": NOW,
    }
    values.update(fields)
    return Goal(**values)


def _artifact(phase: str = "prd", version: int = 1, task_id: int = 0) -> Artifact:
    return Artifact(
        goal_id="G-0007",
        phase=phase,
        version=version,
        task_id=task_id,
        content="x",
        sha256="a" * 64,
        created_at=NOW,
    )


@pytest.mark.parametrize(
    ("goal", "artifact", "required", "text"),
    [
        (_goal(phase="scaffold_check"), None, 1, "🔎 Checking the repository's scaffold…"),
        (_goal(), None, 1, "✍️ Drafting PRD…"),
        (_goal(status="changes_requested"), _artifact(), 1, "✍️ Redrafting PRD with the feedback…"),
        (_goal(status="awaiting_approval"), _artifact(version=2), 1, "⏳ Waiting for a decision on PRD v2."),
        (
            _goal(status="awaiting_approval"),
            _artifact(),
            2,
            "⏳ Waiting for a decision on PRD v1 (0 of 2 approvals).",
        ),
        (
            _goal(
                phase="implementation",
                tasks=[
                    {"id": 1, "title": "Parse", "status": "done"},
                    {"id": 2, "title": "Export", "status": "in-progress"},
                ],
            ),
            None,
            1,
            "🛠 Building task 2: Export…",
        ),
        (
            _goal(phase="implementation", status="awaiting_approval"),
            _artifact("implementation", 1, 2),
            1,
            "⏳ Waiting for a decision on the diff of task 2 (v1).",
        ),
        (
            _goal(state="done", phase="done", tasks=[{"id": 1, "status": "done"}]),
            None,
            1,
            "🎉 Done: every gate approved, 1 task(s) merged.",
        ),
        (_goal(state="rejected", status="rejected"), _artifact(), 1, "⛔ Stopped: PRD was rejected."),
        (_goal(state="cancelled"), None, 1, "✖ Cancelled: no more work happens on this goal."),
    ],
)
def test_the_progress_line_says_what_happens_now(
    goal: Goal, artifact: Artifact | None, required: int, text: str
) -> None:
    assert progress_text(goal, artifact, required=required) == text


def test_an_artifact_of_an_earlier_phase_is_not_what_the_goal_waits_for() -> None:
    assert progress_text(_goal(phase="task_list"), _artifact("prd")) == "✍️ Drafting Task List…"


def test_a_hostile_task_title_stays_text_and_the_message_stays_valid() -> None:
    goal = _goal(
        phase="implementation",
        tasks=[{"id": 1, "title": "<!channel> " + "x" * 5000, "status": "in-progress"}],
    )
    blocks = build_status_message(progress_text(goal, None), [])
    check_message(blocks)
    assert "<!channel>" not in str(blocks) and "&lt;!channel&gt;" in str(blocks)


def test_a_version_drafted_but_not_yet_in_the_thread_still_shows_its_drafting() -> None:
    waiting = _goal(status="awaiting_approval")
    assert progress_text(waiting, _artifact(), posted=False) == "✍️ Drafting PRD…"
    scaffold = _goal(phase="scaffold_check", status="awaiting_approval")
    assert progress_text(scaffold, _artifact("scaffold_check"), posted=False) == (
        "🔎 Checking the repository's scaffold…"
    )
    redraft = _artifact(version=2)
    redraft.feedback = "Say who may download it"
    assert progress_text(waiting, redraft, posted=False) == "✍️ Redrafting PRD with the feedback…"
    assert progress_text(waiting, redraft, posted=True) == "⏳ Waiting for a decision on PRD v2."
