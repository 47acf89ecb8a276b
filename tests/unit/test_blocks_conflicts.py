"""The merge-conflict message: names the files, offers the three ways on, and fits Slack's limits."""

from __future__ import annotations

import pytest

from bot.blocks import check_message, check_view
from bot.blocks.conflicts import (
    CONFLICT_CANCEL_ACTION,
    CONFLICT_CHANGES_ACTION,
    CONFLICT_REBUILD_ACTION,
    ConflictView,
    build_conflict_decided_message,
    build_conflict_feedback_modal,
    build_conflict_message,
    decode_conflict_value,
    encode_conflict_value,
)

VIEW = ConflictView(
    goal_id="G-0007", task_id=2, version=1, title="Export <CSV> & PDF", files=["src/a.py", "docs/b.md"]
)


def _buttons(blocks: list[dict]) -> list[tuple[str, str]]:
    return [
        (e["text"]["text"], e["action_id"]) for b in blocks if b["type"] == "actions" for e in b["elements"]
    ]


def test_the_message_names_the_files_and_offers_rebuild_changes_and_cancel() -> None:
    blocks = build_conflict_message(VIEW)
    check_message(blocks)
    text = blocks[0]["text"]["text"]
    assert "`src/a.py`" in text and "`docs/b.md`" in text and "Task 2" in text
    assert "&lt;CSV&gt; &amp; PDF" in text  # a title is shown, never parsed
    assert _buttons(blocks) == [
        ("Rebase and rebuild", CONFLICT_REBUILD_ACTION),
        ("Request changes", CONFLICT_CHANGES_ACTION),
        ("Cancel goal", CONFLICT_CANCEL_ACTION),
    ]
    values = {e["value"] for b in blocks if b["type"] == "actions" for e in b["elements"]}
    assert values == {encode_conflict_value("G-0007", 2, 1)}


def test_many_files_are_cut_short_and_still_fit() -> None:
    many = ConflictView(
        goal_id="G-0007",
        task_id=1,
        version=3,
        title="t" * 500,
        files=[f"src/{i}/" + "x" * 300 for i in range(80)],
    )
    blocks = build_conflict_message(many)
    check_message(blocks)
    assert "and 65 more" in blocks[0]["text"]["text"]


def test_once_decided_the_buttons_give_way_to_the_choice() -> None:
    blocks = build_conflict_decided_message(VIEW, by="U_APP2", choice="rebuild")
    check_message(blocks)
    assert _buttons(blocks) == [] and "<@U_APP2>" in blocks[-1]["elements"][0]["text"]


def test_the_request_changes_modal_asks_for_notes() -> None:
    view = build_conflict_feedback_modal(VIEW, '{"value": "G-0007|2|1"}')
    check_view(view)
    assert view["blocks"][1]["element"]["action_id"] == "feedback"


@pytest.mark.parametrize("value", ["", "G-0001|x|1", "X-1|1|1", "G-0001|1", "G-0001|1|2|3"])
def test_a_broken_button_value_is_refused(value: str) -> None:
    with pytest.raises(ValueError):
        decode_conflict_value(value)
    assert decode_conflict_value("G-0001|4|2") == ("G-0001", 4, 2)
