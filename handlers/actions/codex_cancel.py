"""Cancel goal on the message of a build that changed nothing (the requester or an approver)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.empty_build import CANCEL_ACTION, build_empty_build_outcome, decode_goal_value
from bot.deps import Deps
from handlers.actions.clicks import Click, Payload

REASON = "cancelled after its build changed nothing"


async def cancel_empty_build(
    ack: AsyncAck, action: Payload, body: Payload, client: AsyncWebClient, respond: AsyncRespond, deps: Deps
) -> None:
    click = await Click.acked(ack, body, client)
    goal_id = await click.decode(decode_goal_value, action)
    if goal_id is None:
        return
    goal = await click.run(deps.goals.cancel, goal_id=goal_id, actor=click.actor, reason=REASON)
    if goal is not None:
        await click.settle(respond, build_empty_build_outcome, f"✖ <@{click.user}> cancelled {goal.id}.")


def register(app: AsyncApp, deps: Deps) -> None:
    app.action(CANCEL_ACTION)(cancel_empty_build)
