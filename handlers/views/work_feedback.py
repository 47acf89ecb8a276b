"""The feedback modal of a failed draft or build: run it again with a person's directions."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.work_failure import FEEDBACK_MODAL, decode_goal_value
from bot.deps import Deps
from bot.jobs.recovery import retry_failed
from bot.services.unit import Actor
from handlers.views.directions import carried_out, read_directions

log = logging.getLogger(__name__)


async def work_directions_submitted(
    ack: AsyncAck, view: dict[str, Any], body: dict[str, Any], client: AsyncWebClient, deps: Deps
) -> None:
    read = await read_directions(ack, view, lambda meta: decode_goal_value(meta["goal"]))
    if read is None:
        return
    text, meta, goal_id = read
    user = body["user"]["id"]
    # The failure message then says who asked for changes (bot.effects.work_failure).
    await carried_out(
        client, user, meta, retry_failed, goals=deps.goals, goal_id=goal_id, actor=Actor(user), feedback=text
    )


def register(app: AsyncApp, deps: Deps) -> None:
    app.view(FEEDBACK_MODAL)(work_directions_submitted)
