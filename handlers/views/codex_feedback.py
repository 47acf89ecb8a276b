"""The directions modal of a build that changed nothing: the build runs again with them."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks as builders
from bot.blocks.empty_build import (
    FEEDBACK_FIELD,
    FEEDBACK_MODAL,
    build_empty_build_outcome,
    decode_goal_value,
)
from bot.services.empty_build import retry_empty_build
from bot.services.errors import ServiceError
from bot.services.unit import Actor
from handlers.common import call, tell

if TYPE_CHECKING:
    from bot.app import Container

log = logging.getLogger(__name__)
MAX_FEEDBACK = 3000


def register(app: AsyncApp, container: Container) -> None:
    @app.view(FEEDBACK_MODAL)
    async def directions(
        ack: AsyncAck, view: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        values = builders.parse_view_values(view.get("state", {}).get("values", {}))
        feedback = str(values.get(FEEDBACK_FIELD) or "").strip()
        if not feedback:
            await ack(response_action="errors", errors={FEEDBACK_FIELD: "Please write a few words."})
            return
        if len(feedback) > MAX_FEEDBACK:
            await ack(
                response_action="errors", errors={FEEDBACK_FIELD: f"Keep it under {MAX_FEEDBACK} characters."}
            )
            return
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
            goal_id = decode_goal_value(meta["goal"])
        except (ValueError, KeyError, TypeError):
            await ack(
                response_action="errors",
                errors={FEEDBACK_FIELD: "This form is out of date; click the button again."},
            )
            return
        await ack()
        user = body["user"]["id"]
        try:
            await call(
                retry_empty_build,
                service=container.goals,
                goal_id=goal_id,
                actor=Actor(user),
                feedback=feedback,
            )
        except ServiceError as exc:
            await tell(
                client, channel=meta.get("channel"), user=user, thread_ts=meta.get("thread_ts"), text=str(exc)
            )
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
