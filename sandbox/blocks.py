"""Block Kit checks and lookups.

Validation goes through slack_sdk's own models (`Block.parse`, `View`, `to_dict()`), so the
sandbox refuses what those validators refuse: the same limits the bot's builders are checked
against. Errors read like Slack's: a message and a `[json-pointer:/blocks/3]` location.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100

# Every way a malformed dict can make slack_sdk's constructors or validators fail.
_PARSE_ERRORS = (SlackObjectFormationError, TypeError, ValueError, KeyError, AttributeError)
_INPUT_TYPES_WITH_ACTION = ("actions", "input", "section", "context_actions")


def json_arg(raw: Any) -> Any:
    """Slack takes blocks/views/files either as JSON text (form bodies) or inline (JSON bodies)."""
    if isinstance(raw, str | bytes):
        return json.loads(raw)
    return raw


def text_of(obj: Any) -> str:
    """The visible text of a text object, a plain string, or nothing."""
    if isinstance(obj, dict):
        return str(obj.get("text", ""))
    return "" if obj is None else str(obj)


def block_errors(blocks: Any, *, pointer: str = "/blocks", limit: int = MAX_MESSAGE_BLOCKS) -> list[str]:
    if not isinstance(blocks, list):
        return [f"must provide an array [json-pointer:{pointer}]"]
    errors: list[str] = []
    if len(blocks) > limit:
        errors.append(f"no more than {limit} items allowed [json-pointer:{pointer}]")
    seen: set[str] = set()
    for i, raw in enumerate(blocks):
        where = f"[json-pointer:{pointer}/{i}]"
        if not isinstance(raw, dict):
            errors.append(f"must be an object {where}")
            continue
        try:
            block = Block.parse(copy.deepcopy(raw))
            if block is None:
                errors.append(f"unsupported block type {raw.get('type')!r} {where}")
                continue
            block.to_dict()  # to_dict() runs the validators of the block and of everything inside it
        except _PARSE_ERRORS as exc:
            errors.append(f"{exc} {where}")
        errors += [
            f"must be more than 0 characters [json-pointer:{pointer}/{i}{p}]" for p in _empty_texts(raw)
        ]
        block_id = raw.get("block_id")
        if block_id is not None:
            if block_id in seen:
                errors.append(f"duplicate block_id {block_id!r} {where}")
            seen.add(block_id)
    return errors


def _empty_texts(node: Any, path: str = "") -> Iterator[str]:
    """Pointers to empty text objects, which Slack refuses and slack_sdk's validators let through."""
    if isinstance(node, dict):
        if node.get("type") in ("plain_text", "mrkdwn") and node.get("text") == "":
            yield path + "/text"
        for key, value in node.items():
            yield from _empty_texts(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _empty_texts(value, f"{path}/{i}")


def view_errors(view: Any, *, expected_type: str | None = None) -> list[str]:
    if not isinstance(view, dict):
        return ["must provide an object [json-pointer:/view]"]
    errors: list[str] = []
    if expected_type and view.get("type") != expected_type:
        errors.append(f"view type must be {expected_type!r} [json-pointer:/view/type]")
    if "blocks" not in view:
        return [*errors, "missing required field: blocks [json-pointer:/view]"]
    errors += block_errors(view["blocks"], pointer="/view/blocks", limit=MAX_VIEW_BLOCKS)
    if errors:
        return errors
    try:
        View(**copy.deepcopy(view)).validate_json()
    except _PARSE_ERRORS as exc:
        errors.append(f"{exc} [json-pointer:/view]")
    if view.get("type") == "modal":
        if not text_of(view.get("title")):
            errors.append("missing required field: title [json-pointer:/view]")
        if any(b.get("type") == "input" for b in view["blocks"]) and not view.get("submit"):
            errors.append("submit is required when a view has input blocks [json-pointer:/view]")
    return errors


def with_ids(blocks: list[dict[str, Any]], new_id: Callable[[], str]) -> list[dict[str, Any]]:
    """A copy where every block has a block_id and every interactive element an action_id.

    Slack fills these in when the app leaves them out, and payloads always carry them.
    """
    out = copy.deepcopy(blocks)
    for block in out:
        block.setdefault("block_id", new_id())
        for element in _elements_of(block):
            if element.get("type") not in ("image", "mrkdwn", "plain_text"):
                element.setdefault("action_id", new_id())
    return out


def _elements_of(block: dict[str, Any]) -> Iterator[dict[str, Any]]:
    if block.get("type") in ("actions", "context_actions"):
        yield from (e for e in block.get("elements", []) if isinstance(e, dict))
    elif block.get("type") == "section" and isinstance(block.get("accessory"), dict):
        yield block["accessory"]
    elif block.get("type") == "input" and isinstance(block.get("element"), dict):
        yield block["element"]


def interactive(blocks: list[dict[str, Any]] | None) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(block, element) for every element a person can act on, in reading order."""
    for block in blocks or []:
        if block.get("type") in _INPUT_TYPES_WITH_ACTION:
            for element in _elements_of(block):
                yield block, element


def buttons(blocks: list[dict[str, Any]] | None) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(b, e) for b, e in interactive(blocks) if e.get("type") == "button"]


def button_labels(blocks: list[dict[str, Any]] | None) -> list[str]:
    return [text_of(e.get("text")) for _, e in buttons(blocks)]


def find_button(
    blocks: list[dict[str, Any]] | None, label: str | None = None, action_id: str | None = None
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    for block, element in buttons(blocks):
        if action_id is not None and element.get("action_id") != action_id:
            continue
        if label is not None and text_of(element.get("text")) != label:
            continue
        return block, element
    return None


def input_blocks(blocks: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [b for b in blocks or [] if b.get("type") == "input" and isinstance(b.get("element"), dict)]
