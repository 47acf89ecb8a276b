"""Message shortcut "Start goal from thread"."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from bot.manifest_facts import GOAL_FROM_THREAD_SHORTCUT
from bot.services.errors import ServiceError
from handlers.common import tell
from handlers.threads import start_from_thread


async def start_from_shortcut(
    ack: AsyncAck, shortcut: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext, deps: Deps
) -> None:
    await ack()
    user = shortcut["user"]["id"]
    channel = (shortcut.get("channel") or {}).get("id")
    message = shortcut.get("message") or {}
    thread_ts = message.get("thread_ts") or message.get("ts") or shortcut.get("message_ts")
    if not channel or not thread_ts:
        return
    try:
        await start_from_thread(
            deps,
            client,
            channel=channel,
            thread_ts=thread_ts,
            user=user,
            bot_user=context.bot_user_id,
            ask="",
            source="shortcut",
        )
    except ServiceError as exc:
        await tell(client, channel=channel, user=user, thread_ts=thread_ts, text=str(exc))


def register(app: AsyncApp, deps: Deps) -> None:
    app.shortcut(GOAL_FROM_THREAD_SHORTCUT)(start_from_shortcut)
