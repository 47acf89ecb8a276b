"""The failure message of a draft or build, and its feedback modal: pure builders."""

from __future__ import annotations

import json

import pytest

from bot.blocks.limits import check_message, check_view
from bot.blocks.work_failure import (
    ACTION_RE,
    FEEDBACK_MODAL,
    WorkFailureView,
    build_work_failure,
    build_work_failure_outcome,
    build_work_feedback_modal,
    decode_goal_value,
    encode_modal_metadata,
    work_failure_text,
)


def view(**changes: object) -> WorkFailureView:
    values: dict[str, object] = {
        "goal_id": "G-0007",
        "kind": "draft",
        "what": "Drafting the PRD (v1)",
        "attempts": 3,
        "error": "DraftError: local-model could not be reached or failed: Error code: 500",
        "auto_retry": True,
    }
    values.update(changes)
    return WorkFailureView(**values)  # type: ignore[arg-type]


def buttons(blocks: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    actions = next(b for b in blocks if b["type"] == "actions")
    return {e["text"]["text"]: e for e in actions["elements"]}  # type: ignore[index,misc]


@pytest.mark.parametrize("kind", ["draft", "build"])
def test_the_failure_message_offers_retry_request_changes_and_cancel_for_its_kind(kind: str) -> None:
    blocks = build_work_failure(view(kind=kind))
    check_message(blocks)
    found = buttons(blocks)
    assert [found[label]["action_id"] for label in ("Retry", "Request changes", "Cancel goal")] == [
        f"orch_{kind}_retry",
        f"orch_{kind}_request_changes",
        f"orch_{kind}_cancel",
    ]
    assert all(ACTION_RE.match(str(b["action_id"])) for b in found.values())
    assert {b["value"] for b in found.values()} == {"G-0007"}
    assert "confirm" in found["Cancel goal"]  # stopping a goal asks first
    text = blocks[0]["text"]["text"]  # type: ignore[index]
    assert "Drafting the PRD (v1) failed after 3 attempt(s)" in text and "Error code: 500" in text
    assert "once the model answers again" in text
    assert work_failure_text(view()) == "⚠️ G-0007: Drafting the PRD (v1) failed after 3 attempt(s)."


def test_an_error_from_the_model_cannot_break_out_of_its_quote_or_mention_anyone() -> None:
    blocks = build_work_failure(view(error="`<!channel>` " + "x" * 5000, auto_retry=False))
    check_message(blocks)
    text = blocks[0]["text"]["text"]  # type: ignore[index]
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    assert text.count("`") == 2  # only the quote's own backticks
    assert "once the model answers again" not in text


def test_button_values_name_a_goal_and_nothing_else() -> None:
    assert decode_goal_value("G-0007") == "G-0007"
    for junk in ("", "G-7", "G-0007; drop", "../G-0007", json.dumps({"g": "G-0007"})):
        with pytest.raises(ValueError):
            decode_goal_value(junk)


def test_the_feedback_modal_and_the_settled_message_are_valid_block_kit() -> None:
    modal = build_work_feedback_modal("G-0007", "The build", encode_modal_metadata("G-0007", "C1", "1.2", "1.1"))
    check_view(modal)
    assert modal["callback_id"] == FEEDBACK_MODAL
    assert json.loads(modal["private_metadata"]) == {"goal": "G-0007", "channel": "C1", "ts": "1.2", "thread_ts": "1.1"}
    assert [b["block_id"] for b in modal["blocks"]] == ["about", "feedback"]
    settled = build_work_failure_outcome("G-0007", "↻ <@U1> asked to try again: Drafting the PRD (v1).")
    check_message(settled)
    assert settled[0]["elements"][0]["text"].startswith("↻ <@U1>")
