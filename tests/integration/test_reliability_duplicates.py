"""Slack delivers some things more than once; each thing still happens exactly once.

A duplicate that is absorbed leaves no trace, so each test ends with a sentinel: a later, distinct
request whose effect we wait for. By then the duplicates sent before it have long been handled.
"""

from __future__ import annotations

import json
import subprocess
import urllib.parse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlmodel import Session, func, select

from sandbox import Message, payloads
from storage.audit import AuditEntry, verify_chain
from storage.models import Approval, Artifact, Goal, ProcessedDelivery
from tests.conftest import Live, start_live

CLICKERS = [f"U_A{n:02d}" for n in range(1, 21)]


def goals(live: Live) -> list[Goal]:
    with Session(live.container.engine) as session:
        return list(session.exec(select(Goal).order_by(Goal.id)).all())


def sentinel(live: Live, n: int) -> None:
    """Start one more goal and wait until its first artifact is posted."""
    live.sb.slash("U_REQ", "C_DEV", f"start Sentinel goal number {n}")
    card = live.sb.wait_for_message("C_DEV", text_contains=f"G-{n:04d}", timeout=30)
    live.sb.wait_for_message("C_DEV", thread_ts=card.ts, button="Approve", timeout=30)


def bot_messages(live: Live, card_ts: str, words: str) -> list[Message]:
    return [m for m in live.sb.thread("C_DEV", card_ts) if words in m.content.lower()]


def test_event_retries_and_a_repeated_event_id_start_one_goal(live: Live) -> None:
    sb = live.sb
    mention = sb.mention("U_REQ", "C_DEV", "start Add a CSV export of monthly invoices")
    first = mention.delivery
    assert first is not None and first.status == 200
    retries = [sb.redeliver(first, "http_timeout"), sb.redeliver(first, "http_error")]
    again = sb.deliver_raw(first.request_body, "application/json")  # the same event_id, no retry header
    assert [d.status for d in [*retries, again]] == [200, 200, 200]
    sentinel(live, 2)

    # The mention is read (and its thread fetched) after the ack, so the sentinel may be numbered first.
    assert sorted(g.brief for g in goals(live)) == [
        "Add a CSV export of monthly invoices",
        "Sentinel goal number 2",
    ]
    cards = [m for m in sb.messages("C_DEV") if "G-0001" in m.content and m.user != "U_REQ"]
    assert len(cards) == 1
    with Session(live.container.engine) as session:
        keys = session.exec(select(ProcessedDelivery.key)).all()
    assert keys.count(f"event:{first.event_id}") == 1


def test_a_resent_view_submission_starts_one_goal_and_a_resent_feedback_asks_once(live: Live) -> None:
    sb = live.sb
    sb.slash("U_REQ", "C_DEV", "start")
    sb.wait_for_view("U_REQ", "orch_start_modal")
    submitted = sb.submit_view("U_REQ", {"Title": "CSV export", "Brief": "Export monthly invoices as CSV."})
    assert submitted.status == 200
    resent = [
        sb.redeliver(submitted),
        sb.deliver_raw(submitted.request_body, "application/x-www-form-urlencoded"),
    ]
    assert [d.status for d in resent] == [200, 200]

    # Request changes through the feedback modal, and the same submission again.
    card = sb.wait_for_message("C_DEV", text_contains="G-0001")
    scaffold = sb.wait_for_message("C_DEV", thread_ts=card.ts, button="Approve")
    sb.click("U_APP1", scaffold, "Request changes")
    sb.wait_for_view("U_APP1")
    feedback = sb.submit_view("U_APP1", {"feedback": "Please list the CI checks too."})
    sb.redeliver(feedback)
    sb.deliver_raw(feedback.request_body, "application/x-www-form-urlencoded")
    sb.wait_for(
        lambda: len(bot_messages(live, card.ts, "scaffold check v2 for g-0001")) == 1 or None,
        timeout=30,
        what="the redraft",
    )
    sentinel(live, 2)

    assert [g.title for g in goals(live)] == ["CSV export", "Sentinel goal number 2"]
    with Session(live.container.engine) as session:
        decisions = session.exec(select(Approval.by, Approval.decision)).all()
        versions = session.exec(select(Artifact.version).where(Artifact.goal_id == "G-0001")).all()
    assert decisions == [("U_APP1", "request_changes")]
    assert sorted(versions) == [1, 2]
    assert len(bot_messages(live, card.ts, "scaffold check v2 for g-0001")) == 1


