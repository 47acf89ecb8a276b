"""The thread message of a Codex approval request: the exact command or patch, Approve / Deny.

The buttons carry the request's id only; the decision is checked against the stored request
(bot/services/codex_approvals.py), so a click is bound to that one request and counts once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.blocks.text import fit

APPROVE_ACTION = "codex_approval_approve"
DENY_ACTION = "codex_approval_deny"
ACTION_RE = re.compile(r"^codex_approval_(approve|deny)$")
_REQUEST_ID = re.compile(r"^[0-9a-f]{16}$")
MAX_SHOWN = 2200  # with the header, reason and help line the section stays under 3000


@dataclass(frozen=True)
class CodexApprovalView:
    request_id: str
    goal_id: str
    kind: str  # command | patch
    command: str
    reason: str
    requester: str
    status: str = "pending"
    decided_by: str | None = None


def approval_text(v: CodexApprovalView) -> str:
    what = "apply a patch outside its sandbox" if v.kind == "patch" else "run a command outside its sandbox"
    return f"{v.goal_id}: Codex asks to {what}; an approver decides"


def _code(text: str) -> str:
    """The command verbatim in a code block; a fence inside it cannot close the block early."""
    return "```" + fit(text.replace("```", "ˋˋˋ"), MAX_SHOWN) + "```"


def build_codex_approval(v: CodexApprovalView) -> list[dict[str, Any]]:
    lines = [f"*🔐 {fit(approval_text(v), 200)}*", _code(v.command)]
    if v.reason.strip():
        lines.append(f"Codex's reason: _{fit(' '.join(v.reason.split()), 300)}_")
    if v.status == "pending":
        lines.append(
            f"Codex waits for the answer. An approver other than <@{v.requester}> decides: "
            "*Approve* lets it run, *Deny* makes Codex go on without it."
        )
    blocks: list[Any] = [
        SectionBlock(block_id="codex_approval", text=MarkdownTextObject(text="\n".join(lines)))
    ]
    if v.status == "pending":
        blocks.append(
            ActionsBlock(
                block_id="codex_approval_actions",
                elements=[
                    ButtonElement(
                        text="Approve", action_id=APPROVE_ACTION, value=v.request_id, style="primary"
                    ),
                    ButtonElement(text="Deny", action_id=DENY_ACTION, value=v.request_id, style="danger"),
                ],
            )
        )
    else:
        who = f" by <@{v.decided_by}>" if v.decided_by else ""
        mark = {"approved": "✅ Approved", "denied": "⛔ Denied", "expired": "⌛ Expired unanswered"}.get(
            v.status, v.status
        )
        blocks.append(
            ContextBlock(
                block_id="codex_approval_outcome", elements=[MarkdownTextObject(text=f"{mark}{who}.")]
            )
        )
    return [b.to_dict() for b in blocks]


def decode_request_value(value: str) -> str:
    """The request id a button carries; ValueError for anything else."""
    if not isinstance(value, str) or not _REQUEST_ID.match(value):
        raise ValueError("the button names no Codex request")
    return value
