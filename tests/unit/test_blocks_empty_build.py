"""The message of a build that changed nothing: pure builders, checked against Slack's limits."""

from __future__ import annotations

import json

import pytest

from bot.blocks.empty_build import (
    CANCEL_ACTION,
    REQUEST_CHANGES_ACTION,
    RETRY_ACTION,
    EmptyBuildView,
    build_empty_build,
    build_feedback_modal,
    decode_goal_value,
    encode_feedback_metadata,
)
from bot.blocks.limits import check_message, check_view


def test_the_message_shows_the_claim_what_failed_and_three_buttons() -> None:
    view = EmptyBuildView(
        goal_id="G-0007",
        task_id=2,
        version=3,
        last_message="Implemented `src/export.py`, <!channel> tests passed.",
        failed_actions=("`echo x > made.txt` (exit 1)",),
        run_id="run-1",
    )
    blocks = build_empty_build(view)
    check_message(blocks)
    text = blocks[0]["text"]["text"]
    assert "task 2 (v3) changed nothing" in text and "no diff to approve" in text
    assert "Implemented 'src/export.py', &lt;!channel&gt; tests passed." in text  # quoted, never a mention
    assert "'echo x &gt; made.txt' (exit 1)" in text and "run-1" in text
    buttons = blocks[1]["elements"]
    assert [b["action_id"] for b in buttons] == [RETRY_ACTION, REQUEST_CHANGES_ACTION, CANCEL_ACTION]
    assert all(b["action_id"].startswith("codex_") and b["value"] == "G-0007" for b in buttons)


def test_a_huge_message_is_cut_to_slacks_limits() -> None:
    view = EmptyBuildView("G-0001", 1, 1, "x" * 10_000, tuple("y" * 500 for _ in range(50)))
    check_message(build_empty_build(view))


def test_the_modal_carries_the_goal_and_where_the_click_came_from() -> None:
    modal = build_feedback_modal("G-0001", encode_feedback_metadata("G-0001", "C1", "1.2", "1.1"))
    check_view(modal)
    assert json.loads(modal["private_metadata"]) == {
        "goal": "G-0001",
        "channel": "C1",
        "ts": "1.2",
        "thread_ts": "1.1",
    }


@pytest.mark.parametrize("value", ["", "G-1", "1.2", "G-0001 extra", None])
def test_a_button_must_name_a_goal(value: object) -> None:
    with pytest.raises(ValueError):
        decode_goal_value(value)  # type: ignore[arg-type]
