"""A subtask's diff, posted for a decision before it is merged.

The message shows what fits (one code block per file, each cut with a note) and the caller uploads the
full diff as a file. A diff that seems to add a secret is never shown nor uploaded, and cannot be
approved: pasting a secret into Slack would leak it further than the worktree it came from.
"""

from __future__ import annotations

import re
from typing import Any

from slack_sdk.models.blocks import ContextBlock, HeaderBlock, MarkdownTextObject, SectionBlock

from bot.blocks.artifact import DECISION_BLOCK_ID, decision_line
from bot.blocks.buttons import decision_actions, encode_button_value
from bot.blocks.limits import (
    MAX_HEADER_TEXT,
    MAX_MESSAGE_BLOCKS,
    MAX_SECTION_TEXT,
    MESSAGE_TEXT_BUDGET,
    payload_chars,
)
from bot.blocks.text import fit, mrkdwn, plain, preview, short_sha, truncate
from bot.blocks.view_models import DecisionView, DiffView
from bot.sop.phases import Phase

ACTIONS_BLOCK_ID = "diff_actions"
SECRET_WARNING = "🔐 This diff adds what looks like a secret — it cannot be approved"
MAX_LISTED_FILES = 15
MAX_LISTED_FINDINGS = 20
_FILE_START = re.compile(r"(?m)^(?=diff --git )")
_FENCE = "```"


def build_diff_message(v: DiffView) -> tuple[list[dict[str, Any]], str | None]:
    """Blocks for a diff awaiting a decision, and the full diff to upload (None when it holds a secret)."""
    secret = bool(v.secret_findings)
    value = encode_button_value(v.goal_id, Phase.IMPLEMENTATION, v.version, v.sha256, task_id=v.task_id)
    title = truncate(plain(f"Diff v{v.version} for {v.goal_id} · task {v.task_id}"), MAX_HEADER_TEXT)
    head = [
        HeaderBlock(block_id="diff_header", text=title).to_dict(),
        SectionBlock(block_id="diff_summary", text=MarkdownTextObject(text=_summary(v))).to_dict(),
    ]
    attached = "" if secret else " · full diff attached as a file"
    meta = ContextBlock(
        block_id="diff_meta",
        elements=[MarkdownTextObject(text=f"v{v.version} · sha256 {short_sha(v.sha256)}{attached}")],
    ).to_dict()
    warning = (
        f"Rejecting the diff for task {v.task_id} is recorded with your reason. You will be asked for it."
    )
    actions = decision_actions(
        value, block_id=ACTIONS_BLOCK_ID, reject_warning=warning, approvable=not secret
    )
    if secret:
        return [*head, _secret_block(v.secret_findings), meta, actions], None
    body = _diff_blocks(v.diff_text, room=MESSAGE_TEXT_BUDGET - payload_chars([*head, meta, actions]))
    return [*head, *body, meta, actions], v.diff_text or None


def build_decided_diff_message(v: DiffView, d: DecisionView) -> list[dict[str, Any]]:
    """The same diff message once decided: the buttons give way to a line saying who decided what.

    A long reason could push the message over the budget the buttons left, so code blocks are
    dropped from the end until it fits (the full diff is in the file uploaded with the first post).
    """
    blocks, _ = build_diff_message(v)
    line = ContextBlock(block_id=DECISION_BLOCK_ID, elements=[decision_line(d)]).to_dict()
    blocks = [line if b.get("block_id") == ACTIONS_BLOCK_ID else b for b in blocks]
    while payload_chars(blocks) > MESSAGE_TEXT_BUDGET:
        files = [i for i, b in enumerate(blocks) if str(b.get("block_id", "")).startswith("diff_file_")]
        if not files:
            break
        blocks.pop(files[-1])
    return blocks


def code_safe(text: str) -> str:
    """Break runs of three backticks with a zero-width space, so diff content cannot end our fence."""
    return re.sub(r"`(?=``)", "`\u200b", text)


def _summary(v: DiffView) -> str:
    lines = [f"*Task {mrkdwn(str(v.task_id))}: {fit(v.task_title, 300)}*"]
    for path, added, removed in v.files[:MAX_LISTED_FILES]:
        lines.append(f"• `{_code_span(path)}` +{int(added)} −{int(removed)}")
    if len(v.files) > MAX_LISTED_FILES:
        lines.append(f"…and {len(v.files) - MAX_LISTED_FILES} more files")
    if not v.files:
        lines.append("• no files changed")
    tests = fit(v.tests_summary, 500) if v.tests_summary and v.tests_summary.strip() else "not run"
    lines.append(f"🧪 Tests: {tests}")
    return "\n".join(lines)


def _secret_block(findings: list[str]) -> dict[str, Any]:
    lines = [f"*{SECRET_WARNING}*", "Request changes so the builder removes it; the diff is not shown."]
    for finding in findings[:MAX_LISTED_FINDINGS]:
        lines.append(f"• `{_code_span(finding)}`")
    if len(findings) > MAX_LISTED_FINDINGS:
        lines.append(f"…and {len(findings) - MAX_LISTED_FINDINGS} more")
    return SectionBlock(block_id="diff_secret", text=MarkdownTextObject(text="\n".join(lines))).to_dict()


def _diff_blocks(diff_text: str, *, room: int) -> list[dict[str, Any]]:
    """One code block per file while the budget lasts; what is left out is said in a note."""
    files = [f for f in _FILE_START.split(diff_text) if f.strip()]
    if not files:
        return [_section("diff_empty", "_The diff is empty._")]
    note_room = 120
    slots = MAX_MESSAGE_BLOCKS - 6  # header, summary, note, meta, actions, and one to spare
    blocks: list[dict[str, Any]] = []
    used = 0
    for index, file_diff in enumerate(files):
        left = room - used - note_room
        # Each code block costs its fences; a block too small to read is not worth showing.
        limit = min(MAX_SECTION_TEXT, left) - 2 * len(_FENCE) - 2
        if limit < 200 or len(blocks) >= slots:
            break
        shown = preview(code_safe(file_diff.rstrip("\n")), limit - 60, mrkdwn)
        if shown.endswith("\n…"):
            shown = shown[: -len("\n…")] + "\n… (cut here; see the attached file)"
        blocks.append(_section(f"diff_file_{index}", f"{_FENCE}\n{shown}\n{_FENCE}"))
        used += len(blocks[-1]["text"]["text"])
    hidden = len(files) - len(blocks)
    if hidden:
        blocks.append(_section("diff_more", f"_…and {hidden} more files; see the attached file._"))
    return blocks


def _code_span(text: str) -> str:
    # A backtick would end the code span early, and a long path would crowd out the rest.
    return fit(text.replace("`", "'"), 200)


def _section(block_id: str, text: str) -> dict[str, Any]:
    return SectionBlock(block_id=block_id, text=MarkdownTextObject(text=text)).to_dict()
