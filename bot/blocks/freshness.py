"""The freshness reminder: an approved artifact goes stale soon; re-approve it unchanged or ask for changes.

Posted in the goal's thread and sent by DM to its approvers. The buttons carry the same value as
a decision button (goal, phase, version, sha256), so a click on an older reminder (the artifact has
since changed, or was already re-reviewed) is recognised.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.blocks.buttons import encode_button_value
from bot.blocks.text import fit, mentions
from bot.sop.phases import Phase

REAFFIRM_ACTION = "orch_reaffirm"
REVIEW_CHANGES_ACTION = "orch_review_changes"
FRESHNESS_ACTIONS_BLOCK_ID = "freshness_actions"


@dataclass(frozen=True)
class FreshnessView:
    goal_id: str
    title: str
    phase: Phase
    phase_label: str
    version: int
    sha256: str
    stale_on: str  # "24 Dec", in the team's time zone
    approvers: tuple[str, ...] = ()
    asked_by: str | None = None  # `/orch review`: who asked; None for the scheduler's reminder


def build_freshness_reminder(v: FreshnessView) -> tuple[list[dict[str, Any]], str]:
    what = f"{fit(v.phase_label, 40)} v{v.version} of {v.goal_id}"
    text = f"{what} goes stale on {v.stale_on} — Re-approve unchanged / Request changes"
    if v.asked_by:
        head = f"🔁 <@{v.asked_by}> asks for a re-review: *{what}* ({fit(v.title, 150)}) goes stale on {v.stale_on}."
    else:
        head = f"🗓️ *{what}* ({fit(v.title, 150)}) goes stale on {v.stale_on}."
    value = encode_button_value(v.goal_id, v.phase, v.version, v.sha256)
    blocks = [
        SectionBlock(block_id="freshness_text", text=MarkdownTextObject(text=head)).to_dict(),
        ContextBlock(
            block_id="freshness_meta",
            elements=[
                MarkdownTextObject(
                    text=f"Approvers: {mentions(list(v.approvers)) if v.approvers else 'the configured approvers'}"
                    " · re-approving records a new review date for the same version; after that date the spec"
                    " guard refuses the repository"
                )
            ],
        ).to_dict(),
        ActionsBlock(
            block_id=FRESHNESS_ACTIONS_BLOCK_ID,
            elements=[
                ButtonElement(
                    text="Re-approve unchanged", action_id=REAFFIRM_ACTION, value=value, style="primary"
                ),
                ButtonElement(text="Request changes", action_id=REVIEW_CHANGES_ACTION, value=value),
            ],
        ).to_dict(),
    ]
    return blocks, text
