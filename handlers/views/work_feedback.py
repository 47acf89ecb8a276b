"""The feedback modal of a failed draft or build: run it again with a person's directions."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.work_failure import FEEDBACK_MODAL, decode_goal_value
from bot.jobs.recovery import retry_failed
from bot.services.errors import ServiceError
from bot.services.unit import Actor
from handlers.common import call, tell
from handlers.views.directions import read_directions

if TYPE_CHECKING:
    from bot.app import Container

log = logging.getLogger(__name__)


def register(app: AsyncApp, container: Container) -> None:
    goals = container.goals

    @app.view(FEEDBACK_MODAL)
    async def feedback(
        ack: AsyncAck, view: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        read = await read_directions(ack, view, lambda meta: decode_goal_value(meta["goal"]))
        if read is None:
            return
        text, meta, goal_id = read
        user = body["user"]["id"]
        channel, thread_ts = meta.get("channel"), meta.get("thread_ts")
        try:
            # The failure message then says who asked for changes (bot.effects.work_failure).
            await call(retry_failed, goals=goals, goal_id=goal_id, actor=Actor(user), feedback=text)
        except ServiceError as exc:
            await tell(client, channel=channel, user=user, thread_ts=thread_ts, text=str(exc))
