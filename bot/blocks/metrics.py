"""The metrics section of the App Home: the success metrics per time window, short and capped."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ContextBlock, DividerBlock, MarkdownTextObject, SectionBlock

from bot.blocks.text import fit

MAX_LINES = 8
MAX_WINDOWS = 3
LINE_CHARS = 340  # 8 lines of at most 340 characters stay inside a section's 3000


def build_metrics_blocks(
    windows: list[tuple[str, list[str]]], *, note: str = "From the audit log and run records."
) -> list[dict[str, Any]]:
    """A divider, one titled section per window (one bullet per metric line), and a context note."""
    blocks: list[Any] = [DividerBlock(block_id="home_div_metrics")]
    for i, (title, lines) in enumerate(windows[:MAX_WINDOWS]):
        body = "\n".join(f"• {fit(line, LINE_CHARS)}" for line in lines[:MAX_LINES]) or "_No data yet._"
        blocks.append(
            SectionBlock(
                block_id="home_metrics" if i == 0 else f"home_metrics_{i}",
                text=MarkdownTextObject(text=f"*📈 How the procedure is doing · {fit(title, 40)}*\n{body}"),
            )
        )
    blocks.append(
        ContextBlock(block_id="home_metrics_note", elements=[MarkdownTextObject(text=fit(note, 600))])
    )
    return [b.to_dict() for b in blocks]
