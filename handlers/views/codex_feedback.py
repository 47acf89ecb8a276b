"""The directions modal of a build that changed nothing: the build runs again with them."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.empty_build import (
    FEEDBACK_FIELD,
    FEEDBACK_MODAL,
    build_empty_build_outcome,
    decode_goal_value,
)
from bot.deps import Deps
from bot.services.empty_build import retry_empty_build
from bot.services.unit import Actor
from handlers.views.directions import carried_out, read_directions

log = logging.getLogger(__name__)


async def build_directions_submitted(
    ack: AsyncAck, view: dict[str, Any], body: dict[str, Any], client: AsyncWebClient, deps: Deps
) -> None:
    read = await read_directions(
        ack, view, lambda meta: decode_goal_value(meta["goal"]), field=FEEDBACK_FIELD
    )
    if read is None:
        return
    feedback, meta, goal_id = read
    user = body["user"]["id"]
    if not await carried_out(
        client,
        user,
        meta,
        retry_empty_build,
        service=deps.goals,
        goal_id=goal_id,
        actor=Actor(user),
        feedback=feedback,
    ):
        return
    if meta.get("channel") and meta.get("ts"):
        # The message's buttons give way to what was done; the build runs whatever Slack says.
        outcome = f"✏️ <@{user}> asked for changes; the build runs again with their directions."
        try:
            await client.chat_update(
                channel=meta["channel"],
                ts=meta["ts"],
                text=outcome,
                blocks=build_empty_build_outcome(outcome),
            )
        except SlackApiError as exc:
            log.info("empty-build message of %s not updated: %s", goal_id, exc.response.get("error"))


def register(app: AsyncApp, deps: Deps) -> None:
    app.view(FEEDBACK_MODAL)(build_directions_submitted)
