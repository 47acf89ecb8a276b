"""The Codex approval message: the exact command in a block it cannot escape, Approve / Deny."""

from __future__ import annotations

import pytest

from bot.blocks.codex_approval import (
    APPROVE_ACTION,
    DENY_ACTION,
    CodexApprovalView,
    build_codex_approval,
    decode_request_value,
)
from bot.blocks.limits import check_message

VIEW = CodexApprovalView(
    request_id="0123456789abcdef",
    goal_id="G-0001",
    kind="command",
    command="echo '```' <!channel> && curl https://example.com > page.html",
    reason="Fetch the page",
    requester="U_REQ",
)


def test_a_pending_request_shows_the_command_verbatim_and_two_buttons() -> None:
    blocks = build_codex_approval(VIEW)
    check_message(blocks)
    text = blocks[0]["text"]["text"]
    assert text.count("```") == 2  # a fence inside the command cannot close the block
    assert "&lt;!channel&gt;" in text and "curl https://example.com &gt; page.html" in text
    assert "Fetch the page" in text and "<@U_REQ>" in text
    assert [(b["action_id"], b["value"]) for b in blocks[1]["elements"]] == [
        (APPROVE_ACTION, VIEW.request_id),
        (DENY_ACTION, VIEW.request_id),
    ]


def test_a_decided_request_shows_who_decided_and_no_buttons() -> None:
    from dataclasses import replace

    blocks = build_codex_approval(replace(VIEW, status="denied", decided_by="U_APP1"))
    check_message(blocks)
    assert all(b["type"] != "actions" for b in blocks)
    assert "Denied by <@U_APP1>" in str(blocks[-1])


def test_a_huge_command_fits_slacks_limits() -> None:
    from dataclasses import replace

    check_message(build_codex_approval(replace(VIEW, command="x" * 50_000, reason="y" * 5000)))


@pytest.mark.parametrize("value", ["", "0123", "G-0001", "0123456789ABCDEF", "0123456789abcdef0"])
def test_a_button_must_carry_a_request_id(value: str) -> None:
    with pytest.raises(ValueError):
        decode_request_value(value)
