"""Retry / Request changes / Cancel on the message of a draft or build that failed for good.

The buttons name the goal only; what they act on is the failed draft or build that holds the goal
when the click arrives (bot.jobs.recovery), so an old message can never retry something else.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

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
from bot.jobs.recovery import retry_failed
from bot.services.unit import Actor
from handlers.actions.clicks import Click
from handlers.common import call, open_modal

if TYPE_CHECKING:
    from bot.app import Container

log = logging.getLogger(__name__)
# One listener per verb, registered under each kind's action id (`orch_draft_retry`, …): plain ids
# keep every listener findable by the id the builders name.
RETRY_IDS = tuple(action_id(kind, RETRY) for kind in KINDS)
REQUEST_CHANGES_IDS = tuple(action_id(kind, REQUEST_CHANGES) for kind in KINDS)
CANCEL_IDS = tuple(action_id(kind, CANCEL) for kind in KINDS)


def register(app: AsyncApp, container: Container) -> None:
    goals = container.goals

    async def settle(respond: AsyncRespond, outcome: str) -> None:
        """The failure message's buttons give way to what was done (so nobody clicks them again)."""
        await respond(replace_original=True, text=outcome, blocks=build_work_failure_outcome("", outcome))

    async def retry(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        click = Click.of(body, client)
        # The message then says who retried it and loses its buttons (bot.effects.work_failure).
        await click.attempt(
            lambda: call(
                retry_failed,
                goals=goals,
                goal_id=decode_goal_value(action.get("value", "")),
                actor=click.actor,
            )
        )

    async def request_changes(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        click = Click.of(body, client)
        goal_id = await click.decode(decode_goal_value, action)
        if goal_id is None:
            return
        what = "The build" if str(action.get("action_id", "")).startswith("orch_build_") else "The draft"
        metadata = encode_modal_metadata(goal_id, click.channel, click.ts, click.thread_ts)
        await open_modal(
            client,
            trigger_id=body["trigger_id"],
            view=build_work_feedback_modal(goal_id, what, metadata),
            user=click.user,
            channel=click.channel,
            thread_ts=click.thread_ts,
        )

    async def cancel(
        ack: AsyncAck,
        action: dict[str, Any],
        body: dict[str, Any],
        client: AsyncWebClient,
        respond: AsyncRespond,
    ) -> None:
        await ack()
        click = Click.of(body, client)
        goal = await click.attempt(
            lambda: call(
                goals.cancel,
                goal_id=decode_goal_value(action.get("value", "")),
                actor=Actor(click.user),
                reason="cancelled after its work failed",
            )
        )
        if goal is None:
            return
        await settle(respond, f"✖ <@{click.user}> cancelled {goal.id}.")

    for ids, listener in ((RETRY_IDS, retry), (REQUEST_CHANGES_IDS, request_changes), (CANCEL_IDS, cancel)):
        for one in ids:
            app.action(one)(listener)
