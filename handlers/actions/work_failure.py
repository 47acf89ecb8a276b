"""Retry / Request changes / Cancel on the message of a draft or build that failed for good.

The buttons name the goal only; what they act on is the failed draft or build that holds the goal
when the click arrives (bot.jobs.recovery), so an old message can never retry something else.
"""

from __future__ import annotations

from functools import partial

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

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
from handlers.actions.clicks import Click, Payload

# One listener per verb, registered under each kind's action id (`orch_draft_retry`, …): plain ids
# keep every listener findable by the id the builders name.
RETRY_IDS = tuple(action_id(kind, RETRY) for kind in KINDS)
REQUEST_CHANGES_IDS = tuple(action_id(kind, REQUEST_CHANGES) for kind in KINDS)
CANCEL_IDS = tuple(action_id(kind, CANCEL) for kind in KINDS)


async def retry_failed_work(
    ack: AsyncAck, action: Payload, body: Payload, client: AsyncWebClient, deps: Deps
) -> None:
    click = await Click.acked(ack, body, client)
    goal_id = await click.decode(decode_goal_value, action)
    if goal_id is not None:
        # The message then says who retried it and loses its buttons (bot.effects.work_failure).
        await click.run(retry_failed, goals=deps.goals, goal_id=goal_id, actor=click.actor)


async def ask_work_directions(
    ack: AsyncAck, action: Payload, body: Payload, client: AsyncWebClient, deps: Deps
) -> None:
    click = await Click.acked(ack, body, client)
    goal_id = await click.decode(decode_goal_value, action)
    if goal_id is not None:
        what = "The build" if str(action.get("action_id", "")).startswith("orch_build_") else "The draft"
        metadata = encode_modal_metadata(goal_id, click.channel, click.ts, click.thread_ts)
        await click.open(build_work_feedback_modal(goal_id, what, metadata))


async def cancel_failed_work(
    ack: AsyncAck, action: Payload, body: Payload, client: AsyncWebClient, respond: AsyncRespond, deps: Deps
) -> None:
    click = await Click.acked(ack, body, client)
    goal_id = await click.decode(decode_goal_value, action)
    if goal_id is None:
        return
    reason = "cancelled after its work failed"
    goal = await click.run(deps.goals.cancel, goal_id=goal_id, actor=Actor(click.user), reason=reason)
    if goal is not None:
        await click.settle(
            respond, partial(build_work_failure_outcome, ""), f"✖ <@{click.user}> cancelled {goal.id}."
        )


def register(app: AsyncApp, deps: Deps) -> None:
    for ids, listener in (
        (RETRY_IDS, retry_failed_work),
        (REQUEST_CHANGES_IDS, ask_work_directions),
        (CANCEL_IDS, cancel_failed_work),
    ):
        for one in ids:
            app.action(one)(listener)
