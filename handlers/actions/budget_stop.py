"""Stop goal on the message of a goal that reached its budget: the goal is cancelled (approvers)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.budget import STOP_ACTION, build_budget_outcome, decode_goal_value
from handlers.actions.clicks import Click
from handlers.common import call

if TYPE_CHECKING:
    from bot.app import Container


def register(app: AsyncApp, container: Container) -> None:
    @app.action(STOP_ACTION)
    async def stop(
        ack: AsyncAck,
        action: dict[str, Any],
        body: dict[str, Any],
        client: AsyncWebClient,
        respond: AsyncRespond,
    ) -> None:
        await ack()
        click = Click.of(body, client)
        goal_id = await click.decode(decode_goal_value, action)
        if goal_id is None:
            return
        if not container.directory.is_approver_anywhere(click.user):
            await click.tell(f"Only an approver can stop {goal_id} at its budget.")
            return
        goal = await click.attempt(
            lambda: call(
                container.goals.cancel, goal_id=goal_id, actor=click.actor, reason="stopped at its budget"
            )
        )
        if goal is None:
            return
        outcome = f"✖ <@{click.user}> stopped {goal.id} at its budget."
        await respond(replace_original=True, text=outcome, blocks=build_budget_outcome(outcome))
