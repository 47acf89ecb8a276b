"""SLA reminders over the wire: the real bot and the sandbox, time moved by hand (no sleeping).

Europe/Berlin, business hours 09:00–17:00 Mon–Fri, quiet hours 20:00–08:00. The goal's first
artifact is posted on Tuesday 14 January 2025 at 10:00.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, select

from storage.models import Effect, Goal
from tests.conftest import Live, start_live
from tests.integration.jobs_support import ManualClock, audit_actions, berlin, write_config

BRIEF = "Add a CSV export of monthly invoices"
CONFIG = """
[sla]
approval_sla = "4h"
approval_ttl = "72h"
expiry_warning = "12h"
business_hours = "09:00-17:00"
business_days = "mon-fri"
quiet_hours = "20:00-08:00"
{extra}
"""
KEY = "G-0001:scaffold_check:0:v1"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(berlin(2025, 1, 14, 10, 0))


def _live(
    tmp_path: Path, repo: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch, extra: str = ""
) -> Live:
    monkeypatch.setenv("ORCH_CONFIG", str(write_config(tmp_path, CONFIG.format(extra=extra))))
    return start_live(tmp_path, repo, clock=clock, timezone="Europe/Berlin")


@pytest.fixture
def live(
    tmp_path: Path, target_repo: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Live]:
    running = _live(tmp_path, target_repo, clock, monkeypatch)
    try:
        yield running
    finally:
        running.bot.stop()
        running.sb.stop()


def _start_goal(live: Live) -> tuple[str, str]:
    """(card ts, artifact ts) of G-0001 once its Scaffold Check awaits a decision."""
    live.sb.slash("U_REQ", "C_DEV", f"start {BRIEF}")
    card = live.sb.wait_for_message("C_DEV", text_contains="G-0001")
    artifact = live.sb.wait_for_message("C_DEV", thread_ts=card.ts, button="Approve", timeout=30)
    return card.ts, artifact.ts


def _dms_with(live: Live, user: str, needle: str) -> list[object]:
    return [m for m in live.sb.dms(user) if needle in m.content]


def test_approvers_get_one_dm_at_the_sla_with_working_buttons_and_one_escalation_at_twice(live: Live) -> None:
    card_ts, _ = _start_goal(live)
    jobs = live.container.jobs

    assert jobs.sweep(now=berlin(2025, 1, 14, 13, 59)).sent == 0
    assert live.sb.dms("U_APP1") == [] and live.sb.dms("U_APP2") == []

    report = jobs.sweep(now=berlin(2025, 1, 14, 14, 0))
    assert report.reminded == [KEY] and report.escalated == []
    dm1 = live.sb.wait_for(lambda: live.sb.dms("U_APP1"), what="the reminder DM to U_APP1")[0]
    dm2 = live.sb.wait_for(lambda: live.sb.dms("U_APP2"), what="the reminder DM to U_APP2")[0]
    expected = (
        "⏰ Waiting for your decision: *G-0001* Add a CSV export of monthly invoices · *Scaffold Check* v1. "
        "It has waited 4h (the SLA is 4h of business time)."
    )
    assert dm1.blocks[0]["text"]["text"] == expected and dm2.blocks[0]["text"]["text"] == expected
    assert dm1.buttons == ["Approve", "Request changes", "Reject"]
    assert live.sb.dms("U_REQ") == []  # the requester is not an approver of their own goal

    # The DM's buttons are the thread's: same action ids and the same value.
    thread_artifact = live.sb.find_message("C_DEV", thread_ts=card_ts, button="Approve")
    assert thread_artifact is not None
    dm_actions = [(e["action_id"], e["value"]) for e in dm1.blocks[-1]["elements"]]
    thread_actions = [
        (e["action_id"], e["value"])
        for b in thread_artifact.blocks
        if b["type"] == "actions"
        for e in b["elements"]
    ]
    assert dm_actions == thread_actions

    # Sent once: sweeping again, even much later on the same level, sends nothing new.
    assert jobs.sweep(now=berlin(2025, 1, 14, 14, 5)).sent == 0
    assert jobs.sweep(now=berlin(2025, 1, 14, 16, 59)).sent == 0

    # 2× the SLA in business time is Wednesday 10:00: no backup approvers, so the goal's channel.
    assert jobs.sweep(now=berlin(2025, 1, 15, 9, 59)).escalated == []
    assert jobs.sweep(now=berlin(2025, 1, 15, 10, 0)).escalated == [KEY]
    escalation = live.sb.wait_for_message("C_DEV", text_contains="Escalation", thread_ts=card_ts)
    assert escalation.blocks[0]["text"]["text"] == (
        "🚨 Escalation: *G-0001* Add a CSV export of monthly invoices · *Scaffold Check* v1 has waited 1d, "
        "twice its SLA of 4h of business time. Still waiting on <@U_APP1>, <@U_APP2>."
    )
    assert any(m.ts == escalation.ts for m in live.sb.messages("C_DEV"))  # broadcast to the channel
    assert jobs.sweep(now=berlin(2025, 1, 15, 11, 0)).sent == 0
    assert len(live.sb.dms("U_APP1")) == 1

    # Approve from the DM: it decides exactly like the thread's button.
    live.sb.click("U_APP1", dm1, "Approve")
    live.sb.wait_for(
        lambda: live.sb.find_message("C_DEV", thread_ts=card_ts, text_contains="Approved by") or None,
        what="the thread's artifact to show the approval",
        timeout=15,
    )
    with Session(live.container.engine) as session:
        goal = session.get(Goal, "G-0001")
        assert goal is not None and goal.phase == "prd"

    sla = audit_actions(live.container.engine, "G-0001", prefix="sla.")
    assert [(a, p["to"]) for a, p in sla] == [
        ("sla.reminded", ["U_APP1", "U_APP2"]),
        ("sla.escalated", ["C_DEV"]),
    ]
    assert sla[0][1]["age"] == "4h" and sla[1][1]["age"] == "1d"


def test_escalation_goes_to_backup_approvers_when_they_are_configured(
    tmp_path: Path, target_repo: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = _live(tmp_path, target_repo, clock, monkeypatch, extra='backup_approvers = ["U_OUT"]')
    try:
        card_ts, _ = _start_goal(live)
        jobs = live.container.jobs
        report = jobs.sweep(now=berlin(2025, 1, 15, 10, 0))  # both levels are due at once
        assert (report.reminded, report.escalated) == ([KEY], [KEY])
        backup = live.sb.wait_for(lambda: live.sb.dms("U_OUT"), what="the escalation DM to the backup")[0]
        assert backup.content.count("Escalation") >= 1 and backup.buttons == [
            "Approve",
            "Request changes",
            "Reject",
        ]
        assert live.sb.find_message("C_DEV", thread_ts=card_ts, text_contains="Escalation") is None
        assert [p["to"] for _, p in audit_actions(live.container.engine, "G-0001", "sla.escalated")] == [
            ["U_OUT"]
        ]
    finally:
        live.bot.stop()
        live.sb.stop()


def test_quiet_hours_hold_the_expiry_warning_until_morning_and_expiry_never_approves(
    live: Live, clock: ManualClock
) -> None:
    card_ts, artifact_ts = _start_goal(live)
    jobs = live.container.jobs
    jobs.sweep(now=berlin(2025, 1, 15, 10, 0))  # reminder and escalation, as above
    live.sb.wait_for(lambda: live.sb.dms("U_APP2"), what="the reminder")

    # The TTL is 72h (Friday 10:00); the warning falls due 12h earlier, at 22:00 on Thursday: quiet.
    held = jobs.sweep(now=berlin(2025, 1, 16, 22, 0))
    assert held.sent == 0 and held.held_for_quiet_hours == 1
    assert jobs.sweep(now=berlin(2025, 1, 17, 7, 59)).sent == 0
    assert live.sb.dms("U_REQ") == []
    assert jobs.sweep(now=berlin(2025, 1, 17, 8, 0)).warned == [KEY]
    warning = live.sb.wait_for(lambda: live.sb.dms("U_REQ"), what="the pre-expiry warning")[0]
    assert warning.blocks[0]["text"]["text"] == (
        "⌛ *G-0001* Add a CSV export of monthly invoices: the approval request for *Scaffold Check* v1 expires "
        "in 2h (it has waited 2d 22h). Nudge the approvers, or it will expire and must be requested again."
    )

    # At the TTL the gate expires: not approved, the requester is told, the thread says so.
    assert jobs.sweep(now=berlin(2025, 1, 17, 9, 59)).expired == []
    assert jobs.sweep(now=berlin(2025, 1, 17, 10, 0)).expired == [KEY]
    notice = live.sb.wait_for(lambda: _dms_with(live, "U_REQ", "expired after"), what="the expiry DM")[0]
    assert notice.buttons == ["Re-request approval"]
    live.sb.wait_for_message("C_DEV", thread_ts=card_ts, text_contains="expired after 3d without a decision")
    with Session(live.container.engine) as session:
        goal = session.get(Goal, "G-0001")
        assert goal is not None and (goal.phase, goal.status) == ("scaffold_check", "expired")

    # A late click on the old artifact is refused and changes nothing.
    live.sb.click("U_APP1", live.sb.message("C_DEV", artifact_ts), "Approve")
    refusal = live.sb.wait_for_ephemeral("U_APP1", "C_DEV")
    assert "not awaiting a decision" in refusal.text
    with Session(live.container.engine) as session:
        goal = session.get(Goal, "G-0001")
        assert goal is not None and (goal.phase, goal.status) == ("scaffold_check", "expired")
    assert jobs.sweep(now=berlin(2025, 1, 20, 10, 0)).sent == 0  # nothing more on an expired gate

    # Re-requested from the DM on Monday: v2, the same content, awaiting approval on a fresh SLA clock.
    clock.now = berlin(2025, 1, 20, 10, 0)
    live.sb.click("U_REQ", notice, "Re-request approval")
    v2 = live.sb.wait_for_message(
        "C_DEV", thread_ts=card_ts, text_contains="v2", button="Approve", timeout=15
    )
    assert v2.ts != artifact_ts
    with Session(live.container.engine) as session:
        goal = session.get(Goal, "G-0001")
        assert goal is not None and goal.status == "awaiting_approval"
    clock.now = berlin(2025, 1, 20, 13, 59)
    assert jobs.sweep().sent == 0
    clock.now = berlin(2025, 1, 20, 14, 0)
    assert jobs.sweep().reminded == ["G-0001:scaffold_check:0:v2"]
    live.sb.wait_for(lambda: len(live.sb.dms("U_APP1")) == 2, what="the reminder for v2")
    actions = [a for a, _ in audit_actions(live.container.engine, "G-0001")]
    expected = [
        "sla.reminded",
        "sla.escalated",
        "sla.expiry_warned",
        "approval.expired",
        "decision.refused",
        "approval.rerequested",
        "sla.reminded",
    ]
    assert [a for a in actions if a in expected] == expected


def test_expiry_during_quiet_hours_closes_the_gate_at_once_but_tells_the_requester_in_the_morning(
    live: Live,
) -> None:
    _start_goal(live)
    jobs = live.container.jobs
    assert jobs.sweep(now=berlin(2025, 1, 17, 23, 0)).expired == [KEY]
    with Session(live.container.engine) as session:
        goal = session.get(Goal, "G-0001")
        assert goal is not None and goal.status == "expired"
    # The DM waits in the outbox until 08:00 (its not_before); nothing reaches the requester now.
    live.bot.drain()
    assert _dms_with(live, "U_REQ", "expired after") == []
    with Session(live.container.engine) as session:
        held = session.exec(
            select(Effect).where(Effect.kind == "notify.dm", Effect.status == "pending")
        ).all()
    assert [e.not_before for e in held] == [berlin(2025, 1, 18, 8, 0)]

    # `/orch rerequest` works too, for the requester or an approver only.
    live.sb.slash("U_OUT", "C_DEV", "rerequest G-0001")
    refused = live.sb.wait_for_ephemeral("U_OUT", "C_DEV", text_contains="G-0001")
    assert refused.text == "Only the requester or an approver can request G-0001 again."
    live.sb.slash("U_REQ", "C_DEV", "rerequest g-0001")
    answer = live.sb.wait_for_ephemeral("U_REQ", "C_DEV", text_contains="v2")
    assert answer.text == "G-0001: approval requested again as v2, in the goal's thread."
    live.sb.slash("U_REQ", "C_DEV", "rerequest G-0001")
    again = live.sb.wait_for_ephemeral("U_REQ", "C_DEV", text_contains="has not expired")
    assert "awaiting approval" in again.text
