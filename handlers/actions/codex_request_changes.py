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
from handlers.actions.decisions import where
from handlers.common import open_modal, tell

if TYPE_CHECKING:
    from bot.app import Container


def register(app: AsyncApp, container: Container) -> None:
    @app.action(REQUEST_CHANGES_ACTION)
    async def request_changes(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        user = body["user"]["id"]
        channel, ts, thread_ts = where(body)
        try:
            goal_id = decode_goal_value(action.get("value", ""))
        except ValueError as exc:
            await tell(
                client, channel=channel, user=user, thread_ts=thread_ts, text=f"That button is broken: {exc}"
            )
            return
        view = build_feedback_modal(goal_id, encode_feedback_metadata(goal_id, channel, ts, thread_ts))
        await open_modal(
            client, trigger_id=body["trigger_id"], view=view, user=user, channel=channel, thread_ts=thread_ts
        )
