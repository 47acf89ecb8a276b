"""The goal card: who asked, where the goal stands, who decides next, and by when."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.blocks import GoalCardView, build_goal_card, goal_card_text
from bot.blocks.goal_card import progress_line
from bot.blocks.limits import check_message
from bot.sop.phases import GoalState, Mode, Phase, PhaseStatus

CARD = GoalCardView(
    goal_id="G-0003",
    title="CSV export for reports",
    requester="U0REQ",
    phase=Phase.TASK_LIST,
    phase_label="Task List",
    status=PhaseStatus.AWAITING_APPROVAL,
    state=GoalState.ACTIVE,
    mode=Mode.READ_ONLY,
    next_approvers=["U0APP1", "S0LEADS"],
    sla_due=datetime(2026, 7, 1, 14, 5, tzinfo=UTC),
    spec_required=True,
    spec_triggers=["touches auth", "new migration"],
    thread_permalink="https://example.slack.com/archives/C1/p1",
)


def _fields(blocks: list[dict]) -> dict[str, str]:
    section = next(b for b in blocks if b.get("block_id") == "goal_card_fields")
    return dict(f["text"].split("\n", 1) for f in section["fields"])


def test_the_card_shows_who_what_and_when():
    blocks = build_goal_card(CARD)
    check_message(blocks)
    assert blocks[0] == {
        "type": "header",
        "block_id": "goal_card_header",
        "text": {"type": "plain_text", "text": "G-0003 · CSV export for reports", "emoji": True},
    }
    fields = _fields(blocks)
    assert fields["*Requester*"] == "<@U0REQ>"
    assert fields["*Status*"] == "⏳ Awaiting approval"
    assert fields["*Mode*"] == "🔒 read-only"
    assert fields["*Next approvers*"] == "<@U0APP1>, <!subteam^S0LEADS>"
    assert fields["*SLA due*"] == "<!date^1782914700^{date_short_pretty} {time}|2026-07-01 14:05 UTC>"
    assert fields["*Spec*"] == "Required: touches auth, new migration"


@pytest.mark.parametrize(
    ("mode", "label"),
    [
        (Mode.READ_ONLY, "🔒 read-only"),
        (Mode.WORKSPACE_WRITE, "✏️ workspace-write"),
        ("full-access", "⚠️ full-access"),
    ],
)
def test_the_mode_is_shown_with_its_risk(mode, label):
    assert _fields(build_goal_card(replace(CARD, mode=mode)))["*Mode*"] == label


def test_the_progress_line_highlights_the_current_phase():
    assert progress_line(Phase.TASK_LIST, GoalState.ACTIVE, None) == (
        "✅ Scaffold · ✅ PRD · *▶ Task List* · ○ Spec · ○ Plan · ○ Impl"
    )
    assert progress_line("action_plan", "active", False) == (
        "✅ Scaffold · ✅ PRD · ✅ Task List · ⏭ Spec · *▶ Plan* · ○ Impl"
    )
    assert progress_line(Phase.DONE, GoalState.DONE, True) == (
        "✅ Scaffold · ✅ PRD · ✅ Task List · ✅ Spec · ✅ Plan · ✅ Impl"
    )
    assert "*⛔ PRD*" in progress_line(Phase.PRD, GoalState.REJECTED, None)


def test_an_offline_draft_is_labelled_plainly_and_the_thread_linked():
    context = build_goal_card(replace(CARD, offline=True))[-1]
    texts = [e["text"] for e in context["elements"]]
    assert "Drafted offline (no model)" in texts
    assert "<https://example.slack.com/archives/C1/p1|Open thread>" in texts
    assert "Drafted offline (no model)" not in str(build_goal_card(CARD))


def test_a_hostile_title_and_triggers_ping_nobody_and_long_titles_are_cut():
    card = replace(
        CARD, title="<!channel> " + "x" * 400, spec_triggers=["<!here>"] * 500, requester="<!everyone>"
    )
    blocks = build_goal_card(card)
    check_message(blocks)
    assert len(blocks[0]["text"]["text"]) <= 150
    body = str(blocks[1:])
    assert "<!here>" not in body and "<!everyone>" not in body
    assert "&lt;!here&gt;" in body
    assert "<!channel>" not in goal_card_text(card)


def test_unknown_spec_and_no_sla_say_so():
    fields = _fields(build_goal_card(replace(CARD, spec_required=None, sla_due=None, next_approvers=[])))
    assert fields["*Spec*"] == "Not assessed yet"
    assert fields["*SLA due*"] == "—"
    assert fields["*Next approvers*"] == "—"


def test_a_finished_goal_reports_its_state_not_its_last_phase_status():
    card = replace(CARD, state=GoalState.CANCELLED)
    assert _fields(build_goal_card(card))["*Status*"] == "✖ Cancelled"
    assert goal_card_text(card) == "G-0003 · CSV export for reports — Task List: ✖ Cancelled"


@settings(max_examples=60, deadline=None)
@given(
    goal_id=st.text(max_size=300),
    title=st.text(max_size=1000),
    requester=st.text(max_size=300),
    label=st.text(max_size=500),
    approvers=st.lists(st.text(max_size=300), max_size=40),
    triggers=st.lists(st.text(max_size=600), max_size=40),
    permalink=st.none() | st.text(max_size=4000),
)
def test_any_text_in_any_field_gives_a_valid_card(
    goal_id, title, requester, label, approvers, triggers, permalink
):
    card = replace(
        CARD,
        goal_id=goal_id,
        title=title,
        requester=requester,
        phase_label=label,
        next_approvers=approvers,
        spec_triggers=triggers,
        thread_permalink=permalink,
    )
    check_message(build_goal_card(card))
    assert len(goal_card_text(card)) <= 300
