"""Retry on the message of a build that changed nothing: the build runs again (bot/services/empty_build.py)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.blocks.empty_build import RETRY_ACTION, build_empty_build_outcome, decode_goal_value
from bot.deps import Deps
from bot.services.empty_build import retry_empty_build
from handlers.actions.clicks import Button, Click, wire


async def retry_empty(click: Click, goal_id: str, deps: Deps) -> None:
    done = await click.run(retry_empty_build, service=deps.goals, goal_id=goal_id, actor=click.actor)
    if done is not None:
        outcome = f"↻ <@{click.user}> asked to build task {done.task_id} again (v{done.version})."
        await click.settle(build_empty_build_outcome, outcome)


def register(app: AsyncApp, deps: Deps) -> None:
    wire(app, Button(RETRY_ACTION, decode_goal_value, retry_empty))
