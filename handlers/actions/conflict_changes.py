"""Request changes, on a merge-conflict message: a modal asks what the rebuilt task should do."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.conflicts import (
    CONFLICT_CHANGES_ACTION,
    ConflictView,
    build_conflict_feedback_modal,
    decode_conflict_value,
)
from handlers.actions.clicks import Click
from handlers.common import open_modal

if TYPE_CHECKING:
    from bot.app import Container


def register(app: AsyncApp, container: Container) -> None:
    @app.action(CONFLICT_CHANGES_ACTION)
    async def request_changes(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        click = Click.of(body, client)
        decoded = await click.decode(decode_conflict_value, action)
        if decoded is None:
            return
        goal_id, task_id, version = decoded
        meta = json.dumps({"value": action["value"], "channel": click.channel, "thread_ts": click.thread_ts})
        view = ConflictView(goal_id=goal_id, task_id=task_id, version=version, title="", files=[])
        await open_modal(
            client,
            trigger_id=body["trigger_id"],
            view=build_conflict_feedback_modal(view, meta),
            user=click.user,
            channel=click.channel,
            thread_ts=click.thread_ts,
        )
