"""Block Kit validation, ids, modal inputs and rendering: pure functions, no server."""

from __future__ import annotations

import re

import pytest

from sandbox.blocks import block_errors, button_labels, find_button, view_errors, with_ids
from sandbox.inputs import state_values
from sandbox.render import block_lines, readable, view_text

SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "hello"}}
BUTTON = {"type": "button", "text": {"type": "plain_text", "text": "Approve"}, "value": "v"}
REASON = {
    "type": "input",
    "block_id": "reason",
    "label": {"type": "plain_text", "text": "Reason"},
    "element": {"type": "plain_text_input", "action_id": "text", "max_length": 10},
}
LEVEL = {
    "type": "input",
    "block_id": "level",
    "label": {"type": "plain_text", "text": "Level"},
    "element": {
        "type": "static_select",
        "action_id": "pick",
        "initial_option": {"text": {"type": "plain_text", "text": "Low"}, "value": "low"},
        "options": [
            {"text": {"type": "plain_text", "text": "Low"}, "value": "low"},
            {"text": {"type": "plain_text", "text": "High"}, "value": "high"},
        ],
    },
}
WHO = {
    "type": "input",
    "block_id": "who",
    "optional": True,
    "label": {"type": "plain_text", "text": "Who"},
    "element": {"type": "multi_users_select", "action_id": "users"},
}


def test_valid_blocks_have_no_errors() -> None:
    assert block_errors([SECTION, {"type": "actions", "elements": [BUTTON]}]) == []


@pytest.mark.parametrize(
    ("blocks", "expected"),
    [
        ("not a list", "must provide an array [json-pointer:/blocks]"),
        ([{"type": "nonsense"}], "unsupported block type 'nonsense' [json-pointer:/blocks/0]"),
        ([SECTION] * 51, "no more than 50 items allowed [json-pointer:/blocks]"),
        (
            [{**SECTION, "block_id": "a"}, {**SECTION, "block_id": "a"}],
            "duplicate block_id 'a' [json-pointer:/blocks/1]",
        ),
        ([{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}], "[json-pointer:/blocks/0]"),
    ],
)
def test_invalid_blocks_are_named_with_a_pointer(blocks: object, expected: str) -> None:
    assert any(expected in e for e in block_errors(blocks))


def test_modal_needs_a_title_and_a_submit_when_it_has_inputs() -> None:
    errors = view_errors({"type": "modal", "blocks": [REASON]}, expected_type="modal")
    assert any("title" in e for e in errors)
    assert any("submit" in e for e in errors)
    assert view_errors({"type": "home", "blocks": [SECTION]}, expected_type="modal") != []


def test_with_ids_fills_in_block_and_action_ids_like_slack() -> None:
    blocks = with_ids([SECTION, {"type": "actions", "elements": [BUTTON]}], iter(["b1", "b2", "a1"]).__next__)
    assert [b["block_id"] for b in blocks] == ["b1", "b2"]
    assert blocks[1]["elements"][0]["action_id"] == "a1"
    assert "action_id" not in BUTTON  # The input is left alone.
    assert button_labels(blocks) == ["Approve"]
    assert find_button(blocks, action_id="a1") == (blocks[1], blocks[1]["elements"][0])


def test_state_values_by_label_block_id_or_action_id() -> None:
    blocks = [REASON, LEVEL, WHO]
    values = state_values(blocks, {"Reason": "ok", "level/pick": "High", "users": ["U1"]})
    assert values == {
        "reason": {"text": {"type": "plain_text_input", "value": "ok"}},
        "level": {
            "pick": {
                "type": "static_select",
                "selected_option": {"text": {"type": "plain_text", "text": "High"}, "value": "high"},
            }
        },
        "who": {"users": {"type": "multi_users_select", "selected_users": ["U1"]}},
    }


def test_untouched_inputs_keep_their_initial_value_and_optional_ones_may_stay_empty() -> None:
    values = state_values([REASON, LEVEL, WHO], {"reason": "x"})
    assert values["level"]["pick"]["selected_option"]["value"] == "low"
    assert values["who"]["users"]["selected_users"] == []


@pytest.mark.parametrize(
    ("given", "complaint"),
    [
        ({}, "required input 'Reason'"),
        ({"Reason": "x" * 11}, "at most 10 characters"),
        ({"Reason": "x", "Level": "Medium"}, "no option 'Medium'"),
        ({"Reason": "x", "Typo": "y"}, "no input matches ['Typo']"),
    ],
)
def test_what_slack_s_client_would_not_let_a_person_submit(given: dict, complaint: str) -> None:
    with pytest.raises(AssertionError, match=re.escape(complaint)):
        state_values([REASON, LEVEL], given)


def test_rendering_reads_like_the_client() -> None:
    names = {"U_REQ": "riley"}.get
    assert readable("hi <@U_REQ>, see <#C1|dev> and <https://x.test|the doc>", lambda u: names(u) or u) == (
        "hi @riley, see #dev and the doc (https://x.test)"
    )
    lines = block_lines(
        [
            {"type": "header", "text": {"type": "plain_text", "text": "PRD"}},
            SECTION,
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "v1"}]},
            {"type": "actions", "elements": [BUTTON]},
        ]
    )
    assert lines == ["PRD", "hello", "  v1", "[Approve]"]
    modal = view_text(
        {
            "type": "modal",
            "title": {"type": "plain_text", "text": "Why"},
            "submit": {"type": "plain_text", "text": "Send"},
            "blocks": [REASON],
        },
        errors={"reason": "Too short"},
    )
    assert "Reason: ____" in modal
    assert "⚠ Too short" in modal
    assert modal.endswith("[Send]")
