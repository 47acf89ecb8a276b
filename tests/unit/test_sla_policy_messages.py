"""The SLA policy's messages: reminder, escalation, expiry and overdue-job blocks stay within Slack's limits,
and their buttons carry exactly what the thread's buttons carry."""

from __future__ import annotations

import pytest

from bot.blocks import APPROVE_ACTION, REQUEST_CHANGES_ACTION, check_message, decode_button_value
from bot.blocks.digest import DigestView, WaitingLine, build_digest
from bot.blocks.reminders import (
    ExpiryView,
    GateReminderView,
    OverdueJobView,
    build_expired_notice,
    build_expiry_warning,
    build_gate_reminder,
    build_overdue_job,
    decode_cancel_value,
    decode_rerun_value,
)
from bot.sop.phases import Phase

SHA = "a" * 64


def _gate(**kw: object) -> GateReminderView:
    values: dict[str, object] = dict(
        goal_id="G-0007",
        title="Export <invoices> & *more*",
        phase=Phase.PRD,
        phase_label="PRD",
        version=2,
        sha256=SHA,
        requester="U_REQ",
        age="4h",
        sla="4h of business time",
        channel_id="C_DEV",
        waiting_on=["U_APP1"],
    )
    values.update(kw)
    return GateReminderView(**values)  # type: ignore[arg-type]


def test_a_reminder_carries_the_threads_decision_buttons_and_escapes_the_title() -> None:
    blocks, text = build_gate_reminder(_gate())
    check_message(blocks)
    actions = blocks[-1]["elements"]
    assert [e["action_id"] for e in actions[:2]] == [APPROVE_ACTION, REQUEST_CHANGES_ACTION]
    ref = decode_button_value(actions[0]["value"])
    assert (ref.goal_id, ref.phase, ref.version, ref.sha256) == ("G-0007", Phase.PRD, 2, SHA)
    assert "&lt;invoices&gt; &amp;" in blocks[0]["text"]["text"] and "G-0007" in text


def test_an_implementation_reminder_names_its_task_like_the_diff_message() -> None:
    blocks, _ = build_gate_reminder(
        _gate(phase=Phase.IMPLEMENTATION, phase_label="Implementation", task_id=3)
    )
    assert decode_button_value(blocks[-1]["elements"][0]["value"]).task_id == 3
    secret, _ = build_gate_reminder(_gate(approvable=False))
    assert secret[-1]["elements"][0]["action_id"] == REQUEST_CHANGES_ACTION


def test_escalation_expiry_and_overdue_messages_are_valid_and_their_buttons_decode() -> None:
    escalation, _ = build_gate_reminder(_gate(waiting_on=[f"U{i:05d}" for i in range(40)]), "escalation")
    check_message(escalation)
    assert "…and 30 more" in escalation[0]["text"]["text"]
    expiry = ExpiryView(
        goal_id="G-0007", title="t", phase=Phase.PRD, phase_label="PRD", version=2, age="5d", expires_in="2h"
    )
    check_message(build_expiry_warning(expiry)[0])
    notice, _ = build_expired_notice(expiry)
    check_message(notice)
    assert decode_rerun_value(notice[-1]["elements"][0]["value"]) == ("G-0007", "prd", 2)
    overdue, _ = build_overdue_job(
        OverdueJobView(
            job_id=12,
            goal_id="G-0007",
            title="t",
            doing="Drafting the PRD (v2)",
            running_for="45m",
            runtime_sla="30m",
            attempt=1,
            max_attempts=3,
            run_id="f" * 32,
            worker="host:1:abc",
            last_heartbeat="10:00 CET",
        )
    )
    check_message(overdue)
    assert decode_cancel_value(overdue[-1]["elements"][0]["value"]) == (12, "G-0007")
    for junk in ("", "{}", '{"g":"x","p":"prd","v":1}', '{"j":"a","g":"G-1"}', "[]"):
        with pytest.raises(ValueError):
            decode_rerun_value(junk)
        with pytest.raises(ValueError):
            decode_cancel_value(junk)


def test_a_digest_of_any_size_fits_one_message() -> None:
    for n in (0, 1, 9, 10, 11, 500):
        waiting = [
            WaitingLine(
                goal_id=f"G-{i:04d}",
                title="T" * 300,
                phase_label="PRD",
                version=1,
                age="1d",
                waiting_on=[f"U{j:04d}" for j in range(8)],
                overdue=i % 3 == 0,
            )
            for i in range(n)
        ]
        blocks, full, _ = build_digest(
            DigestView(
                channel_id="C_DEV",
                day_label="Monday 13 January 2025",
                since_label="since Sun 12 Jan 09:00 CET",
                by_phase=[("PRD", n)],
                waiting=waiting,
            )
        )
        check_message(blocks)
        assert (full is not None) == (n > 10)
        if full:
            assert full.count("G-") >= n
