"""The thread message of a build that changed nothing, its buttons and its Request changes modal.

The buttons name the goal only: a click acts on whatever empty build holds the goal when it
arrives (bot/services/empty_build.py), so an old message can never run something else again.
Action ids start with `codex_` so they stay apart from the other retry buttons of the product.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.blocks.goal_buttons import build_outcome, encode_message_metadata, retry_changes_cancel
from bot.blocks.goal_buttons import decode_goal_value as decode_goal_value
from bot.blocks.limits import MAX_SECTION_TEXT
from bot.blocks.text import fit

RETRY_ACTION = "codex_retry"
REQUEST_CHANGES_ACTION = "codex_request_changes"
CANCEL_ACTION = "codex_cancel"
FEEDBACK_MODAL = "codex_feedback_modal"
FEEDBACK_FIELD = "feedback"
MAX_LISTED = 10


@dataclass(frozen=True)
class EmptyBuildView:
    goal_id: str
    task_id: int
    version: int
    last_message: str
    failed_actions: tuple[str, ...] = ()
    run_id: str | None = None
    stopped_by: str | None = None  # a person stopped the build (Stop, or a :x: reaction)


def empty_build_text(v: EmptyBuildView) -> str:
    if v.stopped_by:
        who = f"<@{v.stopped_by}>" if re.match(r"^[UW][A-Z0-9_]+$", v.stopped_by) else "someone"
        return (
            f"⏹ {v.goal_id}: {who} stopped the build of task {v.task_id} (v{v.version}); "
            "its changes so far stay in the worktree, and there is no diff to approve."
        )
    return f"⚠️ {v.goal_id}: the build of task {v.task_id} (v{v.version}) changed nothing, so there is no diff to approve."


def _plain(text: str) -> str:
    """One line of someone else's words, safe inside mrkdwn (no code fence to break out of)."""
    return " ".join(text.split()).replace("`", "'")


def build_empty_build(v: EmptyBuildView) -> list[dict[str, Any]]:
    said = _plain(v.last_message) or "(no message)"
    lines = [
        f"*{fit(empty_build_text(v), 300, escape=lambda t: t)}*",
        f"The builder's last message: _{fit(said, 900)}_",
    ]
    if v.failed_actions:
        listed = "\n".join(f"• {fit(_plain(a), 200)}" for a in v.failed_actions[:MAX_LISTED])
        lines.append(f"What did not go through:\n{listed}")
    if v.run_id:
        lines.append(f"Run record: `{fit(v.run_id, 80)}` (`orch runs show {fit(v.run_id, 80)}`)")
    lines.append(
        "*Retry* runs the build again, *Request changes* runs it again with your directions, "
        "*Cancel goal* stops the goal."
    )
    text = "\n".join(lines)
    blocks: list[Block] = [
        SectionBlock(block_id="codex_empty_build", text=MarkdownTextObject(text=text[:MAX_SECTION_TEXT])),
        retry_changes_cancel(
            "codex_empty_build_actions",
            v.goal_id,
            retry=RETRY_ACTION,
            request_changes=REQUEST_CHANGES_ACTION,
            cancel=CANCEL_ACTION,
        ),
    ]
    return [b.to_dict() for b in blocks]


def build_empty_build_outcome(outcome: str) -> list[dict[str, Any]]:
    """The message once someone acted on it: the buttons give way to what was done."""
    return build_outcome("codex_empty_build_outcome", outcome)


# The modal's metadata; the same shape as every Request changes modal of a goal's message.
encode_feedback_metadata = encode_message_metadata


def build_feedback_modal(goal_id: str, private_metadata: str) -> dict[str, Any]:
    view = View(
        type="modal",
        callback_id=FEEDBACK_MODAL,
        title="Request changes",
        submit="Build again",
        close="Cancel",
        private_metadata=private_metadata,
        blocks=[
            SectionBlock(
                block_id="about",
                text=MarkdownTextObject(
                    text=f"*{fit(goal_id, 40)}*: the build changed nothing. What should it do differently?"
                ),
            ),
            InputBlock(
                block_id=FEEDBACK_FIELD,
                label="Directions for the builder",
                element=PlainTextInputElement(
                    action_id=FEEDBACK_FIELD, multiline=True, min_length=1, max_length=3000
                ),
            ),
        ],
    )
    return view.to_dict()
