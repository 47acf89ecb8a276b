"""Request changes on the message of a build that changed nothing: a modal asks for directions
(handlers/views/codex_feedback.py), then the build runs again with them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.empty_build import (
    REQUEST_CHANGES_ACTION,
    build_feedback_modal,
    decode_goal_value,
    encode_feedback_metadata,
)
from handlers.actions.clicks import Click
from handlers.common import open_modal

if TYPE_CHECKING:
    from bot.app import Container


def register(app: AsyncApp, container: Container) -> None:
    @app.action(REQUEST_CHANGES_ACTION)
    async def request_changes(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        click = Click.of(body, client)
        goal_id = await click.decode(decode_goal_value, action)
        if goal_id is None:
            return
        metadata = encode_feedback_metadata(goal_id, click.channel, click.ts, click.thread_ts)
        await open_modal(
            client,
            trigger_id=body["trigger_id"],
            view=build_feedback_modal(goal_id, metadata),
            user=click.user,
            channel=click.channel,
            thread_ts=click.thread_ts,
        )
