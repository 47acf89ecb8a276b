"""Cancel goal on the message of a build that changed nothing (the requester or an approver)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.empty_build import CANCEL_ACTION, build_empty_build_outcome, decode_goal_value
from handlers.actions.clicks import Click
from handlers.common import call

if TYPE_CHECKING:
    from bot.app import Container


def register(app: AsyncApp, container: Container) -> None:
    @app.action(CANCEL_ACTION)
    async def cancel(
        ack: AsyncAck,
        action: dict[str, Any],
        body: dict[str, Any],
        client: AsyncWebClient,
        respond: AsyncRespond,
    ) -> None:
        await ack()
        click = Click.of(body, client)
        goal = await click.attempt(
            lambda: call(
                container.goals.cancel,
                goal_id=decode_goal_value(action.get("value", "")),
                actor=click.actor,
                reason="cancelled after its build changed nothing",
            )
        )
        if goal is None:
            return
        outcome = f"✖ <@{click.user}> cancelled {goal.id}."
        await respond(replace_original=True, text=outcome, blocks=build_empty_build_outcome(outcome))
