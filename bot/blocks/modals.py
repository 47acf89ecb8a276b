"""Modals (start a goal, request changes, reject, elevate the mode) and reading their submissions.

Every input's block_id equals its action_id, so `parse_view_values` can flatten a submission to
`{action_id: value}` and handlers read `values["brief"]` instead of digging in `state.values`.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    SectionBlock,
    StaticSelectElement,
    UserMultiSelectElement,
)
from slack_sdk.models.views import View

from bot.blocks.text import fit, mention, short_sha, truncate
from bot.sop.phases import LABELS, Mode, Phase

START_MODAL = "orch_start_modal"
FEEDBACK_MODAL = "orch_feedback_modal"
REJECT_MODAL = "orch_reject_modal"
ELEVATE_MODAL = "orch_elevate_modal"
PRIORITIES = ("high", "medium", "low")
MAX_OPTIONS = 100
JUSTIFICATION_MIN = 20
MAX_INPUT = 3000


def _modal(
    callback_id: str, title: str, submit: str, private_metadata: str, blocks: list[Block]
) -> dict[str, Any]:
    view = View(
        type="modal",
        callback_id=callback_id,
        title=title,
        submit=submit,
        close="Cancel",
        private_metadata=private_metadata,
        blocks=blocks,
    )
    try:
        return view.to_dict()
    except SlackObjectFormationError as exc:
        # Only caller-given values can break a modal (private_metadata over 3000, a repository name
        # over 150 characters); say so as a ValueError like every other bad input here.
        raise ValueError(f"{callback_id}: {exc}") from exc


def _text_input(
    name: str,
    label: str,
    *,
    multiline: bool = False,
    max_length: int = MAX_INPUT,
    min_length: int | None = None,
    placeholder: str | None = None,
    hint: str | None = None,
) -> InputBlock:
    element = PlainTextInputElement(
        action_id=name,
        multiline=multiline,
        max_length=max_length,
        min_length=min_length,
        placeholder=placeholder,
    )
    return InputBlock(block_id=name, label=label, element=element, hint=hint)


def _option(value: str, text: str, description: str | None = None) -> Option:
    return Option(value=value, text=truncate(text, 75), description=description)


def build_start_modal(
    repos: list[str], default_channel: str, private_metadata: str, default_repo: str | None = None
) -> dict[str, Any]:
    blocks: list[Block] = [
        _text_input("title", "Title", max_length=150, placeholder="Add CSV export to the reports page"),
        _text_input(
            "brief",
            "Brief",
            multiline=True,
            placeholder="What should change, for whom, and how we will know it works.",
            hint="The PRD is drafted from this; you approve every phase before the next starts.",
        ),
    ]
    if len(repos) > 1:
        options = [_option(repo, repo) for repo in repos[:MAX_OPTIONS]]
        initial = next((o for o in options if o.value == default_repo), None)
        select = StaticSelectElement(
            action_id="repo", options=options, placeholder="Choose a repository", initial_option=initial
        )
        blocks.append(InputBlock(block_id="repo", label="Repository", element=select))
    blocks.append(
        InputBlock(
            block_id="approvers",
            label="Approvers",
            optional=True,
            element=UserMultiSelectElement(
                action_id="approvers", placeholder="Default: the configured approvers"
            ),
            hint="You cannot approve your own goal's gates.",
        )
    )
    priorities = [_option(p, p.capitalize()) for p in PRIORITIES]
    blocks.append(
        InputBlock(
            block_id="priority",
            label="Priority",
            element=StaticSelectElement(
                action_id="priority", options=priorities, initial_option=priorities[1]
            ),
        )
    )
    notes = []
    if len(repos) == 1:
        notes.append(f"Repository: `{fit(repos[0], 200)}`")
    if default_channel:
        notes.append(f"The goal's thread will be in {mention(default_channel)}.")
    if notes:
        elements = [MarkdownTextObject(text=n) for n in notes]
        blocks.append(ContextBlock(block_id="start_notes", elements=elements))
    return _modal(START_MODAL, "Start a goal", "Start", private_metadata, blocks)


def _about(goal_id: str, phase: Phase | str, version: int, sha: str) -> SectionBlock:
    label = LABELS[Phase(phase)]
    text = f"*{label} v{version}* of {fit(goal_id, 40)} (sha256 {short_sha(sha)})"
    return SectionBlock(block_id="about", text=MarkdownTextObject(text=text))


def build_feedback_modal(
    goal_id: str, phase: Phase | str, version: int, sha: str, private_metadata: str
) -> dict[str, Any]:
    blocks: list[Block] = [
        _about(goal_id, phase, version, sha),
        _text_input(
            "feedback",
            "What should change?",
            multiline=True,
            min_length=1,
            hint="The next version is drafted from this and shows how it was addressed.",
        ),
    ]
    return _modal(FEEDBACK_MODAL, "Request changes", "Send", private_metadata, blocks)


def build_reject_modal(
    goal_id: str, phase: Phase | str, version: int, sha: str, private_metadata: str
) -> dict[str, Any]:
    blocks: list[Block] = [
        _about(goal_id, phase, version, sha),
        _text_input(
            "reason",
            "Why reject it?",
            multiline=True,
            min_length=1,
            hint="Rejecting stops the goal. The reason is kept in the audit log and shown in the thread.",
        ),
    ]
    return _modal(REJECT_MODAL, "Reject", "Reject", private_metadata, blocks)


def build_elevate_modal(goal_id: str, private_metadata: str) -> dict[str, Any]:
    options = [
        _option(
            Mode.WORKSPACE_WRITE.value,
            "✏️ workspace-write",
            "Write beyond the goal's worktree in the workspace",
        ),
        _option(Mode.FULL_ACCESS.value, "⚠️ full-access", "No sandbox: network and the whole machine"),
    ]
    warning = (
        f"*{fit(goal_id, 40)}* runs 🔒 read-only. An elevated mode needs a written justification and "
        "an approver's consent, and is recorded in the audit log."
    )
    blocks: list[Block] = [
        SectionBlock(block_id="warning", text=MarkdownTextObject(text=warning)),
        InputBlock(
            block_id="mode", label="Mode", element=RadioButtonsElement(action_id="mode", options=options)
        ),
        _text_input(
            "justification",
            "Justification",
            multiline=True,
            min_length=JUSTIFICATION_MIN,
            hint=f"At least {JUSTIFICATION_MIN} characters: what needs the access, and why read-only is not enough.",
        ),
    ]
    return _modal(ELEVATE_MODAL, "Elevate mode", "Request", private_metadata, blocks)


def parse_view_values(view_state_values: dict[str, Any]) -> dict[str, Any]:
    """Flatten a view's `state.values` to `{action_id: value}`.

    Text inputs give a str (or None when left empty), single selects and radio buttons the selected
    option's value (or None), multi selects and checkboxes a list. ValueError for anything else, so
    an unexpected payload is refused rather than half read.
    """
    if not isinstance(view_state_values, dict):
        raise ValueError("view state values must be an object")
    flat: dict[str, Any] = {}
    for block_id, actions in view_state_values.items():
        if not isinstance(actions, dict):
            raise ValueError(f"view state block {block_id!r:.60} is not an object")
        for action_id, payload in actions.items():
            if action_id in flat:
                raise ValueError(f"action_id {action_id!r:.60} appears in two blocks")
            flat[action_id] = _value_of(action_id, payload)
    return flat


def _selected_value(option: Any) -> str | None:
    if option is None:
        return None
    value = option.get("value") if isinstance(option, dict) else None
    if not isinstance(value, str):
        raise ValueError("a selected option's value must be a string")
    return value


def _text(value: Any, action_id: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValueError(f"the value of {action_id!r:.60} must be a string")
    return value


def _value_of(action_id: str, payload: Any) -> Any:
    if not isinstance(payload, dict):
        raise ValueError(f"view state for {action_id!r:.60} is not an object")
    kind = payload.get("type")
    if kind in ("plain_text_input", "email_text_input", "url_text_input", "number_input"):
        return _text(payload.get("value"), action_id)
    if kind in ("static_select", "external_select", "radio_buttons"):
        return _selected_value(payload.get("selected_option"))
    if kind in ("multi_static_select", "multi_external_select", "checkboxes"):
        return [_selected_value(o) for o in payload.get("selected_options") or []]
    if kind == "users_select":
        return _text(payload.get("selected_user"), action_id)
    if kind == "multi_users_select":
        users = payload.get("selected_users") or []
        if not isinstance(users, list):
            raise ValueError(f"the users of {action_id!r:.60} must be a list")
        return [_text(u, action_id) for u in users]
    if kind in ("conversations_select", "channels_select"):
        return _text(payload.get("selected_conversation") or payload.get("selected_channel"), action_id)
    if kind == "datepicker":
        return _text(payload.get("selected_date"), action_id)
    raise ValueError(f"unsupported input type {kind!r:.40} for {action_id!r:.60}")
