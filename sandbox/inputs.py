"""Turn what a test "types" into a modal's `view.state.values`, the way Slack's client would.

A test names an input by its label ("Reason"), its block_id, its action_id, or
"block_id/action_id", and gives a plain value: text for text inputs, an option's value or label
for selects, a list for multi-selects. Inputs left alone keep their initial value. A required
input left empty fails the test at once, because Slack's client would not let a person submit.
"""

from __future__ import annotations

import copy
from typing import Any

from sandbox.blocks import input_blocks, text_of

_TEXT_TYPES = {"plain_text_input", "email_text_input", "url_text_input", "number_input"}
_SINGLE_OPTION = {"static_select", "external_select", "radio_buttons"}
_MULTI_OPTION = {"multi_static_select", "multi_external_select", "checkboxes"}
_SINGLE_PICK = {
    "users_select": ("selected_user", "initial_user"),
    "conversations_select": ("selected_conversation", "initial_conversation"),
    "channels_select": ("selected_channel", "initial_channel"),
    "datepicker": ("selected_date", "initial_date"),
    "timepicker": ("selected_time", "initial_time"),
    "datetimepicker": ("selected_date_time", "initial_date_time"),
}
_MULTI_PICK = {
    "multi_users_select": ("selected_users", "initial_users"),
    "multi_conversations_select": ("selected_conversations", "initial_conversations"),
    "multi_channels_select": ("selected_channels", "initial_channels"),
}
_MISSING = object()


def state_values(
    blocks: list[dict[str, Any]], values: dict[str, Any] | None, *, require: bool = True
) -> dict[str, Any]:
    """`{block_id: {action_id: {...}}}` for every input block of the view.

    `require=False` is for clicks inside a modal: a person may click before filling everything in.
    """
    given = dict(values or {})
    result: dict[str, Any] = {}
    for block in input_blocks(blocks):
        element = block["element"]
        block_id, action_id = block["block_id"], element["action_id"]
        label = text_of(block.get("label"))
        value = _take(given, block_id, action_id, label)
        if value is _MISSING:
            value = None
            if require and not block.get("optional") and not _has_initial(element):
                raise AssertionError(
                    f"required input {label!r} ({block_id}/{action_id}) has no value; Slack would not "
                    f"let a person submit. Pass values={{{label!r}: ...}}"
                )
        result.setdefault(block_id, {})[action_id] = _element_value(element, value, label)
    if given:
        known = [text_of(b.get("label")) or b["block_id"] for b in input_blocks(blocks)]
        raise AssertionError(f"no input matches {sorted(given)}; the view's inputs are {known}")
    return result


def _take(given: dict[str, Any], block_id: str, action_id: str, label: str) -> Any:
    nested = given.get(block_id)
    if isinstance(nested, dict) and action_id in nested:
        value = nested.pop(action_id)
        if not nested:
            given.pop(block_id)
        return value
    for key in (f"{block_id}/{action_id}", block_id, action_id, label):
        if key and key in given:
            return given.pop(key)
    return _MISSING


def _has_initial(element: dict[str, Any]) -> bool:
    return any(k.startswith("initial_") and element[k] not in (None, "", []) for k in element)


def _element_value(element: dict[str, Any], value: Any, label: str) -> dict[str, Any]:
    kind = element.get("type", "")
    out: dict[str, Any] = {"type": kind}
    if kind in _TEXT_TYPES:
        text = element.get("initial_value") if value is None else str(value)
        _check_length(element, text, label)
        out["value"] = text or None  # Slack sends null, not "", for an empty input
    elif kind in _SINGLE_OPTION:
        out["selected_option"] = (
            copy.deepcopy(element.get("initial_option")) if value is None else _option(element, value, label)
        )
    elif kind in _MULTI_OPTION:
        picked = element.get("initial_options", []) if value is None else _as_list(value)
        out["selected_options"] = [
            _option(element, v, label) if not isinstance(v, dict) else v for v in picked
        ]
    elif kind in _SINGLE_PICK:
        key, initial = _SINGLE_PICK[kind]
        out[key] = element.get(initial) if value is None else value
    elif kind in _MULTI_PICK:
        key, initial = _MULTI_PICK[kind]
        out[key] = list(element.get(initial, [])) if value is None else _as_list(value)
    elif kind == "rich_text_input":
        out["rich_text_value"] = _rich_text(value) if value is not None else element.get("initial_value")
    elif kind == "file_input":
        out["files"] = _as_list(value) if value is not None else []
    else:
        out["value"] = value
    return out


def _check_length(element: dict[str, Any], text: str | None, label: str) -> None:
    length = len(text or "")
    low, high = element.get("min_length"), element.get("max_length")
    if text and low is not None and length < low:
        raise AssertionError(f"input {label!r} needs at least {low} characters; Slack's client would refuse")
    if high is not None and length > high:
        raise AssertionError(f"input {label!r} takes at most {high} characters; Slack's client would refuse")


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple | set) else [value]


def _options(element: dict[str, Any]) -> list[dict[str, Any]]:
    options = list(element.get("options", []))
    for group in element.get("option_groups", []):
        options += group.get("options", [])
    return options


def _option(element: dict[str, Any], value: Any, label: str) -> dict[str, Any]:
    if element.get("type", "").endswith("external_select"):
        # External options come from the app at typing time; the test's value stands for one.
        return {"text": {"type": "plain_text", "text": str(value)}, "value": str(value)}
    for option in _options(element):
        if value in (option.get("value"), text_of(option.get("text"))):
            return copy.deepcopy(option)
    choices = [text_of(o.get("text")) for o in _options(element)]
    raise AssertionError(f"input {label!r} has no option {value!r}; the options are {choices}")


def _rich_text(text: Any) -> dict[str, Any]:
    return {
        "type": "rich_text",
        "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": str(text)}]}],
    }
