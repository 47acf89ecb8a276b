"""Small messages: a progress message updated in place, help, and ephemeral errors."""

from __future__ import annotations

from typing import Any, Literal

from slack_sdk.models.blocks import ContextBlock, HeaderBlock, MarkdownTextObject, SectionBlock

from bot.blocks.limits import MAX_SECTION_TEXT
from bot.blocks.text import fit
from bot.manifest_facts import ORCH_COMMAND

StepState = Literal["pending", "running", "done", "failed", "skipped"]

STEP_MARKS: dict[str, str] = {
    "pending": "○",
    "running": "⏳",
    "done": "✅",
    "failed": "❌",
    "skipped": "⏭",
}
MAX_STEPS = 30
SHORTCUT_NAME = "Start goal from thread"

# (usage, what it does); the usage is ours, so it is written in mrkdwn directly.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("start <brief>", "start a goal from a brief; the PRD draft follows in its thread"),
    ("start", "open a form to start a goal (title, brief, repository, approvers, priority)"),
    ("start --repo <name> <brief>", "start a goal on a named repository of the configuration"),
    ("repo [use <name>]", "which repository this channel's goals use; make <name> its default"),
    ("status [goal-id]", "where a goal stands; without an id, the goals of this channel"),
    ("list", "the goals you started or must approve"),
    ("cancel <goal-id>", "cancel a goal (its requester or an approver)"),
    ("retry <goal-id>", "re-run a goal's failed steps, and the ones waiting for a retry, now"),
    ("approvers", "who approves which gate in this channel"),
    ("digest", "post this channel's status digest now"),
    ("rerequest <goal-id>", "ask again for an expired approval, or run failed work again"),
    ("review <goal-id>", "ask the approvers to re-review a goal's approved artifacts before they go stale"),
    ("metrics [7d]", "how the procedure is doing: gates kept, runs without fix-ups, time to bootstrap"),
    (
        "learn <repo path or URL>",
        "harvest a repository's conventions into patterns/ and adapters/ for approval",
    ),
    ("help", "this help"),
)


def build_status_message(text: str, steps: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """A progress message (`text` on top, one line per step) meant to be updated in place.

    A step's state is one of pending, running, done, failed, skipped; anything else shows as "•".
    """
    # 30 lines of at most 80 characters (and a mark) keep the section well under 3000.
    lines = [f"{STEP_MARKS.get(state, '•')} {fit(label, 80)}" for label, state in steps[:MAX_STEPS]]
    if len(steps) > MAX_STEPS:
        lines.append(f"…and {len(steps) - MAX_STEPS} more steps")
    blocks = [SectionBlock(block_id="status_text", text=MarkdownTextObject(text=fit(text or "…", 2900)))]
    if lines:
        body = "\n".join(lines)
        blocks.append(SectionBlock(block_id="status_steps", text=MarkdownTextObject(text=body)))
    return [b.to_dict() for b in blocks]


def _usage(usage: str) -> str:
    # Angle brackets in a usage like `<brief>` are ours but still need escaping to show in mrkdwn.
    return f"`{ORCH_COMMAND} {usage.replace('<', '&lt;').replace('>', '&gt;')}`"


def build_help_text() -> str:
    """The help as one mrkdwn string, for `respond(text=…)` and as the fallback of the blocks."""
    lines = [
        "*Codex Orchestrator* walks a goal through Scaffold Check → PRD → Task List → Mini-Spec "
        "(when needed) → Action Plan → Implementation. Nothing moves on without an approval.",
        *(f"• {_usage(usage)}: {what}" for usage, what in COMMANDS),
        f"• Message shortcut *{SHORTCUT_NAME}*: turn a thread into a goal (from a message's ⋮ menu)",
    ]
    return "\n".join(lines)


def build_help_blocks() -> list[dict[str, Any]]:
    commands = "\n".join(f"{_usage(usage)}\n      {what}" for usage, what in COMMANDS)
    blocks = [
        HeaderBlock(block_id="help_header", text="Codex Orchestrator"),
        SectionBlock(
            block_id="help_intro",
            text=MarkdownTextObject(
                text="Walks a goal through Scaffold Check → PRD → Task List → Mini-Spec (when needed) → "
                "Action Plan → Implementation. Every phase is approved in its thread before the next starts."
            ),
        ),
        SectionBlock(block_id="help_commands", text=MarkdownTextObject(text=commands[:MAX_SECTION_TEXT])),
        ContextBlock(
            block_id="help_shortcut",
            elements=[
                MarkdownTextObject(
                    text=f"Message shortcut *{SHORTCUT_NAME}*: turn a thread into a goal (a message's ⋮ menu)."
                )
            ],
        ),
    ]
    return [b.to_dict() for b in blocks]


def build_ephemeral_error(text: str) -> list[dict[str, Any]]:
    """An error shown only to the person who acted; `text` is shown literally."""
    body = f"⚠️ {fit(text or 'Something went wrong.', 2900)}"
    return [SectionBlock(block_id="error", text=MarkdownTextObject(text=body)).to_dict()]
