"""The Stop button on a running build's status message (a `:x:` reaction on it does the same)."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ActionsBlock, ButtonElement, ConfirmObject

STOP_ACTION = "codex_stop"
STOP_REACTION = "x"


def build_stop_actions(goal_id: str) -> dict[str, Any]:
    block = ActionsBlock(
        block_id="codex_stop_actions",
        elements=[
            ButtonElement(
                text="Stop",
                action_id=STOP_ACTION,
                value=goal_id,
                style="danger",
                confirm=ConfirmObject(
                    title="Stop the build?",
                    text="Codex stops at once; its changes so far stay in the worktree, and you can retry.",
                    confirm="Stop",
                    deny="Let it run",
                ),
            )
        ],
    )
    return block.to_dict()
