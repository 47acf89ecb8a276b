"""Rebase and rebuild, on a merge-conflict message: build the task again on main as it is now."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.blocks.conflicts import CONFLICT_REBUILD_ACTION, decode_conflict_value
from bot.deps import Deps
from bot.services.merges import rebuild_after_conflict
from handlers.actions.clicks import Button, Click, wire


async def rebuild_conflicted(click: Click, conflict: tuple[str, int, int], deps: Deps) -> None:
    goal_id, task_id, _version = conflict
    version = await click.run(
        rebuild_after_conflict, service=deps.goals, goal_id=goal_id, task_id=task_id, actor=click.actor
    )
    if version is not None:
        await click.tell(f"{goal_id}: task {task_id} is being built again on the current main (v{version}).")


def register(app: AsyncApp, deps: Deps) -> None:
    wire(app, Button(CONFLICT_REBUILD_ACTION, decode_conflict_value, rebuild_conflicted))
