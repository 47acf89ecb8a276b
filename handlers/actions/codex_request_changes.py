"""Request changes on the message of a build that changed nothing: a modal asks for directions
(handlers/views/codex_feedback.py), then the build runs again with them."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.blocks.empty_build import (
    REQUEST_CHANGES_ACTION,
    build_feedback_modal,
    decode_goal_value,
    encode_feedback_metadata,
)
from bot.deps import Deps
from handlers.actions.clicks import Button, Click, wire


async def ask_build_directions(click: Click, goal_id: str, deps: Deps) -> None:
    metadata = encode_feedback_metadata(goal_id, click.channel, click.ts, click.thread_ts)
    await click.open(build_feedback_modal(goal_id, metadata))


def register(app: AsyncApp, deps: Deps) -> None:
    wire(app, Button(REQUEST_CHANGES_ACTION, decode_goal_value, ask_build_directions))
