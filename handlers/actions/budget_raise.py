"""Raise budget on the message of a goal that reached its budget: a modal asks for the new amount
(handlers/views/budget.py). Only approvers may raise it; anyone else is told at the click."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.budget import RAISE_ACTION, build_raise_modal, decode_goal_value, encode_budget_metadata
from bot.services.budgets import standing
from handlers.actions.clicks import Click
from handlers.common import call, open_modal

if TYPE_CHECKING:
    from bot.app import Container


def register(app: AsyncApp, container: Container) -> None:
    @app.action(RAISE_ACTION)
    async def raise_budget(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        click = Click.of(body, client)
        goal_id = await click.decode(decode_goal_value, action)
        if goal_id is None:
            return
        if not container.directory.is_approver_anywhere(click.user):
            await click.tell(f"Only an approver can raise the budget of {goal_id}.")
            return
        now = await click.attempt(
            lambda: call(standing, service=container.goals, settings=container.settings, goal_id=goal_id)
        )
        if now is None:
            return
        suggested = max(now.budget or 0.0, now.cost) * 2 or 1.0
        await open_modal(
            client,
            trigger_id=body["trigger_id"],
            view=build_raise_modal(
                goal_id, suggested, encode_budget_metadata(goal_id, click.channel, click.ts, click.thread_ts)
            ),
            user=click.user,
            channel=click.channel,
            thread_ts=click.thread_ts,
        )
