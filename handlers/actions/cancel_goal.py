"""Cancel goal on a failure message: the goal stops; what is committed stays."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.blocks.failures import CANCEL_GOAL_ACTION, FailureRef, decode_failure_value
from bot.deps import Deps
from handlers.actions.clicks import Button, Click, wire
from handlers.actions.retry import settle


async def cancel_failed_goal(click: Click, ref: FailureRef, deps: Deps) -> None:
    reason = "cancelled from a failure message"
    goal = await click.run(deps.goals.cancel, goal_id=ref.goal_id, actor=click.actor, reason=reason)
    if goal is not None:
        await settle(click, goal.id, f"✖ <@{click.user}> cancelled {goal.id}.")


def register(app: AsyncApp, deps: Deps) -> None:
    wire(app, Button(CANCEL_GOAL_ACTION, decode_failure_value, cancel_failed_goal))
