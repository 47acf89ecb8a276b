"""The Request changes modal of a merge-conflict message: rebuild the task with a person's notes."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.conflicts import CONFLICT_FEEDBACK_MODAL, decode_conflict_value
from bot.deps import Deps
from bot.services.merges import rebuild_after_conflict
from bot.services.unit import Actor
from handlers.views.directions import carried_out, read_directions


async def conflict_directions_submitted(
    ack: AsyncAck, view: dict[str, Any], body: dict[str, Any], client: AsyncWebClient, deps: Deps
) -> None:
    read = await read_directions(ack, view, lambda meta: decode_conflict_value(str(meta["value"])))
    if read is None:
        return
    feedback, meta, (goal_id, task_id, _version) = read
    user, actor = body["user"]["id"], Actor(body["user"]["id"])
    await carried_out(
        client,
        user,
        meta,
        rebuild_after_conflict,
        service=deps.goals,
        goal_id=goal_id,
        task_id=task_id,
        actor=actor,
        feedback=feedback,
    )


def register(app: AsyncApp, deps: Deps) -> None:
    app.view(CONFLICT_FEEDBACK_MODAL)(conflict_directions_submitted)
