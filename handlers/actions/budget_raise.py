"""Raise budget on the message of a goal that reached its budget: a modal asks for the new amount
(handlers/views/budget.py). Only approvers may raise it; anyone else is told at the click."""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.budget import RAISE_ACTION, build_raise_modal, decode_goal_value, encode_budget_metadata
from bot.deps import Deps
from bot.services.budgets import standing
from handlers.actions.clicks import Click, Payload


async def raise_budget(
    ack: AsyncAck, action: Payload, body: Payload, client: AsyncWebClient, deps: Deps
) -> None:
    click = await Click.acked(ack, body, client)
    goal_id = await click.decode(decode_goal_value, action)
    if goal_id is None or not await click.approver(
        deps, f"Only an approver can raise the budget of {goal_id}."
    ):
        return
    now = await click.run(standing, service=deps.goals, settings=deps.settings, goal_id=goal_id)
    if now is not None:
        suggested = max(now.budget or 0.0, now.cost) * 2 or 1.0
        metadata = encode_budget_metadata(goal_id, click.channel, click.ts, click.thread_ts)
        await click.open(build_raise_modal(goal_id, suggested, metadata))


def register(app: AsyncApp, deps: Deps) -> None:
    app.action(RAISE_ACTION)(raise_budget)