@pytest.fixture
def crowd(tmp_path: Path, target_repo: Path) -> Iterator[Live]:
    """The live bot with twenty approvers, all in #dev."""
    live = start_live(tmp_path, target_repo, approvers=CLICKERS)
    with live.sb.state.lock:
        for user in CLICKERS:
            live.sb.add_user(user, user.lower())
            live.sb.state.channel("C_DEV").members.add(user)
    try:
        yield live
    finally:
        live.bot.stop()
        live.sb.stop()


def test_twenty_concurrent_clicks_on_one_approve_button_approve_once(crowd: Live) -> None:
    live, sb = crowd, crowd.sb
    sb.slash("U_REQ", "C_DEV", "start Add a CSV export of monthly invoices")
    card = sb.wait_for_message("C_DEV", text_contains="G-0001")
    scaffold = sb.wait_for_message("C_DEV", thread_ts=card.ts, button="Approve")

    # Twenty people click the same Approve button at the same moment: the same message, twenty payloads.
    with sb.state.lock:
        conv = sb.state.channel("C_DEV")
        raw = conv.find(scaffold.ts)
        assert raw is not None
        block, button = next(
            (b, e)
            for b in raw["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
            if e["action_id"] == "orch_approve"
        )
        bodies = [
            urllib.parse.urlencode(
                {
                    "payload": json.dumps(
                        payloads.message_actions(
                            sb.state,
                            user,
                            conv,
                            raw,
                            payloads.button_action(block, button, sb.state.next_ts()),
                            ephemeral=False,
                            trigger_id=sb.state.issue_trigger(user),
                            response_url="https://hooks.slack.invalid/x",
                        )
                    )
                }
            )
            for user in CLICKERS
        ]
    with ThreadPoolExecutor(len(bodies)) as pool:
        statuses = list(
            pool.map(lambda b: sb.deliver_raw(b, "application/x-www-form-urlencoded").status, bodies)
        )
    assert statuses == [200] * 20

    # One wins; each of the nineteen others is told the gate is already decided.
    sb.wait_for(
        lambda: sum(1 for u in CLICKERS if sb.ephemerals(u, "C_DEV")) == 19 or None,
        timeout=30,
        what="nineteen refusals",
    )
    prd = sb.wait_for(
        lambda: bot_messages(live, card.ts, "prd v1 for g-0001") or None, timeout=30, what="the PRD"
    )
    sentinel(live, 2)

    with Session(live.container.engine) as session:
        approvals = session.exec(select(Approval).where(Approval.goal_id == "G-0001")).all()
        approved = session.exec(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "artifact.approved")
        ).one()
        refused = session.exec(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "decision.refused")
        ).one()
        assert verify_chain(session).ok
    assert len(approvals) == 1 and approvals[0].by in CLICKERS
    assert (approved, refused) == (1, 19)
    assert len(prd) == 1

    def subjects() -> list[str]:
        log = ["git", "-C", str(live.repo), "log", "--format=%B"]
        return subprocess.run(log, capture_output=True, text=True, check=True).stdout.splitlines()

    # The approval's commit is an effect of its own, which may land after the PRD is posted.
    sb.wait_for(
        lambda: any("approve Scaffold Check v1" in s for s in subjects()) or None,
        timeout=30,
        what="the approval's commit",
    )
    assert sum("approve Scaffold Check v1" in s for s in subjects()) == 1
    decided = sb.message("C_DEV", scaffold.ts)
    assert "Approve" not in decided.buttons and decided.content.count(approvals[0].by) >= 1
