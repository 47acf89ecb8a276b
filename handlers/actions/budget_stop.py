"""Stop goal on the message of a goal that reached its budget: the goal is cancelled (approvers)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.budget import STOP_ACTION, build_budget_outcome, decode_goal_value
from bot.deps import Deps
from handlers.actions.clicks import Click, Payload


async def stop_at_budget(
    ack: AsyncAck, action: Payload, body: Payload, client: AsyncWebClient, respond: AsyncRespond, deps: Deps
) -> None:
    click = await Click.acked(ack, body, client)
    goal_id = await click.decode(decode_goal_value, action)
    if goal_id is None or not await click.approver(
        deps, f"Only an approver can stop {goal_id} at its budget."
    ):
        return
    goal = await click.run(
        deps.goals.cancel, goal_id=goal_id, actor=click.actor, reason="stopped at its budget"
    )
    if goal is not None:
        await click.settle(
            respond, build_budget_outcome, f"✖ <@{click.user}> stopped {goal.id} at its budget."
        )


def register(app: AsyncApp, deps: Deps) -> None:
    app.action(STOP_ACTION)(stop_at_budget)
