"""Stop goal on the message of a goal that reached its budget: the goal is cancelled (approvers)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.blocks.budget import STOP_ACTION, build_budget_outcome, decode_goal_value
from bot.deps import Deps
from handlers.actions.clicks import Button, Click, wire


async def stop_at_budget(click: Click, goal_id: str, deps: Deps) -> None:
    if not await click.approver(deps, f"Only an approver can stop {goal_id} at its budget."):
        return
    goal = await click.run(
        deps.goals.cancel, goal_id=goal_id, actor=click.actor, reason="stopped at its budget"
    )
    if goal is not None:
        await click.settle(build_budget_outcome, f"✖ <@{click.user}> stopped {goal.id} at its budget.")


def register(app: AsyncApp, deps: Deps) -> None:
    wire(app, Button(STOP_ACTION, decode_goal_value, stop_at_budget))
