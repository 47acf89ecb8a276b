"""The answer to a repeated `/orch start`: nothing was started, and a button to start another."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ActionsBlock, ButtonElement, SectionBlock

from bot.sop.ids import GOAL_ID_RE

START_ANOTHER_ACTION = "orch_start_another"


def build_duplicate_start(text: str, goal_id: str | None) -> tuple[list[dict[str, Any]], str]:
    """The explanation, and (when the earlier goal is known) a button that starts a second one."""
    blocks: list[dict[str, Any]] = [SectionBlock(text=text).to_dict()]
    if goal_id:
        blocks.append(
            ActionsBlock(
                block_id="orch_start_again",
                elements=[ButtonElement(text="Start another", action_id=START_ANOTHER_ACTION, value=goal_id)],
            ).to_dict()
        )
    return blocks, text


def decode_start_another(value: Any) -> str:
    """The earlier goal's id from the button; ValueError for anything else."""
    if not isinstance(value, str) or not GOAL_ID_RE.match(value):
        raise ValueError("the button does not name a goal")
    return value
