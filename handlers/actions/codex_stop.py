"""Stop on a running build's status message: its Codex turn is interrupted (bot/services/build_stop.py)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.codex_stop import STOP_ACTION
from bot.blocks.goal_buttons import decode_goal_value
from bot.deps import Deps
from bot.services.build_stop import ELSEWHERE, stop_build
from handlers.actions.clicks import Click, Payload


async def stop_running_build(
    ack: AsyncAck, action: Payload, body: Payload, client: AsyncWebClient, deps: Deps
) -> None:
    click = await Click.acked(ack, body, client)
    goal_id = await click.decode(decode_goal_value, action)
    if goal_id is None:
        return
    here = await click.run(stop_build, service=deps.goals, goal_id=goal_id, actor=click.actor)
    if here is False:  # None: refused, and already told
        await click.tell(ELSEWHERE.format(goal_id))


def register(app: AsyncApp, deps: Deps) -> None:
    app.action(STOP_ACTION)(stop_running_build)
