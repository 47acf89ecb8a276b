"""Request changes, on a merge-conflict message: a modal asks what the rebuilt task should do."""

from __future__ import annotations

import json

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.conflicts import (
    CONFLICT_CHANGES_ACTION,
    ConflictView,
    build_conflict_feedback_modal,
    decode_conflict_value,
)
from bot.deps import Deps
from handlers.actions.clicks import Click, Payload


async def ask_conflict_directions(
    ack: AsyncAck, action: Payload, body: Payload, client: AsyncWebClient, deps: Deps
) -> None:
    click = await Click.acked(ack, body, client)
    decoded = await click.decode(decode_conflict_value, action)
    if decoded is not None:
        goal_id, task_id, version = decoded
        meta = json.dumps({"value": action["value"], "channel": click.channel, "thread_ts": click.thread_ts})
        view = ConflictView(goal_id=goal_id, task_id=task_id, version=version, title="", files=[])
        await click.open(build_conflict_feedback_modal(view, meta))


def register(app: AsyncApp, deps: Deps) -> None:
    app.action(CONFLICT_CHANGES_ACTION)(ask_conflict_directions)
