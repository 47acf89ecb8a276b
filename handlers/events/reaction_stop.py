"""A `:x:` reaction on a running build's status message stops the build, like its Stop button."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.codex_stop import STOP_REACTION
from bot.deps import Deps
from bot.services.build_stop import ELSEWHERE, goal_of_status_message, stop_build
from bot.services.errors import ServiceError
from bot.services.unit import Actor
from handlers.common import call, tell


async def stop_on_reaction(event: dict[str, Any], client: AsyncWebClient, deps: Deps) -> None:
    item = event.get("item") or {}
    user = event.get("user")
    if event.get("reaction") != STOP_REACTION or item.get("type") != "message" or not user:
        return  # any other reaction is none of our business
    goal = await call(
        goal_of_status_message,
        service=deps.goals,
        channel=str(item.get("channel")),
        ts=str(item.get("ts")),
    )
    if goal is None:
        return
    try:
        here = await call(stop_build, service=deps.goals, goal_id=goal.id, actor=Actor(str(user)))
    except ServiceError as exc:
        here, text = True, str(exc)
        await tell(client, channel=goal.channel_id, user=str(user), thread_ts=goal.thread_ts, text=text)
    if not here:
        text = ELSEWHERE.format(goal.id)
        await tell(client, channel=goal.channel_id, user=str(user), thread_ts=goal.thread_ts, text=text)


def register(app: AsyncApp, deps: Deps) -> None:
    app.event("reaction_added")(stop_on_reaction)
