"""Retry / Request changes / Cancel on the message of a draft or build that failed for good.

The buttons name the goal only; what they act on is the failed draft or build that holds the goal
when the click arrives (bot.jobs.recovery), so an old message can never retry something else.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.work_failure import (
    build_work_failure_outcome,
    build_work_feedback_modal,
    decode_goal_value,
    encode_modal_metadata,
)
from bot.jobs.recovery import retry_failed
from bot.services.errors import ServiceError
from bot.services.unit import Actor
from handlers.actions.decisions import where
from handlers.common import call, open_modal, tell

if TYPE_CHECKING:
    from bot.app import Container

log = logging.getLogger(__name__)
RETRY_RE = re.compile(r"^(draft|build)_retry$")
REQUEST_CHANGES_RE = re.compile(r"^(draft|build)_request_changes$")
CANCEL_RE = re.compile(r"^(draft|build)_cancel$")


def register(app: AsyncApp, container: Container) -> None:
    goals = container.goals

    async def settle(respond: AsyncRespond, outcome: str) -> None:
        """The failure message's buttons give way to what was done (so nobody clicks them again)."""
        await respond(replace_original=True, text=outcome, blocks=build_work_failure_outcome("", outcome))

    @app.action(RETRY_RE)
    async def retry(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        user = body["user"]["id"]
        channel, _ts, thread_ts = where(body)
        try:
            goal_id = decode_goal_value(action.get("value", ""))
            # The message then says who retried it and loses its buttons (bot.effects.work_failure).
            await call(retry_failed, goals=goals, goal_id=goal_id, actor=Actor(user, body.get("trigger_id")))
        except ValueError as exc:
            text = f"That button is broken: {exc}"
            await tell(client, channel=channel, user=user, thread_ts=thread_ts, text=text)
        except ServiceError as exc:
            await tell(client, channel=channel, user=user, thread_ts=thread_ts, text=str(exc))

    @app.action(REQUEST_CHANGES_RE)
    async def request_changes(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        user = body["user"]["id"]
        channel, ts, thread_ts = where(body)
        try:
            goal_id = decode_goal_value(action.get("value", ""))
        except ValueError as exc:
            await tell(
                client, channel=channel, user=user, thread_ts=thread_ts, text=f"That button is broken: {exc}"
            )
            return
        what = "The build" if str(action.get("action_id", "")).startswith("build_") else "The draft"
        view = build_work_feedback_modal(
            goal_id, what, encode_modal_metadata(goal_id, channel, ts, thread_ts)
        )
        await open_modal(
            client, trigger_id=body["trigger_id"], view=view, user=user, channel=channel, thread_ts=thread_ts
        )

    @app.action(CANCEL_RE)
    async def cancel(
        ack: AsyncAck,
        action: dict[str, Any],
        body: dict[str, Any],
        client: AsyncWebClient,
        respond: AsyncRespond,
    ) -> None:
        await ack()
        user = body["user"]["id"]
        channel, _ts, thread_ts = where(body)
        try:
            goal_id = decode_goal_value(action.get("value", ""))
            goal = await call(
                goals.cancel, goal_id=goal_id, actor=Actor(user), reason="cancelled after its work failed"
            )
        except ValueError as exc:
            await tell(
                client, channel=channel, user=user, thread_ts=thread_ts, text=f"That button is broken: {exc}"
            )
            return
        except ServiceError as exc:
            await tell(client, channel=channel, user=user, thread_ts=thread_ts, text=str(exc))
            return
        await settle(respond, f"✖ <@{user}> cancelled {goal.id}.")
