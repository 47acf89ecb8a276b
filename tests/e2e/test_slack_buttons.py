"""Every decision button over real HTTP: it does exactly one thing, once, and only for who may click."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest

from tests.conftest import Live, start_live
from tests.e2e.slack_helpers import (
    approvals,
    audit_actions,
    card_field,
    click_copy,
    decided,
    goal,
    start_goal,
)

DECISION_LINE = re.compile(r"✅ Approved by @avery at \d\d:\d\d UTC \(v1, sha [0-9a-f]{8}…\)")


def test_approve_replaces_the_buttons_in_place_and_starts_the_next_phase(live: Live) -> None:
    card, artifact = start_goal(live)
    assert card_field(live, card.ts, "Next approvers") == "<@U_APP1>, <@U_APP2>"
    assert card_field(live, card.ts, "SLA due").startswith("<!date^")

    click = live.sb.click("U_APP1", artifact, "Approve")
    assert click.status == 200 and click.elapsed < 3

    after = decided(live, artifact)
    assert after.ts == artifact.ts and after.edited  # the same message, edited
    assert after.buttons == []
    assert DECISION_LINE.search(live.sb.transcript("C_DEV", card.ts)), live.sb.transcript("C_DEV", card.ts)
    prd = live.sb.wait_for_message("C_DEV", thread_ts=card.ts, button="Approve", text_contains="PRD v1")
    assert prd.ts != artifact.ts
    live.sb.wait_for(
        lambda: (
            "PRD" in card_field(live, card.ts, "Phase") and "Awaiting" in card_field(live, card.ts, "Status")
        ),
        what="the card to show the PRD awaiting approval",
    )
    assert [a.decision for a in approvals(live)] == ["approve"]


@pytest.mark.slow
def test_request_changes_asks_for_feedback_and_posts_v2_with_it(live: Live) -> None:
    card, artifact = start_goal(live)
    live.sb.click("U_APP1", artifact, "Request changes")
    modal = live.sb.wait_for_view("U_APP1", "orch_feedback_modal")
    assert "Scaffold Check v1" in modal.render()

    live.sb.submit_view("U_APP1", {"feedback": "Also list the CI configuration"})
    old = decided(live, artifact)
    assert "✏️ Changes requested by @avery" in live.sb.transcript("C_DEV", card.ts)
    assert "Also list the CI configuration" in old.content
    v2 = live.sb.wait_for_message("C_DEV", thread_ts=card.ts, button="Approve", text_contains="v2")
    assert "Feedback addressed" in v2.content and "Also list the CI configuration" in v2.content
    assert [(a.decision, a.artifact_version) for a in approvals(live)] == [("request_changes", 1)]


def test_reject_has_a_confirm_dialog_asks_a_reason_and_stops_the_goal(live: Live) -> None:
    card, artifact = start_goal(live)
    reject = next(
        e
        for b in artifact.blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "orch_reject"
    )
    assert reject["confirm"]["confirm"]["text"] == "Reject" and reject["style"] == "danger"

    live.sb.click("U_APP2", artifact, "Reject")
    live.sb.wait_for_view("U_APP2", "orch_reject_modal")
    live.sb.submit_view("U_APP2", {"reason": "Wrong repository for this work"})

    decided(live, artifact)
    live.sb.wait_for(
        lambda: card_field(live, card.ts, "Status") == "⛔ Goal rejected", what="the card update"
    )
    assert goal(live).state == "rejected" and goal(live).closed_reason == "Wrong repository for this work"
    transcript = live.sb.transcript("C_DEV", card.ts)
    assert "⛔ Rejected by @blake" in transcript and "Wrong repository for this work" in transcript
    live.sb.wait_for(
        lambda: "⛔ Stopped" in live.sb.thread("C_DEV", card.ts)[1].content,
        what="the progress message to say the goal stopped",
    )
    assert "Request elevated mode" not in live.sb.message("C_DEV", card.ts).buttons


def test_a_non_approver_click_is_refused_to_them_alone_audited_and_changes_nothing(live: Live) -> None:
    card, artifact = start_goal(live)
    live.sb.click("U_OUT", artifact, "Approve")
    refusal = live.sb.wait_for_ephemeral("U_OUT", "C_DEV", text_contains="not an approver for this gate")
    assert refusal.thread_ts == card.ts  # shown where they clicked, to them only
    assert live.sb.ephemerals("U_REQ") == [] and live.sb.ephemerals("U_APP1") == []
    refused = [e for e in audit_actions(live) if e.action == "decision.refused"]
    assert [(e.actor, e.payload_dict()["reason"]) for e in refused] == [("U_OUT", "NotAnApprover")]
    assert approvals(live) == [] and goal(live).status == "awaiting_approval"
    assert "Approve" in live.sb.message("C_DEV", artifact.ts).buttons


def test_the_requester_cannot_approve_their_own_gate_even_as_an_approver(
    tmp_path: Path, target_repo: Path
) -> None:
    live = start_live(tmp_path, target_repo, approvers=["U_REQ", "U_APP1"])
    try:
        card, artifact = start_goal(live)
        assert card_field(live, card.ts, "Next approvers") == "<@U_APP1>"  # not the requester
        live.sb.click("U_REQ", artifact, "Approve")
        live.sb.wait_for_ephemeral("U_REQ", "C_DEV", text_contains="separation of duties")
        assert approvals(live) == []
        assert [
            e.payload_dict()["reason"] for e in audit_actions(live) if e.action == "decision.refused"
        ] == ["SelfApproval"]
    finally:
        live.bot.stop()
        live.sb.stop()


@pytest.mark.slow
def test_a_click_on_a_stale_version_links_to_the_current_one(live: Live) -> None:
    card, v1 = start_goal(live)
    live.sb.click("U_APP1", v1, "Request changes")
    live.sb.wait_for_view("U_APP1", "orch_feedback_modal")
    live.sb.submit_view("U_APP1", {"feedback": "Mention the CI configuration"})
    v2 = live.sb.wait_for_message("C_DEV", thread_ts=card.ts, button="Approve", text_contains="v2")
    live.bot.drain()  # v2 is in Slack; the bot records its ts right after posting it

    late = click_copy(live, "U_APP2", v1)  # a client still showing v1 and its buttons
    assert late.status == 200
    told = live.sb.wait_for_ephemeral("U_APP2", "C_DEV", text_contains="changed nothing")
    permalink = live.sb.calls("chat.getPermalink")[-1]
    assert permalink.args["message_ts"] == v2.ts and permalink.response["permalink"] in told.text
    assert "Open the current version" in told.text and "v1 was already sent back for changes" in told.text
    assert [(a.decision, a.artifact_version) for a in approvals(live)] == [("request_changes", 1)]
    assert "Approve" in live.sb.message("C_DEV", v2.ts).buttons


@pytest.mark.slow
def test_n_of_m_keeps_the_gate_open_until_the_second_approval(tmp_path: Path, target_repo: Path) -> None:
    live = start_live(tmp_path, target_repo, approvals_required=2)
    try:
        card, artifact = start_goal(live)
        live.sb.click("U_APP1", artifact, "Approve")
        one = live.sb.wait_for(
            lambda: (m := live.sb.message("C_DEV", artifact.ts)) and "1 of 2" in m.content and m,
            what="the artifact to show one of two approvals",
        )
        assert "Approve" in one.buttons  # still open
        live.sb.wait_for(
            lambda: card_field(live, card.ts, "Next approvers") == "<@U_APP2>",
            what="the card to name the approver still needed",
        )
        assert goal(live).phase == "scaffold_check" and goal(live).status == "awaiting_approval"
        live.sb.wait_for(
            lambda: "(1 of 2 approvals)" in live.sb.thread("C_DEV", card.ts)[1].content,
            what="the progress message to count the approvals",
        )

        live.sb.click("U_APP1", artifact, "Approve")  # the same person again counts once
        live.sb.click("U_APP2", artifact, "Approve")
        decided(live, artifact)
        live.sb.wait_for_message("C_DEV", thread_ts=card.ts, button="Approve", text_contains="PRD v1")
        assert sorted(a.by for a in approvals(live)) == ["U_APP1", "U_APP2"]
    finally:
        live.bot.stop()
        live.sb.stop()


@pytest.mark.slow
def test_twenty_concurrent_clicks_on_one_approve_make_one_decision_and_one_commit(live: Live) -> None:
    card, artifact = start_goal(live)
    clickers = ["U_APP1" if n % 2 else "U_APP2" for n in range(20)]
    start = threading.Barrier(len(clickers))
    results: list[int] = []

    def click(user: str) -> None:
        start.wait()
        results.append(click_copy(live, user, artifact).status)

    threads = [threading.Thread(target=click, args=(user,)) for user in clickers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == [200] * 20

    live.sb.wait_for_message("C_DEV", thread_ts=card.ts, button="Approve", text_contains="PRD v1", timeout=20)
    rows = approvals(live)
    assert len(rows) == 1 and rows[0].decision == "approve"
    assert [e.action for e in audit_actions(live)].count("artifact.approved") == 1
    live.bot.drain()  # the approval's commit runs beside the next draft and its post (a lane of its own)
    assert sum("approve Scaffold Check v1" in line for line in live.git_log()) == 1
    assert live.sb.transcript("C_DEV", card.ts).count("✅ Approved by") == 1
    # The winner's repeats are silent; the other approver learns it was already decided.
    loser = "U_APP2" if rows[0].by == "U_APP1" else "U_APP1"
    assert live.sb.ephemerals(rows[0].by) == []
    told = live.sb.wait_for_ephemeral(loser, "C_DEV", text_contains="already approved")
    assert "changed nothing" in told.text
