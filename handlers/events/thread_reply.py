"""A reply in a goal's thread while its build runs: the requester's or an approver's steers Codex.

Called by the one `message` listener (handlers/events/mention.py: Bolt runs the first listener that
matches, so DMs and channel messages share it). Replies while no build runs, the bot's own
messages and edits are none of this listener's business.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from bot.services.build_steer import goal_building_in_thread, steer_build
from bot.services.unit import Actor
from handlers.common import call, tell


async def thread_reply(deps: Deps, client: AsyncWebClient, event: dict[str, Any]) -> None:
    user, channel, thread_ts = event.get("user"), event.get("channel"), event.get("thread_ts")
    if not user or not channel or not thread_ts or event.get("bot_id") or event.get("subtype"):
        return
    if thread_ts == event.get("ts"):
        return  # the thread's parent itself, not a reply
    text = str(event.get("text") or "").strip()
    if not text:
        return
    goal = await call(
        goal_building_in_thread, service=deps.goals, channel=str(channel), thread_ts=str(thread_ts)
    )
    if goal is None:
        return
    steer = await call(steer_build, service=deps.goals, goal=goal, actor=Actor(str(user)), text=text)
    await tell(client, channel=str(channel), user=str(user), thread_ts=str(thread_ts), text=steer.reply())
