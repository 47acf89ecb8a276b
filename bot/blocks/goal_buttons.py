"""What the messages of work that stopped share: Retry / Request changes / Cancel goal buttons that
name the goal only, and the line that replaces them once someone acted.

A click then acts on whatever holds the goal when it arrives, so an old message can never run
something else again.
"""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    MarkdownTextObject,
)

from bot.blocks.text import fit
from bot.sop.ids import GOAL_ID_RE


def retry_changes_cancel(
    block_id: str, goal_id: str, *, retry: str, request_changes: str, cancel: str
) -> ActionsBlock:
    """The three buttons, under the given action ids; Cancel goal asks to confirm."""
    return ActionsBlock(
        block_id=block_id,
        elements=[
            ButtonElement(text="Retry", action_id=retry, value=goal_id, style="primary"),
            ButtonElement(text="Request changes", action_id=request_changes, value=goal_id),
            ButtonElement(
                text="Cancel goal",
                action_id=cancel,
                value=goal_id,
                style="danger",
                confirm=ConfirmObject(
                    title="Cancel the goal?",
                    text=f"{goal_id} stops for good; its work so far stays in the audit log.",
                    confirm="Cancel goal",
                    deny="Keep it",
                ),
            ),
        ],
    )


def build_outcome(block_id: str, outcome: str) -> list[dict[str, Any]]:
    """The message once someone acted on it: the buttons give way to what was done (escaped mrkdwn)."""
    block = ContextBlock(
        block_id=block_id, elements=[MarkdownTextObject(text=fit(outcome, 2900, escape=lambda t: t))]
    )
    return [block.to_dict()]


def decode_goal_value(value: str) -> str:
    """The goal id a button names; ValueError for anything else."""
    if not isinstance(value, str) or not GOAL_ID_RE.match(value):
        raise ValueError("the button names no goal")
    return value


def encode_message_metadata(goal_id: str, channel: str | None, ts: str | None, thread_ts: str | None) -> str:
    """A Request changes modal's metadata: the goal, and the message to update once it is sent."""
    return json.dumps({"goal": goal_id, "channel": channel, "ts": ts, "thread_ts": thread_ts})
