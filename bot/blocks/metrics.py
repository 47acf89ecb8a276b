"""The metrics section of the App Home: the success metrics as one short, capped block list."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ContextBlock, DividerBlock, MarkdownTextObject, SectionBlock

from bot.blocks.text import fit

MAX_LINES = 8
LINE_CHARS = 340  # 8 lines of at most 340 characters stay inside a section's 3000


def build_metrics_blocks(
    lines: list[str], *, note: str = "From the audit log and run records."
) -> list[dict[str, Any]]:
    """A divider, a titled section with one bullet per metric line, and a context note."""
    body = "\n".join(f"• {fit(line, LINE_CHARS)}" for line in lines[:MAX_LINES]) or "_No data yet._"
    blocks = [
        DividerBlock(block_id="home_div_metrics"),
        SectionBlock(
            block_id="home_metrics", text=MarkdownTextObject(text=f"*📈 How the procedure is doing*\n{body}")
        ),
        ContextBlock(block_id="home_metrics_note", elements=[MarkdownTextObject(text=fit(note, 300))]),
    ]
    return [b.to_dict() for b in blocks]
