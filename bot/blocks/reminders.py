"""Reminder, escalation, expiry and overdue-job messages (DMs and thread posts).

The approval reminder carries the very same decision buttons as the artifact in the thread (same
action ids, same values naming goal, phase, version and sha256), so a click in the DM is handled
exactly like a click in the thread, stale-version checks included.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.blocks.buttons import decision_actions, encode_button_value
from bot.blocks.text import fit, mention, mentions, plain, truncate
from bot.sop.phases import Phase

RERUN_ACTION = "orch_rerequest"
CANCEL_JOB_ACTION = "orch_cancel_job"
REMINDER_ACTIONS_BLOCK_ID = "reminder_actions"

Level = Literal["reminder", "escalation"]


@dataclass(frozen=True)
class GateReminderView:
    goal_id: str
    title: str
    phase: Phase
    phase_label: str
    version: int
    sha256: str
    requester: str
    age: str  # "4h 5m"
    sla: str  # "4h of business time"
    channel_id: str | None = None
    task_id: int | None = None
    waiting_on: list[str] = field(default_factory=list)  # approvers who have not decided yet
    approvable: bool = True


@dataclass(frozen=True)
class ExpiryView:
    goal_id: str
    title: str
    phase: Phase
    phase_label: str
    version: int
    age: str
    expires_in: str = ""  # for the warning: "12h 0m"
    task_id: int | None = None


@dataclass(frozen=True)
class OverdueJobView:
    job_id: int
    goal_id: str
    title: str
    doing: str  # from the run record: "Drafting the PRD (v1)"
    running_for: str
    runtime_sla: str
    attempt: int
    max_attempts: int
    run_id: str
    worker: str
    last_heartbeat: str


def _where(channel_id: str | None) -> str:
    return f" in {mention(channel_id)}" if channel_id else ""


def _actions(v: GateReminderView) -> dict[str, Any]:
    task = v.task_id if v.phase is Phase.IMPLEMENTATION else None
    value = encode_button_value(v.goal_id, v.phase, v.version, v.sha256, task_id=task)
    warning = (
        f"Rejecting {v.phase_label[:60]} v{v.version} stops {v.goal_id[:20]}. You will be asked for a reason."
    )
    return decision_actions(
        value, block_id=REMINDER_ACTIONS_BLOCK_ID, reject_warning=warning, approvable=v.approvable
    )


def build_gate_reminder(v: GateReminderView, level: Level = "reminder") -> tuple[list[dict[str, Any]], str]:
    """The DM to an approver (or the escalation post), with the decision buttons."""
    what = f"*{v.goal_id}* {fit(v.title, 150)} · *{fit(v.phase_label, 40)}* v{v.version}"
    if level == "reminder":
        head = f"⏰ Waiting for your decision: {what}. It has waited {v.age} (the SLA is {v.sla})."
        text = f"Reminder: {v.goal_id} {v.phase_label} v{v.version} has waited {v.age} for your decision"
    else:
        head = (
            f"🚨 Escalation: {what} has waited {v.age}, twice its SLA of {v.sla}. "
            f"Still waiting on {mentions(v.waiting_on)}."
        )
        text = f"Escalation: {v.goal_id} {v.phase_label} v{v.version} has waited {v.age}"
    blocks = [
        SectionBlock(block_id="reminder_text", text=MarkdownTextObject(text=head)).to_dict(),
        ContextBlock(
            block_id="reminder_meta",
            elements=[
                MarkdownTextObject(
                    text=f"Requested by {mention(v.requester)}{_where(v.channel_id)} · the full artifact is in the "
                    f"goal's thread"
                )
            ],
        ).to_dict(),
        _actions(v),
    ]
    return blocks, text


def _rerun_button(goal_id: str, phase: Phase, version: int) -> dict[str, Any]:
    value = json.dumps({"g": goal_id, "p": str(phase), "v": version}, separators=(",", ":"))
    return ActionsBlock(
        block_id="expiry_actions",
        elements=[
            ButtonElement(text="Re-request approval", action_id=RERUN_ACTION, value=value, style="primary"),
        ],
    ).to_dict()


def build_expiry_warning(v: ExpiryView) -> tuple[list[dict[str, Any]], str]:
    body = (
        f"⌛ *{v.goal_id}* {fit(v.title, 150)}: the approval request for *{fit(v.phase_label, 40)}* "
        f"v{v.version} expires in {v.expires_in} (it has waited {v.age}). Nudge the approvers, or it "
        "will expire and must be requested again."
    )
    text = f"{v.goal_id} {v.phase_label} v{v.version} expires in {v.expires_in}"
    return [SectionBlock(block_id="expiry_warning", text=MarkdownTextObject(text=body)).to_dict()], text


def build_expired_notice(v: ExpiryView) -> tuple[list[dict[str, Any]], str]:
    body = (
        f"⌛ *{v.goal_id}* {fit(v.title, 150)}: the approval request for *{fit(v.phase_label, 40)}* "
        f"v{v.version} expired after {v.age} without a decision. Nothing was approved. Request it again "
        f"with the button or `/orch rerequest {v.goal_id}`."
    )
    text = f"{v.goal_id} {v.phase_label} v{v.version} expired without a decision"
    return [
        SectionBlock(block_id="expired_notice", text=MarkdownTextObject(text=body)).to_dict(),
        _rerun_button(v.goal_id, v.phase, v.version),
    ], text


def decode_rerun_value(value: str) -> tuple[str, str, int]:
    """(goal id, phase, version) from a Re-request button; ValueError for anything else."""
    try:
        data = json.loads(value)
        goal_id, phase, version = str(data["g"]), Phase(data["p"]).value, int(data["v"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError("not a re-request button value") from exc
    if not goal_id.startswith("G-") or len(goal_id) > 20:
        raise ValueError("not a re-request button value")
    return goal_id, phase, version


def build_overdue_job(v: OverdueJobView) -> tuple[list[dict[str, Any]], str]:
    """The DM to a requester when an agent job runs past its runtime SLA, with a Cancel button."""
    body = (
        f"🐢 *{v.goal_id}* {fit(v.title, 150)}: {fit(v.doing, 300)} has run for {v.running_for}, "
        f"past its runtime SLA of {v.runtime_sla}."
    )
    record = (
        f"Run `{fit(v.run_id[:12], 20)}` · attempt {v.attempt} of {v.max_attempts} · worker "
        f"{fit(v.worker, 80)} · last heartbeat {fit(v.last_heartbeat, 40)}"
    )
    value = json.dumps({"j": v.job_id, "g": v.goal_id}, separators=(",", ":"))
    confirm = ConfirmObject(
        title="Cancel the goal?",
        text=truncate(
            plain(
                f"Cancelling stops this job and cancels {v.goal_id}; nothing more is drafted or merged for it."
            ),
            300,
        ),
        confirm="Cancel goal",
        deny="Keep running",
        style="danger",
    )
    blocks = [
        SectionBlock(block_id="overdue_text", text=MarkdownTextObject(text=body)).to_dict(),
        ContextBlock(block_id="overdue_record", elements=[MarkdownTextObject(text=record)]).to_dict(),
        ActionsBlock(
            block_id="overdue_actions",
            elements=[
                ButtonElement(
                    text="Cancel", action_id=CANCEL_JOB_ACTION, value=value, style="danger", confirm=confirm
                ),
            ],
        ).to_dict(),
    ]
    return blocks, f"{v.goal_id}: {v.doing} has run for {v.running_for}"


def decode_cancel_value(value: str) -> tuple[int, str]:
    try:
        data = json.loads(value)
        job_id, goal_id = int(data["j"]), str(data["g"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError("not a cancel button value") from exc
    if not goal_id.startswith("G-") or len(goal_id) > 20:
        raise ValueError("not a cancel button value")
    return job_id, goal_id
