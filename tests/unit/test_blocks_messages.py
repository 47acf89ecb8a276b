"""Progress, help and error messages."""

from __future__ import annotations

from bot.blocks import build_ephemeral_error, build_help_blocks, build_help_text, build_status_message
from bot.blocks.limits import check_message


def test_a_status_message_shows_one_line_per_step():
    blocks = build_status_message(
        "Drafting the PRD for G-0003",
        [
            ("Read the thread", "done"),
            ("Draft", "running"),
            ("Review", "pending"),
            ("Lint", "failed"),
            ("?", "odd"),
        ],
    )
    check_message(blocks)
    assert blocks[0]["text"]["text"] == "Drafting the PRD for G-0003"
    assert blocks[1]["text"]["text"] == "✅ Read the thread\n⏳ Draft\n○ Review\n❌ Lint\n• ?"


def test_a_status_message_with_many_long_steps_stays_valid():
    blocks = build_status_message("<!channel> " * 1000, [("step " * 100, "done")] * 200)
    check_message(blocks)
    assert "<!channel>" not in str(blocks)
    assert blocks[1]["text"]["text"].endswith("…and 170 more steps")


def test_help_lists_every_command_and_the_shortcut():
    text = build_help_text()
    for usage in (
        "start &lt;brief&gt;",
        "start`",
        "status [goal-id]",
        "list",
        "cancel &lt;goal-id&gt;",
        "approvers",
        "help",
    ):
        assert f"/orch {usage}" in text
    assert "Start goal from thread" in text
    blocks = build_help_blocks()
    check_message(blocks)
    assert "/orch cancel &lt;goal-id&gt;" in str(blocks)
    assert "Start goal from thread" in str(blocks)


def test_errors_are_shown_literally():
    blocks = build_ephemeral_error("No goal <!here> G-9999")
    check_message(blocks)
    assert blocks[0]["text"]["text"] == "⚠️ No goal &lt;!here&gt; G-9999"
