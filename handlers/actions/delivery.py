"""The Retry button under a refused merge: deliver the goal again (push, status, merge)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.blocks.delivery import RETRY_DELIVERY_ACTION
from bot.deps import Deps
from bot.services.delivery import retry_delivery
from bot.services.unit import Actor
from handlers.actions.clicks import Button, Click, goal_id_value, wire


async def retry_merge(click: Click, goal_id: str, deps: Deps) -> None:
    # Keyed by the click, so a double click delivers once.
    key = str(click.action.get("action_ts") or click.trigger_id or "")
    if await click.did(retry_delivery, goals=deps.goals, goal_id=goal_id, actor=Actor(click.user), key=key):
        await click.tell(f"Trying to merge {goal_id}'s pull request again; the thread says how it went.")


def register(app: AsyncApp, deps: Deps) -> None:
    wire(app, Button(RETRY_DELIVERY_ACTION, goal_id_value, retry_merge))
