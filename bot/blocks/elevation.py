"""Elevated modes: the card's "Request elevated mode" button and the thread message approvers confirm.

The Grant button carries a Block Kit confirm dialog, so an approver reads what they grant (the mode,
the goal, the justification) before it happens. Button values are untrusted input when they come
back, so `decode_mode_value` accepts nothing but what `encode_mode_value` writes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.blocks.text import fit, local_time, mention, plain, truncate
from bot.sop.ids import GOAL_ID_RE
from bot.sop.phases import Mode

REQUEST_ELEVATION_ACTION = "orch_request_elevation"
GRANT_MODE_ACTION = "orch_grant_mode"
DENY_MODE_ACTION = "orch_deny_mode"
MODE_ACTIONS_BLOCK_ID = "mode_actions"
MODE_DECISION_BLOCK_ID = "mode_decision"
JUSTIFICATION_CHARS = 1500

MODE_TEXT: dict[Mode, str] = {
    Mode.READ_ONLY: "🔒 read-only",
    Mode.WORKSPACE_WRITE: "✏️ workspace-write",
    Mode.FULL_ACCESS: "⚠️ full-access",
}
MODE_MEANS: dict[Mode, str] = {
    Mode.READ_ONLY: "agents read the repository and write only in the goal's worktree",
    Mode.WORKSPACE_WRITE: "agents may write beyond the goal's worktree in the workspace",
    Mode.FULL_ACCESS: "agents run without a sandbox: network and the whole machine",
}


@dataclass(frozen=True)
class ModeRequestView:
    request_id: int
    goal_id: str
    mode: Mode
    justification: str
    requested_by: str
    status: str = "pending"  # pending | granted | denied
    decided_by: str | None = None
    decided_at: datetime | None = None
    tz: str = "UTC"


def encode_mode_value(request_id: int, goal_id: str) -> str:
    value = json.dumps({"r": request_id, "g": goal_id}, separators=(",", ":"))
    decode_mode_value(value)
    return value


def decode_mode_value(value: str) -> tuple[int, str]:
    """(request id, goal id) from a Grant/Deny button; ValueError for anything else."""
    try:
        data = json.loads(value) if isinstance(value, str) and len(value) < 200 else None
    except ValueError:
        data = None
    if not isinstance(data, dict) or set(data) != {"r", "g"}:
        raise ValueError("not a mode request button")
    request_id, goal_id = data["r"], data["g"]
    if (
        type(request_id) is not int
        or request_id < 1
        or not isinstance(goal_id, str)
        or not GOAL_ID_RE.match(goal_id)
    ):
        raise ValueError("not a mode request button")
    return request_id, goal_id


def elevation_button(goal_id: str) -> ButtonElement:
    """The goal card's entry point: opens the modal where a person asks for more access."""
    if not GOAL_ID_RE.match(goal_id):
        raise ValueError("not a goal id")
    return ButtonElement(text="Request elevated mode", action_id=REQUEST_ELEVATION_ACTION, value=goal_id)


def _head(v: ModeRequestView) -> list[dict[str, Any]]:
    mode = Mode(v.mode)
    ask = (
        f"*🔐 {mention(v.requested_by)} asks to run {fit(v.goal_id, 20)} in {MODE_TEXT[mode]}*\n"
        f"In this mode {MODE_MEANS[mode]}. It applies to {fit(v.goal_id, 20)} only."
    )
    quoted = "\n".join("> " + line for line in fit(v.justification.strip(), JUSTIFICATION_CHARS).splitlines())
    return [
        SectionBlock(block_id="mode_ask", text=MarkdownTextObject(text=ask)).to_dict(),
        SectionBlock(
            block_id="mode_why", text=MarkdownTextObject(text=f"*Justification*\n{quoted}")
        ).to_dict(),
    ]


def build_mode_request_message(v: ModeRequestView) -> list[dict[str, Any]]:
    """The thread message asking an approver (not the person who asked) to grant or deny."""
    mode = Mode(v.mode)
    value = encode_mode_value(v.request_id, v.goal_id)
    confirm = ConfirmObject(
        title=truncate(f"Grant {mode.value}?", 100),
        # Plain text: the justification is untrusted and plain_text is never parsed for mentions.
        text=PlainTextObject(
            text=truncate(
                plain(
                    f"{v.goal_id} will run in {mode.value}: {MODE_MEANS[mode]}. Justification: {v.justification}"
                ),
                300,
            )
        ),
        confirm="Grant",
        deny="Cancel",
        style="danger" if mode is Mode.FULL_ACCESS else "primary",
    )
    style = "danger" if mode is Mode.FULL_ACCESS else "primary"
    grant = ButtonElement(
        text=f"Grant {mode.value}", action_id=GRANT_MODE_ACTION, value=value, style=style, confirm=confirm
    )
    deny = ButtonElement(text="Deny", action_id=DENY_MODE_ACTION, value=value)
    actions = ActionsBlock(block_id=MODE_ACTIONS_BLOCK_ID, elements=[grant, deny])
    note = ContextBlock(
        block_id="mode_note",
        elements=[
            MarkdownTextObject(text="An approver other than the person who asked must confirm. Audited.")
        ],
    )
    return [*_head(v), note.to_dict(), actions.to_dict()]


def build_mode_decided_message(v: ModeRequestView) -> list[dict[str, Any]]:
    """The same message once decided: the buttons give way to who decided and when."""
    if v.status not in ("granted", "denied") or not v.decided_by or v.decided_at is None:
        raise ValueError("a decided mode request needs its status, decider and time")
    when = local_time(v.decided_at, v.tz)
    if v.status == "granted":
        line = f"✅ {MODE_TEXT[Mode(v.mode)]} granted by {mention(v.decided_by)} at {when}"
    else:
        line = f"⛔ Denied by {mention(v.decided_by)} at {when}; {fit(v.goal_id, 20)} keeps its mode"
    decision = ContextBlock(block_id=MODE_DECISION_BLOCK_ID, elements=[MarkdownTextObject(text=line)])
    return [*_head(v), decision.to_dict()]
