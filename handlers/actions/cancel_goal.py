"""Cancel goal on a failure message: the goal stops; what is committed stays."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.failures import CANCEL_GOAL_ACTION, decode_failure_value
from handlers.actions.clicks import Click
from handlers.actions.retry import settle
from handlers.common import call

if TYPE_CHECKING:
    from bot.app import Container


def register(app: AsyncApp, container: Container) -> None:
    goals = container.goals

    @app.action(CANCEL_GOAL_ACTION)
    async def cancel(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        click = Click.of(body, client)
        goal = await click.attempt(
            lambda: call(
                goals.cancel,
                goal_id=decode_failure_value(action.get("value", "")).goal_id,
                actor=click.actor,
                reason="cancelled from a failure message",
            )
        )
        if goal is None:
            return
        await settle(client, body, goal.id, f"✖ <@{click.user}> cancelled {goal.id}.")
