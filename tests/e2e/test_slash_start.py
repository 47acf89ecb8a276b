"""The first slice over real HTTP: `/orch start <brief>` → a stored goal, a goal card, an audit entry."""

from __future__ import annotations

from sqlmodel import Session, select

from storage.audit import AuditEntry
from storage.models import Goal
from tests.conftest import Live

BRIEF = "Add a CSV export of monthly invoices. Finance downloads it from the admin page."


def test_slash_start_posts_a_goal_card_and_records_the_goal(live: Live) -> None:
    delivery = live.sb.slash("U_REQ", "C_DEV", f"start {BRIEF}")
    assert delivery.status == 200

    card = live.sb.wait_for_message("C_DEV", text_contains="G-0001")
    assert "Add a CSV export of monthly invoices" in card.content

    with Session(live.container.engine) as session:
        goal = session.get(Goal, "G-0001")
        assert goal is not None
        assert goal.requester == "U_REQ" and goal.channel_id == "C_DEV" and goal.brief == BRIEF
        entries = session.exec(select(AuditEntry).where(AuditEntry.goal_id == "G-0001")).all()
    assert next(e.action for e in entries) == "goal.started"
    assert entries[0].actor == "U_REQ"

    # The first phase's artifact arrives in the goal's thread, with the three decision buttons.
    artifact = live.sb.wait_for_message("C_DEV", thread_ts=card.ts, button="Approve")
    assert set(live.sb.buttons(artifact)) >= {"Approve", "Request changes", "Reject"}


def test_unknown_subcommand_gets_an_ephemeral_help(live: Live) -> None:
    delivery = live.sb.slash("U_REQ", "C_DEV", "frobnicate")
    assert delivery.status == 200
    help_text = live.sb.wait_for_ephemeral("U_REQ", "C_DEV", text_contains="/orch start")
    assert "frobnicate" in help_text.text
    assert live.sb.messages("C_DEV") == []


def test_a_full_goal_goes_to_done_driven_only_by_slack(live: Live) -> None:
    live.sb.slash("U_REQ", "C_DEV", f"start {BRIEF}")
    card = live.sb.wait_for_message("C_DEV", text_contains="G-0001")
    clicks = live.decide_all("U_APP1", card.ts)
    # Scaffold, PRD, Task List, Action Plan, and one diff per task (the spec is not triggered).
    assert clicks >= 5
    log = live.git_log()
    assert any("approve PRD v1" in line for line in log)
    assert any("goal done" in line for line in log)
    assert (live.repo / "docs" / "PRD.md").exists()
    assert (live.repo / "tasks" / "index.json").exists()
