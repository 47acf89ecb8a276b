"""Elevated-mode blocks, the card's button, and a decided diff: valid, within limits, and safe."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.blocks import (
    DecisionView,
    DiffView,
    GoalCardView,
    ModeRequestView,
    build_decided_diff_message,
    build_diff_message,
    build_goal_card,
    build_mode_decided_message,
    build_mode_request_message,
    check_message,
    decode_mode_value,
    encode_mode_value,
)
from bot.blocks.limits import MESSAGE_TEXT_BUDGET, payload_chars
from bot.sop.phases import GoalState, Mode, Phase, PhaseStatus

AT = datetime(2026, 5, 4, 14, 5, tzinfo=UTC)
REQUEST = ModeRequestView(
    request_id=3,
    goal_id="G-0042",
    mode=Mode.FULL_ACCESS,
    justification="The tests need the package registry to download fixtures.",
    requested_by="U0REQ",
    tz="Europe/Berlin",
)
CARD = GoalCardView(
    goal_id="G-0042",
    title="CSV export",
    requester="U0REQ",
    phase=Phase.PRD,
    phase_label="PRD",
    status=PhaseStatus.AWAITING_APPROVAL,
    state=GoalState.ACTIVE,
    mode=Mode.READ_ONLY,
    offer_elevation=True,
)


def _buttons(blocks: list[dict]) -> dict[str, dict]:
    return {e["action_id"]: e for b in blocks if b["type"] == "actions" for e in b["elements"]}


def test_the_request_asks_to_grant_with_a_confirm_dialog_that_states_what_is_granted() -> None:
    blocks = build_mode_request_message(REQUEST)
    check_message(blocks)
    grant = _buttons(blocks)["orch_grant_mode"]
    assert grant["text"]["text"] == "Grant full-access" and grant["style"] == "danger"
    assert grant["confirm"]["title"]["text"] == "Grant full-access?"
    assert "G-0042 will run in full-access" in grant["confirm"]["text"]["text"]
    assert "package registry" in grant["confirm"]["text"]["text"]
    assert decode_mode_value(grant["value"]) == (3, "G-0042")
    assert "orch_deny_mode" in _buttons(blocks)


def test_once_decided_the_buttons_give_way_to_who_decided_and_when() -> None:
    granted = build_mode_decided_message(
        replace(REQUEST, status="granted", decided_by="U0APP", decided_at=AT)
    )
    check_message(granted)
    assert _buttons(granted) == {}
    assert "⚠️ full-access granted by <@U0APP> at 16:05 CEST" in str(granted)
    denied = build_mode_decided_message(replace(REQUEST, status="denied", decided_by="U0APP", decided_at=AT))
    assert "⛔ Denied by <@U0APP>" in str(denied)
    with pytest.raises(ValueError):
        build_mode_decided_message(REQUEST)  # still pending


def test_a_hostile_justification_pings_nobody_and_a_huge_one_is_cut_to_fit() -> None:
    blocks = build_mode_request_message(replace(REQUEST, justification="<!channel> " + "y" * 5000))
    check_message(blocks)
    mrkdwn = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert "&lt;!channel&gt;" in mrkdwn[1] and not any("<!channel>" in t for t in mrkdwn)
    # The confirm dialog is plain text, which Slack never parses for mentions.
    assert _buttons(blocks)["orch_grant_mode"]["confirm"]["text"]["type"] == "plain_text"


@given(st.text(max_size=300))
def test_a_mode_button_value_is_only_what_we_wrote(value: str) -> None:
    try:
        request_id, goal_id = decode_mode_value(value)
    except ValueError:
        return
    assert request_id >= 1 and goal_id.startswith("G-")
    assert decode_mode_value(encode_mode_value(request_id, goal_id)) == (request_id, goal_id)


def test_junk_mode_values_are_refused() -> None:
    for value in (
        "",
        "{}",
        '{"r": 1}',
        '{"r": true, "g": "G-0001"}',
        '{"r": 1, "g": "x"}',
        "[1]",
        "{" * 5000,
    ):
        with pytest.raises(ValueError):
            decode_mode_value(value)


def test_the_card_offers_elevation_only_while_there_is_something_to_elevate() -> None:
    assert "orch_request_elevation" in _buttons(build_goal_card(CARD))
    check_message(build_goal_card(CARD))
    assert _buttons(build_goal_card(replace(CARD, mode=Mode.FULL_ACCESS))) == {}
    assert _buttons(build_goal_card(replace(CARD, state=GoalState.DONE))) == {}
    assert _buttons(build_goal_card(replace(CARD, offer_elevation=False))) == {}


def test_a_decided_diff_keeps_its_shape_and_stays_in_budget_with_the_longest_reason() -> None:
    diff = "".join(f"diff --git a/f{n} b/f{n}\n+++ b/f{n}\n" + "+line\n" * 400 for n in range(12))
    view = DiffView(
        goal_id="G-0042",
        task_id=2,
        task_title="Export",
        version=1,
        sha256="b" * 64,
        files=[(f"f{n}", 400, 0) for n in range(12)],
        diff_text=diff,
    )
    decision = DecisionView(
        decision="request_changes", by="U0APP", at=AT, version=1, sha256="b" * 64, reason="z" * 3000
    )
    posted, full = build_diff_message(view)
    decided = build_decided_diff_message(view, decision)
    check_message(decided)
    assert full == diff and payload_chars(decided) <= MESSAGE_TEXT_BUDGET
    assert decided[0] == posted[0]  # the same message: header first
    assert _buttons(decided) == {} and "Changes requested by <@U0APP>" in str(decided)
