"""A phase artifact (PRD, task list, spec, plan…) posted for a decision, and the same once decided.

The full Markdown goes into `markdown` blocks when the whole message stays within our text budget;
otherwise the message carries a preview and the caller uploads the full text as a file, because a
truncated artifact would be approved without being read.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    HeaderBlock,
    MarkdownBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.blocks.buttons import decision_actions, encode_button_value
from bot.blocks.limits import MAX_HEADER_TEXT, MAX_MARKDOWN_TEXT, MESSAGE_TEXT_BUDGET, payload_chars
from bot.blocks.text import (
    fit,
    local_time,
    markdown,
    mention,
    mentions,
    plain,
    preview,
    short_sha,
    split_text,
    truncate,
)
from bot.blocks.view_models import ArtifactView, DecisionView

ACTIONS_BLOCK_ID = "artifact_actions"
DECISION_BLOCK_ID = "artifact_decision"
PREVIEW_CHARS = 2500
SUMMARY_CHARS = 1500
FEEDBACK_CHARS = 1000
REASON_CHARS = 1500
FILE_NOTE = "📎 Full text attached as a file"
# Text reserved for the last block: more than the buttons and more than the longest decision line.
TAIL_RESERVE = REASON_CHARS + 300


def build_artifact_message(v: ArtifactView) -> tuple[list[dict[str, Any]], str | None]:
    """Blocks for an artifact awaiting a decision, and the full text to upload when it did not fit."""
    value = encode_button_value(v.goal_id, v.phase, v.version, v.sha256)
    warning = (
        f"Rejecting {v.phase_label[:60]} v{v.version} stops {v.goal_id[:20]}. You will be asked for a reason."
    )
    actions = decision_actions(value, block_id=ACTIONS_BLOCK_ID, reject_warning=warning)
    return _compose(v, actions)


def build_decided_artifact_message(v: ArtifactView, d: DecisionView) -> list[dict[str, Any]]:
    """The same message once decided: the buttons give way to a line saying who decided what.

    The file (if any) was uploaded with the first post, so only the blocks are returned.
    """
    blocks, _ = _compose(v, ContextBlock(block_id=DECISION_BLOCK_ID, elements=[decision_line(d)]).to_dict())
    return blocks


def decision_line(d: DecisionView) -> MarkdownTextObject:
    when = local_time(d.at, d.tz)
    where = f"(v{d.version}, sha {short_sha(d.sha256)})"
    who = mention(d.by)
    reason = f": {fit(d.reason, REASON_CHARS)}" if d.reason and d.reason.strip() else ""
    if d.decision == "approve":
        text = f"✅ Approved by {who} at {when} {where}{reason}"
    elif d.decision == "request_changes":
        text = f"✏️ Changes requested by {who} at {when} {where}{reason}"
    elif d.decision == "reject":
        text = f"⛔ Rejected by {who} at {when} {where}{reason}"
    else:
        raise ValueError(f"unknown decision {d.decision!r:.40}")
    return MarkdownTextObject(text=text)


def _compose(v: ArtifactView, tail: dict[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
    head = _head_blocks(v)
    meta = _meta_block(v)
    # The room is the same whatever the tail (buttons, or a decision line with a reason), so the
    # decided message shows exactly what the posted one did: a file uploaded with the first post is
    # still mentioned, and a text shown whole stays whole.
    tail_room = max(TAIL_RESERVE, payload_chars(tail))
    room = min(MESSAGE_TEXT_BUDGET - payload_chars([*head, meta]) - tail_room, MAX_MARKDOWN_TEXT)
    body_text = markdown(v.markdown)
    upload: str | None = None
    if len(body_text) <= room:
        body = [MarkdownBlock(text=chunk).to_dict() for chunk in split_text(v.markdown, room, markdown)]
    else:
        # Our budget is smaller than the room a full preview needs only if the head is absurdly long.
        shown = preview(v.markdown, max(200, min(PREVIEW_CHARS, room - len(FILE_NOTE) - 50)), markdown)
        note = ContextBlock(block_id="artifact_file_note", elements=[MarkdownTextObject(text=FILE_NOTE)])
        body = [MarkdownBlock(text=shown).to_dict(), note.to_dict()]
        upload = v.markdown
    return [*head, *body, meta, tail], upload


def _head_blocks(v: ArtifactView) -> list[dict[str, Any]]:
    title = truncate(plain(f"{v.phase_label} v{v.version} for {v.goal_id}"), MAX_HEADER_TEXT)
    blocks: list[Block] = [HeaderBlock(block_id="artifact_header", text=title)]
    if v.summary.strip():
        text = f"*Summary*\n{fit(v.summary.strip(), SUMMARY_CHARS)}"
        blocks.append(SectionBlock(block_id="artifact_summary", text=MarkdownTextObject(text=text)))
    if v.feedback_addressed and v.feedback_addressed.strip():
        text = f"*Feedback addressed*\n{fit(v.feedback_addressed.strip(), FEEDBACK_CHARS)}"
        blocks.append(SectionBlock(block_id="artifact_feedback", text=MarkdownTextObject(text=text)))
    return [b.to_dict() for b in blocks]


def _meta_block(v: ArtifactView) -> dict[str, Any]:
    drafted = "Drafted offline (no model)" if v.offline else f"Drafted by {fit(v.drafted_by, 100)}"
    elements = [
        MarkdownTextObject(text=f"v{v.version} · sha256 {short_sha(v.sha256)}"),
        MarkdownTextObject(text=drafted),
    ]
    if v.approvals_needed > 1 or v.approvals_so_far:
        so_far = len(v.approvals_so_far)
        who = f": {mentions(v.approvals_so_far)}" if v.approvals_so_far else ""
        elements.append(MarkdownTextObject(text=f"Approvals {so_far} of {v.approvals_needed}{who}"))
    return ContextBlock(block_id="artifact_meta", elements=elements).to_dict()
