"""Request changes on the message of a build that changed nothing: a modal asks for directions
(handlers/views/codex_feedback.py), then the build runs again with them."""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.empty_build import (
    REQUEST_CHANGES_ACTION,
    build_feedback_modal,
    decode_goal_value,
    encode_feedback_metadata,
)
from bot.deps import Deps
from handlers.actions.clicks import Click, Payload


async def ask_build_directions(
    ack: AsyncAck, action: Payload, body: Payload, client: AsyncWebClient, deps: Deps
) -> None:
    click = await Click.acked(ack, body, client)
    goal_id = await click.decode(decode_goal_value, action)
    if goal_id is not None:
        metadata = encode_feedback_metadata(goal_id, click.channel, click.ts, click.thread_ts)
        await click.open(build_feedback_modal(goal_id, metadata))


def register(app: AsyncApp, deps: Deps) -> None:
    app.action(REQUEST_CHANGES_ACTION)(ask_build_directions)
