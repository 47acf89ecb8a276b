"""Read a whole thread (paginated) and start a goal from it, posting the card into that thread."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from bot.intake import clean
from bot.services.errors import InvalidInput
from bot.services.threads import MAX_MESSAGES, brief_from_thread
from bot.services.unit import Actor
from handlers.common import call

if TYPE_CHECKING:
    from storage.models import Goal


async def read_thread(client: AsyncWebClient, *, channel: str, thread_ts: str) -> list[dict[str, Any]]:
    """Every message of the thread, parent first, following `next_cursor` (bounded)."""
    messages: list[dict[str, Any]] = []
    seen: set[str] = set()
    cursor: str | None = None
    while len(messages) <= MAX_MESSAGES:
        # No `limit`: Slack's default page, whatever its size, is followed to the end by the cursor.
        resp = await client.conversations_replies(channel=channel, ts=thread_ts, cursor=cursor)
        # Thread text is input like any other: redacted as it is read (bot.intake).
        page: list[dict[str, Any]] = clean(resp.get("messages", []))
        for message in page:
            if message.get("ts") not in seen:  # Slack repeats the parent on every page
                seen.add(str(message.get("ts")))
                messages.append(message)
        cursor = (resp.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            break
    return messages


async def start_from_thread(
    deps: Deps,
    client: AsyncWebClient,
    *,
    channel: str,
    thread_ts: str,
    user: str,
    bot_user: str | None,
    ask: str,
    source: str,
    skip_ts: Collection[str] = (),
) -> Goal:
    try:
        messages = await read_thread(client, channel=channel, thread_ts=thread_ts)
    except SlackApiError as exc:  # not in the channel, a deleted thread: the person is told, nothing starts
        raise InvalidInput(
            f"I cannot read that thread ({exc.response.get('error')}). If it is in a channel I "
            "am not in, invite me with `/invite @orch` and try again."
        ) from exc
    brief = brief_from_thread(messages, bot_user=bot_user, ask=ask, skip_ts=skip_ts, requester=user)
    return await call(
        deps.goals.start_goal,
        brief=brief,
        actor=Actor(user),
        channel_id=channel,
        thread_ts=thread_ts,
        source=source,
    )
