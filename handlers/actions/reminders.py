"""Buttons on the scheduler's DMs: Re-request approval (after expiry) and Cancel (an overdue job).

The Approve / Request changes / Reject buttons of a reminder DM are the thread's own buttons and
are handled by handlers/actions/decisions.py.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.reminders import CANCEL_JOB_ACTION, RERUN_ACTION, decode_cancel_value, decode_rerun_value
from bot.services.errors import ServiceError
from bot.services.unit import Actor
from handlers.actions.decisions import where
from handlers.common import call, tell

if TYPE_CHECKING:
    from bot.app import Container

log = logging.getLogger(__name__)


def register(app: AsyncApp, container: Container) -> None:
    jobs = container.extras.get("jobs")
    if jobs is None:
        return

    @app.action(RERUN_ACTION)
    async def rerequest(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        user = body["user"]["id"]
        channel, _ts, thread_ts = where(body)
        try:
            goal_id, _phase, _version = decode_rerun_value(action.get("value", ""))
            artifact = await call(jobs.rerequest, goal_id=goal_id, actor=Actor(user, body.get("trigger_id")))
        except ValueError as exc:
            await tell(
                client, channel=channel, user=user, thread_ts=thread_ts, text=f"That button is broken: {exc}"
            )
            return
        except ServiceError as exc:
            await tell(client, channel=channel, user=user, thread_ts=thread_ts, text=str(exc))
            return
        await tell(
            client,
            channel=channel,
            user=user,
            thread_ts=thread_ts,
            text=f"{artifact.goal_id}: approval requested again as v{artifact.version}, in the goal's thread.",
        )

    @app.action(CANCEL_JOB_ACTION)
    async def cancel(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        user = body["user"]["id"]
        channel, _ts, thread_ts = where(body)
        try:
            _job_id, goal_id = decode_cancel_value(action.get("value", ""))
            goal = await call(
                container.goals.cancel,
                goal_id=goal_id,
                actor=Actor(user, body.get("trigger_id")),
                reason="cancelled from the overdue-job message",
            )
        except ValueError as exc:
            await tell(
                client, channel=channel, user=user, thread_ts=thread_ts, text=f"That button is broken: {exc}"
            )
            return
        except ServiceError as exc:
            await tell(client, channel=channel, user=user, thread_ts=thread_ts, text=str(exc))
            return
        await tell(
            client,
            channel=channel,
            user=user,
            thread_ts=thread_ts,
            text=f"{goal.id} is cancelled; its running job was stopped.",
        )
