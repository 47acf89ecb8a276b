"""Read a whole thread (paginated) and start a goal from it, posting the card into that thread."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.services.threads import MAX_MESSAGES, brief_from_thread
from bot.services.unit import Actor
from handlers.common import call

if TYPE_CHECKING:
    from bot.app import Container


async def read_thread(client: AsyncWebClient, *, channel: str, thread_ts: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    cursor: str | None = None
    while len(messages) <= MAX_MESSAGES:
        resp = await client.conversations_replies(channel=channel, ts=thread_ts, cursor=cursor, limit=200)
        batch = [m for m in resp.get("messages", []) if not messages or m.get("ts") != messages[0].get("ts")]
        messages.extend(batch)
        cursor = (resp.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            break
    return messages


async def start_from_thread(container: Container, client: AsyncWebClient, *, channel: str, thread_ts: str,
                            user: str, bot_user: str | None, ask: str, source: str) -> None:
    messages = await read_thread(client, channel=channel, thread_ts=thread_ts)
    brief = brief_from_thread(messages, bot_user=bot_user, ask=ask)
    await call(container.goals.start_goal, brief=brief, actor=Actor(user), channel_id=channel,
               thread_ts=thread_ts, source=source)
