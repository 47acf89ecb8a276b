"""Cancel goal on a failure message: the goal stops; what is committed stays."""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.failures import CANCEL_GOAL_ACTION, decode_failure_value
from bot.deps import Deps
from handlers.actions.clicks import Click, Payload
from handlers.actions.retry import settle


async def cancel_failed_goal(
    ack: AsyncAck, action: Payload, body: Payload, client: AsyncWebClient, deps: Deps
) -> None:
    click = await Click.acked(ack, body, client)
    ref = await click.decode(decode_failure_value, action)
    if ref is None:
        return
    reason = "cancelled from a failure message"
    goal = await click.run(deps.goals.cancel, goal_id=ref.goal_id, actor=click.actor, reason=reason)
    if goal is not None:
        await settle(client, body, goal.id, f"✖ <@{click.user}> cancelled {goal.id}.")


def register(app: AsyncApp, deps: Deps) -> None:
    app.action(CANCEL_GOAL_ACTION)(cancel_failed_goal)
