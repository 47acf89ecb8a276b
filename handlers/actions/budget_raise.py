"""Raise budget on the message of a goal that reached its budget: a modal asks for the new amount
(handlers/views/budget.py). Only approvers may raise it; anyone else is told at the click."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.blocks.budget import RAISE_ACTION, build_raise_modal, decode_goal_value, encode_budget_metadata
from bot.deps import Deps
from bot.services.budgets import standing
from handlers.actions.clicks import Button, Click, wire


async def ask_new_budget(click: Click, goal_id: str, deps: Deps) -> None:
    if not await click.approver(deps, f"Only an approver can raise the budget of {goal_id}."):
        return
    now = await click.run(standing, service=deps.goals, settings=deps.settings, goal_id=goal_id)
    if now is not None:
        suggested = max(now.budget or 0.0, now.cost) * 2 or 1.0
        metadata = encode_budget_metadata(goal_id, click.channel, click.ts, click.thread_ts)
        await click.open(build_raise_modal(goal_id, suggested, metadata))


def register(app: AsyncApp, deps: Deps) -> None:
    wire(app, Button(RAISE_ACTION, decode_goal_value, ask_new_budget))
