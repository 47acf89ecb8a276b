"""The feedback modal of a failed draft or build: run it again with a person's directions."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.work_failure import FEEDBACK_MODAL, decode_goal_value
from bot.deps import Deps
from bot.jobs.recovery import retry_failed
from bot.services.errors import ServiceError
from bot.services.unit import Actor
from handlers.common import call, tell
from handlers.views.directions import read_directions

log = logging.getLogger(__name__)


async def work_directions_submitted(
    ack: AsyncAck, view: dict[str, Any], body: dict[str, Any], client: AsyncWebClient, deps: Deps
) -> None:
    read = await read_directions(ack, view, lambda meta: decode_goal_value(meta["goal"]))
    if read is None:
        return
    text, meta, goal_id = read
    user = body["user"]["id"]
    channel, thread_ts = meta.get("channel"), meta.get("thread_ts")
    try:
        # The failure message then says who asked for changes (bot.effects.work_failure).
        await call(retry_failed, goals=deps.goals, goal_id=goal_id, actor=Actor(user), feedback=text)
    except ServiceError as exc:
        await tell(client, channel=channel, user=user, thread_ts=thread_ts, text=str(exc))


def register(app: AsyncApp, deps: Deps) -> None:
    app.view(FEEDBACK_MODAL)(work_directions_submitted)
