"""The Approve / Request changes / Reject buttons, and their values.

A button value names exactly what the reader saw (goal, phase, version and the full sha256 of the
artifact), so a click on an older message is recognised as stale. The value comes back from Slack
as untrusted input, so `decode_button_value` accepts nothing but the shape `encode_button_value`
writes.
"""

from __future__ import annotations

import json
import re
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, ButtonElement, ConfirmObject, PlainTextObject

from bot.blocks.limits import MAX_BUTTON_VALUE
from bot.blocks.text import truncate
from bot.blocks.view_models import ButtonRef
from bot.sop.ids import GOAL_ID_RE
from bot.sop.phases import Phase

APPROVE_ACTION = "orch_approve"
REQUEST_CHANGES_ACTION = "orch_request_changes"
REJECT_ACTION = "orch_reject"
DECISION_ACTIONS = (APPROVE_ACTION, REQUEST_CHANGES_ACTION, REJECT_ACTION)

# Same shape as the services' goal ids; duplicated so this pure module needs no storage imports.
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_TASK_ID = re.compile(r"^\d{1,9}(\.\d{1,9}){0,3}$")
_GATED = frozenset(p.value for p in Phase if p is not Phase.DONE)
_REQUIRED = frozenset({"g", "p", "v", "s"})
_ALLOWED = _REQUIRED | {"t"}
_MAX_VERSION = 1_000_000


def encode_button_value(
    goal_id: str, phase: Phase | str, version: int, sha256: str, task_id: int | str | None = None
) -> str:
    """Compact JSON `{"g","p","v","s"[,"t"]}`; refuses to write anything decode would refuse."""
    data: dict[str, Any] = {"g": goal_id, "p": str(Phase(phase)), "v": version, "s": sha256}
    if task_id is not None:
        data["t"] = task_id
    value = json.dumps(data, separators=(",", ":"), ensure_ascii=True)
    decode_button_value(value)
    return value


def decode_button_value(value: str) -> ButtonRef:
    """Parse a decision button's value; ValueError names what is wrong with anything else."""
    if not isinstance(value, str) or not value:
        raise ValueError("button value is empty or not a string")
    if len(value) > MAX_BUTTON_VALUE:
        raise ValueError(f"button value is longer than {MAX_BUTTON_VALUE} characters")
    try:
        data = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValueError(f"button value is not JSON: {exc.msg}") from None
    except RecursionError:
        # Deeply nested junk ("[[[[…") exhausts the decoder's stack before it is seen to be junk.
        raise ValueError("button value is nested too deeply") from None
    if not isinstance(data, dict):
        raise ValueError("button value is not a JSON object")
    keys = set(data)
    if missing := _REQUIRED - keys:
        raise ValueError(f"button value lacks {sorted(missing)}")
    if unknown := keys - _ALLOWED:
        raise ValueError(f"button value has unknown keys {sorted(unknown)!r:.100}")
    goal_id, phase, version, sha = data["g"], data["p"], data["v"], data["s"]
    if not isinstance(goal_id, str) or not GOAL_ID_RE.match(goal_id):
        raise ValueError("button value has a malformed goal id")
    if not isinstance(phase, str) or phase not in _GATED:
        raise ValueError("button value names no gated phase")
    # bool is an int in Python; a JSON `true` is not a version.
    if type(version) is not int or not 1 <= version <= _MAX_VERSION:
        raise ValueError("button value has no valid version")
    if not isinstance(sha, str) or not _SHA256.match(sha):
        raise ValueError("button value has no full lowercase sha256")
    task_id = data.get("t")
    if "t" in data:
        if phase != Phase.IMPLEMENTATION:
            raise ValueError("only implementation buttons name a task")
        valid_int = type(task_id) is int and 0 <= task_id < 10**9
        valid_str = isinstance(task_id, str) and _TASK_ID.match(task_id)
        if not (valid_int or valid_str):
            raise ValueError("button value has a malformed task id")
    return ButtonRef(goal_id=goal_id, phase=Phase(phase), version=version, sha256=sha, task_id=task_id)


def decision_actions(
    value: str, *, block_id: str, reject_warning: str, approvable: bool = True
) -> dict[str, Any]:
    """The actions block: Approve (unless not `approvable`), Request changes, Reject with a confirm.

    `reject_warning` is the confirm dialog's text: what rejecting does to the thing shown.
    """
    elements: list[ButtonElement] = []
    if approvable:
        elements.append(ButtonElement(text="Approve", action_id=APPROVE_ACTION, value=value, style="primary"))
    elements.append(ButtonElement(text="Request changes", action_id=REQUEST_CHANGES_ACTION, value=value))
    confirm = ConfirmObject(
        title="Reject?",
        # Plain text: it may carry a label, and plain_text is never parsed for mentions.
        text=PlainTextObject(text=truncate(reject_warning, 300)),
        confirm="Reject",
        deny="Keep it",
        style="danger",
    )
    elements.append(
        ButtonElement(text="Reject", action_id=REJECT_ACTION, value=value, style="danger", confirm=confirm)
    )
    return ActionsBlock(block_id=block_id, elements=elements).to_dict()
