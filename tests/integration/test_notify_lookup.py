"""The scheduler's messages (reminders, digests) are sent once even when Slack refuses the lookup
that decides whether an earlier attempt already sent them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from slack_sdk.errors import SlackApiError

from bot.jobs.notify import POST_KIND, Notifier
from bot.slack_guard import GuardedWebClient
from sandbox import Sandbox
from storage.models import Effect


def test_a_refused_lookup_fails_the_attempt_instead_of_sending_a_second_copy() -> None:
    sb = Sandbox(bot_token="xoxb-notify-test").start()
    try:
        effect = Effect(
            id=7, key="digest:C_DEV", kind=POST_KIND, payload={"channel": "C_DEV", "text": "Daily digest"},
            attempts=1, created_at=datetime.now(UTC),
        )  # fmt: skip

        async def attempt() -> None:
            client = GuardedWebClient(token="xoxb-notify-test", base_url=sb.api_url)
            effect.attempts += 1
            await Notifier(client).post(effect)

        asyncio.run(attempt())  # sent (the first attempt's answer was lost, say)
        sb.ratelimit("conversations.history", 1, retry_after=30)
        with pytest.raises(SlackApiError):
            asyncio.run(attempt())  # the lookup is refused: not "not sent"
        asyncio.run(attempt())  # the lookup finds it
        assert [m.text for m in sb.messages("C_DEV")] == ["Daily digest"]
    finally:
        sb.stop()
