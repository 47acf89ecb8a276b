"""The Retry button under a refused merge: deliver the goal again (push, status, merge)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.delivery import RETRY_DELIVERY_ACTION
from bot.deps import Deps
from bot.services.delivery import retry_delivery
from bot.services.unit import Actor
from handlers.actions.clicks import Click, Payload


async def retry_merge(
    ack: AsyncAck, action: Payload, body: Payload, client: AsyncWebClient, deps: Deps
) -> None:
    click = await Click.acked(ack, body, client)
    goal_id = str(action.get("value") or "")[:40]
    key = str(action.get("action_ts") or body.get("trigger_id") or "")
    if await click.did(retry_delivery, goals=deps.goals, goal_id=goal_id, actor=Actor(click.user), key=key):
        await click.tell(f"Trying to merge {goal_id}'s pull request again; the thread says how it went.")


def register(app: AsyncApp, deps: Deps) -> None:
    app.action(RETRY_DELIVERY_ACTION)(retry_merge)
