"""Request changes, on a merge-conflict message: a modal asks what the rebuilt task should do."""

from __future__ import annotations

import json

from slack_bolt.async_app import AsyncApp

from bot.blocks.conflicts import (
    CONFLICT_CHANGES_ACTION,
    ConflictView,
    build_conflict_feedback_modal,
    decode_conflict_value,
)
from bot.deps import Deps
from handlers.actions.clicks import Button, Click, wire


async def ask_conflict_directions(click: Click, conflict: tuple[str, int, int], deps: Deps) -> None:
    goal_id, task_id, version = conflict
    meta = {"value": click.action["value"], "channel": click.channel, "thread_ts": click.thread_ts}
    view = ConflictView(goal_id=goal_id, task_id=task_id, version=version, title="", files=[])
    await click.open(build_conflict_feedback_modal(view, json.dumps(meta)))


def register(app: AsyncApp, deps: Deps) -> None:
    wire(app, Button(CONFLICT_CHANGES_ACTION, decode_conflict_value, ask_conflict_directions))
