"""The message a goal's thread gets when its draft or build failed for good, and its buttons.

Retry, Request changes (a modal asks for the feedback: there may be no artifact to comment on) and
Cancel. The action ids carry the work's kind (`orch_draft_retry`, `orch_build_retry`, …) and the value names
the goal only: what is retried is whatever failed draft or build holds the goal when the click
arrives, so a click on an old message can never retry something else.
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
from bot.blocks.text import fit, mention

KINDS = ("draft", "build")
RETRY, REQUEST_CHANGES, CANCEL = "retry", "request_changes", "cancel"
# `orch_draft_retry`, `orch_build_request_changes`, …: one listener per verb, both kinds.
ACTION_RE = re.compile(r"^orch_(draft|build)_(retry|request_changes|cancel)$")
FEEDBACK_MODAL = "orch_draft_feedback_modal"


@dataclass(frozen=True)
class WorkFailureView:
    goal_id: str
    kind: str  # "draft" | "build"
    what: str  # "Drafting the PRD (v1)"
    attempts: int
    error: str
    auto_retry: bool  # the scheduler will also retry it once the model answers again


# Spelled out, so each id can be found where it is named (the listeners register these).
ACTION_IDS = {
    ("draft", RETRY): "orch_draft_retry",
    ("draft", REQUEST_CHANGES): "orch_draft_request_changes",
    ("draft", CANCEL): "orch_draft_cancel",
    ("build", RETRY): "orch_build_retry",
    ("build", REQUEST_CHANGES): "orch_build_request_changes",
    ("build", CANCEL): "orch_build_cancel",
}


def action_id(kind: str, verb: str) -> str:
    return ACTION_IDS[(kind, verb)]


def work_failure_text(v: WorkFailureView) -> str:
    return f"⚠️ {v.goal_id}: {v.what} failed after {v.attempts} attempt(s)."


def build_work_failure(v: WorkFailureView) -> list[dict[str, Any]]:
    if v.kind not in KINDS:
        raise ValueError(f"unknown work kind {v.kind!r}")
    error = (" ".join(v.error.split()) or "no error was recorded").replace("`", "'")
    again = " I will also try again by myself once the model answers again." if v.auto_retry else ""
    text = (
        f"*{fit(work_failure_text(v), 400)}*\n"
        f"Last error: `{fit(error, 600)}`\n"
        f"Nothing moves until someone acts: *Retry* runs it again, *Request changes* runs it again "
        f"with your directions, *Cancel* stops the goal.{again}"
    )
    blocks: list[Block] = [
        # Every part is escaped and cut to size above; the whole stays far below the section limit.
        SectionBlock(block_id="work_failure", text=MarkdownTextObject(text=text[:MAX_SECTION_TEXT])),
        retry_changes_cancel(
            "work_failure_actions",
            v.goal_id,
            retry=action_id(v.kind, RETRY),
            request_changes=action_id(v.kind, REQUEST_CHANGES),
            cancel=action_id(v.kind, CANCEL),
        ),
    ]
    return [b.to_dict() for b in blocks]


def work_failure_outcome_text(*, actor: str, what: str, feedback: bool, automatic: bool) -> str:
    """What the failure message says once the work runs again (escaped mrkdwn)."""
    if automatic:
        return f"↻ The model answers again: {fit(what, 300)} runs again by itself."
    if feedback:
        return f"✏️ {mention(actor)} asked for changes: {fit(what, 300)} runs again with the feedback."
    return f"↻ {mention(actor)} asked to try again: {fit(what, 300)}."


def build_work_failure_outcome(goal_id: str, outcome: str) -> list[dict[str, Any]]:
    """The failure message once someone acted on it: the buttons give way to what was done."""
    return build_outcome("work_failure_outcome", outcome)


def build_work_feedback_modal(goal_id: str, what: str, private_metadata: str) -> dict[str, Any]:
    view = View(
        type="modal",
        callback_id=FEEDBACK_MODAL,
        title="Request changes",
        submit="Send",
        close="Cancel",
        private_metadata=private_metadata,
        blocks=[
            SectionBlock(
                block_id="about",
                text=MarkdownTextObject(text=f"*{fit(goal_id, 40)}*: {fit(what, 2000)} failed."),
            ),
            InputBlock(
                block_id="feedback",
                label="What should be done differently?",
                element=PlainTextInputElement(
                    action_id="feedback", multiline=True, min_length=1, max_length=3000
                ),
                hint="It is run again with these directions, as after a Request changes on a draft.",
            ),
        ],
    )
    return view.to_dict()


# The modal's metadata; the same shape as every Request changes modal of a goal's message.
encode_modal_metadata = encode_message_metadata
