"""Cancel goal, on a merge-conflict message."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.blocks.conflicts import CONFLICT_CANCEL_ACTION, decode_conflict_value
from bot.deps import Deps
from bot.services.merges import cancel_after_conflict
from handlers.actions.clicks import Button, Click, wire


async def cancel_conflicted(click: Click, conflict: tuple[str, int, int], deps: Deps) -> None:
    goal_id, task_id, _version = conflict
    await click.run(
        cancel_after_conflict, service=deps.goals, goal_id=goal_id, task_id=task_id, actor=click.actor
    )


def register(app: AsyncApp, deps: Deps) -> None:
    wire(app, Button(CONFLICT_CANCEL_ACTION, decode_conflict_value, cancel_conflicted))
