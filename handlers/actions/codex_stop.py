"""Stop on a running build's status message: its Codex turn is interrupted (bot/services/build_stop.py)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.blocks.codex_stop import STOP_ACTION
from bot.blocks.goal_buttons import decode_goal_value
from bot.deps import Deps
from bot.services.build_stop import ELSEWHERE, stop_build
from handlers.actions.clicks import Button, Click, wire


async def stop_running_build(click: Click, goal_id: str, deps: Deps) -> None:
    here = await click.run(stop_build, service=deps.goals, goal_id=goal_id, actor=click.actor)
    if here is False:  # None: refused, and already told
        await click.tell(ELSEWHERE.format(goal_id))


def register(app: AsyncApp, deps: Deps) -> None:
    wire(app, Button(STOP_ACTION, decode_goal_value, stop_running_build))
