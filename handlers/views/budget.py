"""The Raise budget modal: an approver's new budget, checked in the form; the paused work runs again."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks as builders
from bot.blocks.budget import BUDGET_FIELD, RAISE_MODAL, build_budget_outcome, decode_goal_value
from bot.deps import Deps
from bot.services.budgets import money, parse_budget, raise_budget
from bot.services.errors import ServiceError
from bot.services.unit import Actor
from handlers.common import call

log = logging.getLogger(__name__)


async def budget_raised(
    ack: AsyncAck, view: dict[str, Any], body: dict[str, Any], client: AsyncWebClient, deps: Deps
) -> None:
    values = builders.parse_view_values(view.get("state", {}).get("values", {}))
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
        goal_id = decode_goal_value(meta["goal"])
    except (ValueError, KeyError, TypeError):
        await ack(
            response_action="errors",
            errors={BUDGET_FIELD: "This form is out of date; click the button again."},
        )
        return
    user = body["user"]["id"]
    try:
        amount = parse_budget(str(values.get(BUDGET_FIELD) or ""))
        done = await call(
            raise_budget,
            service=deps.goals,
            settings=deps.settings,
            goal_id=goal_id,
            actor=Actor(user),
            to=amount,
        )
    except ServiceError as exc:  # the form stays open with the reason under the field
        await ack(response_action="errors", errors={BUDGET_FIELD: str(exc)[:150]})
        return
    await ack()
    if meta.get("channel") and meta.get("ts"):
        outcome = f"💵 <@{user}> raised the budget of {goal_id} to {money(done.budget)}; its work goes on."
        try:
            await client.chat_update(
                channel=meta["channel"], ts=meta["ts"], text=outcome, blocks=build_budget_outcome(outcome)
            )
        except SlackApiError as exc:
            log.info("budget message of %s not updated: %s", goal_id, exc.response.get("error"))


def register(app: AsyncApp, deps: Deps) -> None:
    app.view(RAISE_MODAL)(budget_raised)
