"""The message a goal's thread gets when something failed for good: what, and what a person can do.

One shape for every failure (an effect that ran out of retries, a job that failed, a goal that
cannot move), with buttons: Retry and Cancel always, and whatever else the caller offers (Request
changes for drafts and builds). A button's value names the goal and, for Retry, what to re-run;
it comes back from Slack as untrusted input, so `decode_failure_value` accepts nothing else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.blocks.limits import MAX_BUTTON_VALUE
from bot.blocks.text import fit
from bot.sop.ids import GOAL_ID_RE

RETRY_ACTION = "orch_retry_failed"
CANCEL_GOAL_ACTION = "orch_cancel_goal"
FAILURE_ACTIONS = (RETRY_ACTION, CANCEL_GOAL_ACTION)

_WHAT = frozenset({"effect", "job", "goal"})


@dataclass(frozen=True)
class FailureButton:
    """An extra button: its action id, label and value (already encoded by whoever handles it)."""

    action_id: str
    text: str
    value: str
    style: Literal["primary", "danger"] | None = None


@dataclass(frozen=True)
class FailureRef:
    """What a Retry or Cancel button refers to: a goal, and the failed thing to re-run (if any)."""

    goal_id: str
    what: str = "goal"  # effect | job | goal
    id: int | None = None


def encode_failure_value(ref: FailureRef) -> str:
    data: dict[str, Any] = {"g": ref.goal_id, "w": ref.what}
    if ref.id is not None:
        data["i"] = ref.id
    value = json.dumps(data, separators=(",", ":"), ensure_ascii=True)
    decode_failure_value(value)
    return value


def decode_failure_value(value: str) -> FailureRef:
    """Parse a Retry/Cancel button's value; ValueError names what is wrong with anything else."""
    if not isinstance(value, str) or not value or len(value) > MAX_BUTTON_VALUE:
        raise ValueError("button value is empty or too long")
    try:
        data = json.loads(value)
    except (json.JSONDecodeError, RecursionError):
        raise ValueError("button value is not JSON") from None
    if not isinstance(data, dict) or set(data) - {"g", "w", "i"} or not {"g", "w"} <= set(data):
        raise ValueError("button value has the wrong keys")
    goal_id, what, ident = data["g"], data["w"], data.get("i")
    if not isinstance(goal_id, str) or not GOAL_ID_RE.match(goal_id):
        raise ValueError("button value has a malformed goal id")
    if what not in _WHAT:
        raise ValueError("button value names nothing to retry")
    if ident is not None and (type(ident) is not int or not 0 < ident < 2**62):
        raise ValueError("button value has a malformed id")
    return FailureRef(goal_id=goal_id, what=what, id=ident)


def build_failure_message(
    goal_id: str,
    what_failed: str,
    what_to_do: str,
    *,
    detail: str | None = None,
    retry: FailureRef | None = None,
    actions: tuple[FailureButton, ...] = (),
) -> tuple[list[dict[str, Any]], str]:
    """Blocks and fallback text: ⚠️ what failed, the last error, what a person can do, and buttons
    (Retry of `retry`, or of the whole goal; the extra `actions`; Cancel)."""
    head = f"⚠️ *{goal_id}: {what_failed}*"
    blocks: list[Any] = [
        SectionBlock(text=MarkdownTextObject(text=fit(f"{head}\n{what_to_do}", 2900))),
    ]
    if detail:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=fit(f"Last error: {detail}", 1900))]))
    retry_value = encode_failure_value(retry or FailureRef(goal_id=goal_id))
    cancel_value = encode_failure_value(FailureRef(goal_id=goal_id))
    buttons = [
        ButtonElement(
            text=PlainTextObject(text="Retry"), action_id=RETRY_ACTION, value=retry_value, style="primary"
        ),
        *(
            ButtonElement(
                text=PlainTextObject(text=b.text), action_id=b.action_id, value=b.value, style=b.style
            )
            for b in actions
        ),
        ButtonElement(
            text=PlainTextObject(text="Cancel goal"),
            action_id=CANCEL_GOAL_ACTION,
            value=cancel_value,
            style="danger",
            confirm=ConfirmObject(
                title="Cancel this goal?",
                text=f"No more work happens on {goal_id}; what is committed stays.",
                confirm="Cancel goal",
                deny="Keep it",
            ),
        ),
    ]
    blocks.append(ActionsBlock(block_id=f"failure_actions_{goal_id}", elements=buttons))
    text = f"⚠️ {goal_id}: {what_failed}. {what_to_do}"
    return [b.to_dict() for b in blocks], fit(text, 3000)


def build_failure_done(goal_id: str, what_failed: str, outcome: str) -> list[dict[str, Any]]:
    """The same message once a person pressed a button: the buttons give way to what happened."""
    return [
        SectionBlock(text=MarkdownTextObject(text=fit(f"⚠️ *{goal_id}: {what_failed}*", 2900))).to_dict(),
        ContextBlock(elements=[MarkdownTextObject(text=fit(outcome, 1900))]).to_dict(),
    ]
