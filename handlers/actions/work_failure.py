"""Retry / Request changes / Cancel on the message of a draft or build that failed for good.

The buttons name the goal only; what they act on is the failed draft or build that holds the goal
when the click arrives (bot.jobs.recovery), so an old message can never retry something else.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.blocks.work_failure import (
    CANCEL,
    KINDS,
    REQUEST_CHANGES,
    RETRY,
    action_id,
    build_work_failure_outcome,
    build_work_feedback_modal,
    decode_goal_value,
    encode_modal_metadata,
)
from bot.deps import Deps
from bot.jobs.recovery import retry_failed
from bot.services.unit import Actor
from handlers.actions.clicks import Button, Click, wire


async def retry_failed_work(click: Click, goal_id: str, deps: Deps) -> None:
    # The message then says who retried it and loses its buttons (bot.effects.work_failure).
    await click.run(retry_failed, goals=deps.goals, goal_id=goal_id, actor=click.actor)


async def ask_work_directions(click: Click, goal_id: str, deps: Deps) -> None:
    what = "The build" if str(click.action.get("action_id", "")).startswith("orch_build_") else "The draft"
    metadata = encode_modal_metadata(goal_id, click.channel, click.ts, click.thread_ts)
    await click.open(build_work_feedback_modal(goal_id, what, metadata))


async def cancel_failed_work(click: Click, goal_id: str, deps: Deps) -> None:
    reason = "cancelled after its work failed"
    goal = await click.run(deps.goals.cancel, goal_id=goal_id, actor=Actor(click.user), reason=reason)
    if goal is not None:
        await click.settle(
            lambda text: build_work_failure_outcome("", text), f"✖ <@{click.user}> cancelled {goal.id}."
        )


def register(app: AsyncApp, deps: Deps) -> None:
    # One press per verb, under each kind's action id (`orch_draft_retry`, …): plain ids keep every
    # button findable by the id the builders name.
    for verb, press in (
        (RETRY, retry_failed_work),
        (REQUEST_CHANGES, ask_work_directions),
        (CANCEL, cancel_failed_work),
    ):
        wire(app, *(Button(action_id(kind, verb), decode_goal_value, press) for kind in KINDS))
