"""Cancel goal, on a merge-conflict message."""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.conflicts import CONFLICT_CANCEL_ACTION, decode_conflict_value
from bot.deps import Deps
from bot.services.merges import cancel_after_conflict
from handlers.actions.clicks import Click, Payload


async def cancel_conflicted(
    ack: AsyncAck, action: Payload, body: Payload, client: AsyncWebClient, deps: Deps
) -> None:
    click = await Click.acked(ack, body, client)
    decoded = await click.decode(decode_conflict_value, action)
    if decoded is not None:
        goal_id, task_id, _version = decoded
        await click.run(
            cancel_after_conflict, service=deps.goals, goal_id=goal_id, task_id=task_id, actor=click.actor
        )


def register(app: AsyncApp, deps: Deps) -> None:
    app.action(CONFLICT_CANCEL_ACTION)(cancel_conflicted)
