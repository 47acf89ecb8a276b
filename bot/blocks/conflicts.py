"""The merge-conflict message in a goal's thread: what conflicts, and the three ways on.

A task's approved diff could not be merged because a person's commit on main changed the same
lines. The goal stops at that task; the message names the files and offers Rebase and rebuild
(build the task again on main as it is now), Request changes (the same, with a person's notes for
the builder) and Cancel (the goal). Once someone chooses, the buttons give way to the choice.
"""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.blocks.modals import _modal, _text_input
from bot.blocks.text import fit, mention, plain, truncate

CONFLICT_REBUILD_ACTION = "orch_conflict_rebuild"
CONFLICT_CHANGES_ACTION = "orch_conflict_changes"
CONFLICT_CANCEL_ACTION = "orch_conflict_cancel"
CONFLICT_ACTIONS = (CONFLICT_REBUILD_ACTION, CONFLICT_CHANGES_ACTION, CONFLICT_CANCEL_ACTION)
CONFLICT_FEEDBACK_MODAL = "orch_conflict_feedback_modal"
MAX_FILES_SHOWN = 15
CHOICES = {
    "rebuild": "chose *Rebase and rebuild*: the task is built again on main as it is now",
    "changes": "requested changes: the task is built again on main with their notes",
    "cancel": "cancelled the goal",
}

__all__ = [
    "CONFLICT_ACTIONS",
    "CONFLICT_CANCEL_ACTION",
    "CONFLICT_CHANGES_ACTION",
    "CONFLICT_FEEDBACK_MODAL",
    "CONFLICT_REBUILD_ACTION",
    "ConflictView",
    "build_conflict_decided_message",
    "build_conflict_feedback_modal",
    "build_conflict_message",
    "conflict_text",
    "decode_conflict_value",
    "encode_conflict_value",
]


@dataclass(frozen=True)
class ConflictView:
    goal_id: str
    task_id: int
    version: int
    title: str
    files: list[str]
    base_branch: str = "main"


def encode_conflict_value(goal_id: str, task_id: int, version: int) -> str:
    return f"{goal_id}|{int(task_id)}|{int(version)}"


def decode_conflict_value(value: str) -> tuple[str, int, int]:
    """(goal id, task id, version) from a conflict button's value; ValueError when it is not one."""
    parts = (value or "").split("|")
    if len(parts) != 3 or not parts[0].startswith("G-") or not parts[1].isdigit() or not parts[2].isdigit():
        raise ValueError("not a merge-conflict button")
    return parts[0], int(parts[1]), int(parts[2])


def _files(files: list[str]) -> str:
    shown = "\n".join(f"• `{fit(plain(f), 120)}`" for f in files[:MAX_FILES_SHOWN])
    more = len(files) - MAX_FILES_SHOWN
    return shown + (f"\n…and {more} more" if more > 0 else "") if files else "• (git named no file)"


def conflict_text(v: ConflictView) -> str:
    return (
        f"{v.goal_id}: task {v.task_id} could not be merged — it conflicts with a change on "
        f"{v.base_branch} in {len(v.files)} file(s)"
    )


def _summary(v: ConflictView) -> SectionBlock:
    text = (
        f"🧱 *Task {v.task_id}: {fit(plain(v.title), 150)}* (diff v{v.version}) conflicts with a change "
        f"that was committed to `{fit(plain(v.base_branch), 60)}` meanwhile. Nothing was merged; the goal "
        f"waits at this task.\n*Conflicting files:*\n{_files(v.files)}"
    )
    return SectionBlock(block_id="conflict_summary", text=MarkdownTextObject(text=truncate(text, 3000)))


def build_conflict_message(v: ConflictView) -> list[dict]:
    value = encode_conflict_value(v.goal_id, v.task_id, v.version)
    buttons = [
        ButtonElement(
            text="Rebase and rebuild", action_id=CONFLICT_REBUILD_ACTION, value=value, style="primary"
        ),
        ButtonElement(text="Request changes", action_id=CONFLICT_CHANGES_ACTION, value=value),
        ButtonElement(
            text="Cancel goal",
            action_id=CONFLICT_CANCEL_ACTION,
            value=value,
            style="danger",
            confirm=ConfirmObject(
                title="Cancel the goal?",
                text=f"{v.goal_id} stops here; the tasks merged so far stay on {v.base_branch}.",
                confirm="Cancel goal",
                deny="Keep it",
            ),
        ),
    ]
    hint = (
        "*Rebase and rebuild* builds the task again on top of the new change and asks for its approval; "
        "*Request changes* does the same with your notes for the builder; *Cancel goal* stops here."
    )
    blocks = [
        _summary(v),
        ActionsBlock(block_id="conflict_actions", elements=buttons),
        ContextBlock(elements=[MarkdownTextObject(text=hint)]),
    ]
    return [b.to_dict() for b in blocks]


def build_conflict_decided_message(v: ConflictView, *, by: str, choice: str) -> list[dict]:
    what = CHOICES.get(choice, plain(choice))
    blocks = [
        _summary(v),
        ContextBlock(
            block_id="conflict_decided", elements=[MarkdownTextObject(text=f"{mention(by)} {what}.")]
        ),
    ]
    return [b.to_dict() for b in blocks]


def build_conflict_feedback_modal(v: ConflictView, private_metadata: str) -> dict:
    about = SectionBlock(
        block_id="about",
        text=MarkdownTextObject(
            text=f"*Task {v.task_id}* of {fit(v.goal_id, 40)} conflicts in {len(v.files)} file(s) with {v.base_branch}."
        ),
    )
    blocks = [
        about,
        _text_input(
            "feedback",
            "What should the rebuilt task do differently?",
            multiline=True,
            min_length=1,
            hint="The task is built again on the current main with these notes, then shown for approval.",
        ),
    ]
    return _modal(CONFLICT_FEEDBACK_MODAL, "Request changes", "Rebuild", private_metadata, blocks)
