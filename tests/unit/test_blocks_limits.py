"""The preflight checks the other block tests lean on must themselves catch what Slack refuses."""

from __future__ import annotations

import pytest

from bot.blocks.limits import check_message, check_view, payload_chars


def _section(text: str, **extra: object) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


def test_a_valid_message_passes():
    check_message([_section("hello")])


@pytest.mark.parametrize(
    ("blocks", "complaint"),
    [
        ([], "1..50 blocks"),
        ([_section("x")] * 51, "1..50 blocks"),
        ([_section("x" * 3001)], "3000"),
        ([{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}], "150"),
        ([{"type": "nonsense"}], "not a block"),
        ([_section("x", bogus=1)], "re-reads"),
        (
            [
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "button",
                            "text": {"type": "plain_text", "text": "A"},
                            "action_id": "a",
                            "value": "v" * 2001,
                        }
                    ],
                }
            ],
            "2000",
        ),
        ([_section("x" * 2999)] * 5, "budget"),
        ([_section(" ")], "empty text"),
    ],
)
def test_what_slack_would_refuse_is_refused(blocks, complaint):
    with pytest.raises(ValueError, match=complaint):
        check_message(blocks)


def test_views_are_checked_too():
    check_view({"type": "home", "blocks": [_section("x")]})
    with pytest.raises(ValueError, match="100 blocks"):
        check_view({"type": "home", "blocks": [_section("x")] * 101})
    with pytest.raises(ValueError, match="title"):
        check_view(
            {"type": "modal", "title": {"type": "plain_text", "text": "x" * 25}, "blocks": [_section("x")]}
        )


def test_payload_chars_counts_text_but_not_ids():
    blocks = [_section("abc", block_id="a_long_block_id")]
    assert payload_chars(blocks) == 3
