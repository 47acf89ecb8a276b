"""Stop on a running build's status message: its Codex turn is interrupted (bot/services/build_stop.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.codex_stop import STOP_ACTION
from bot.blocks.goal_buttons import decode_goal_value
from bot.services.build_stop import ELSEWHERE, stop_build
from handlers.actions.clicks import Click
from handlers.common import call

if TYPE_CHECKING:
    from bot.app import Container


def register(app: AsyncApp, container: Container) -> None:
    @app.action(STOP_ACTION)
    async def stop(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        click = Click.of(body, client)
        goal_id = await click.decode(decode_goal_value, action)
        if goal_id is None:
            return
        here = await click.attempt(
            lambda: call(stop_build, service=container.goals, goal_id=goal_id, actor=click.actor)
        )
        if here is False:  # None: refused, and already told
            await click.tell(ELSEWHERE.format(goal_id))
