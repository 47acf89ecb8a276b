"""Block Kit for delivery notes: a thread note with a Retry button when the Git host refused a merge."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ActionsBlock, ButtonElement, ContextBlock, MarkdownTextObject

RETRY_DELIVERY_ACTION = "orch_retry_delivery"


def build_retry_note(text: str, goal_id: str) -> list[dict[str, Any]]:
    blocks = [
        ContextBlock(elements=[MarkdownTextObject(text=text[:3000])]),
        ActionsBlock(
            block_id="orch_delivery_actions",
            elements=[ButtonElement(text="Retry merge", action_id=RETRY_DELIVERY_ACTION, value=goal_id[:40])],
        ),
    ]
    return [b.to_dict() for b in blocks]
