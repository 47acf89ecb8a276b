"""Cancel goal on the message of a build that changed nothing (the requester or an approver)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.blocks.empty_build import CANCEL_ACTION, build_empty_build_outcome, decode_goal_value
from bot.deps import Deps
from handlers.actions.clicks import Button, Click, wire


async def cancel_empty_build(click: Click, goal_id: str, deps: Deps) -> None:
    reason = "cancelled after its build changed nothing"
    goal = await click.run(deps.goals.cancel, goal_id=goal_id, actor=click.actor, reason=reason)
    if goal is not None:
        await click.settle(build_empty_build_outcome, f"✖ <@{click.user}> cancelled {goal.id}.")


def register(app: AsyncApp, deps: Deps) -> None:
    wire(app, Button(CANCEL_ACTION, decode_goal_value, cancel_empty_build))
