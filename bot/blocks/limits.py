"""Slack's Block Kit limits, and a preflight check a caller can run before posting.

slack_sdk's models check each block on its own; Slack also refuses whole messages that are too big
(`msg_blocks_too_long` at about 13k characters even when every block is within its own limit,
slackapi/bolt-js#2509), which only a check over the whole list can see.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_FIELD_TEXT = 2000
MAX_FIELDS = 10
MAX_MARKDOWN_TEXT = 12_000
MAX_HEADER_TEXT = 150
MAX_BUTTON_VALUE = 2000
MAX_CONTEXT_ELEMENTS = 10
# Our own budget for all the text of one message, kept under the ~13.2k where Slack starts refusing.
# It is also the documented cumulative limit of all markdown blocks in one payload.
MESSAGE_TEXT_BUDGET = 12_000

# Keys whose values are identifiers or enums, not text Slack counts towards the payload.
_NOT_TEXT = frozenset({"type", "block_id", "action_id", "style", "callback_id"})


def payload_chars(value: Any) -> int:
    """Characters of text in a block payload (every string but ids and type names), counted the way
    a conservative reader of Slack's size limits would."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return sum(payload_chars(v) for k, v in value.items() if k not in _NOT_TEXT)
    if isinstance(value, list | tuple):
        return sum(payload_chars(v) for v in value)
    return 0


def check_message(blocks: list[dict[str, Any]], *, budget: int = MESSAGE_TEXT_BUDGET) -> None:
    """Raise ValueError when a message's blocks would be refused by Slack (or come near it).

    Each block is re-parsed with slack_sdk and serialised again: `to_dict()` runs the validators of
    the block and of everything nested in it, and a key slack_sdk does not know would be dropped, so
    the round trip must give back the same dict.
    """
    if not 0 < len(blocks) <= MAX_MESSAGE_BLOCKS:
        raise ValueError(f"a message needs 1..{MAX_MESSAGE_BLOCKS} blocks, got {len(blocks)}")
    for raw in blocks:
        block = Block.parse(raw)
        if block is None:
            raise ValueError(f"not a block: {raw!r:.200}")
        _round_trip(raw, block.to_dict, f"{raw.get('type')} block")
        if _has_empty_text(raw):
            raise ValueError(f"{raw.get('type')} block has an empty text, which Slack refuses")
    used = payload_chars(blocks)
    if used > budget:
        raise ValueError(f"message text is {used} characters, over the budget of {budget}")


def check_view(view: dict[str, Any]) -> None:
    """Raise ValueError when a modal or Home view would be refused by Slack."""
    try:
        parsed = View(**view)
    except TypeError as exc:
        raise ValueError(f"not a view: {exc}") from exc
    _round_trip(view, parsed.to_dict, f"{view.get('type')} view")
    if _has_empty_text(view):
        raise ValueError(f"{view.get('type')} view has an empty text, which Slack refuses")


def _has_empty_text(value: Any) -> bool:
    if isinstance(value, dict):
        if (
            value.get("type") in ("mrkdwn", "plain_text", "markdown")
            and not str(value.get("text", "")).strip()
        ):
            return True
        return any(_has_empty_text(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_empty_text(v) for v in value)
    return False


def _round_trip(raw: dict[str, Any], to_dict: Callable[[], dict[str, Any]], what: str) -> None:
    try:
        again = to_dict()
    except SlackObjectFormationError as exc:
        raise ValueError(f"invalid {what}: {exc}") from exc
    if again != raw:
        raise ValueError(f"{what} changes when slack_sdk re-reads it (an unknown key or a wrong type)")
