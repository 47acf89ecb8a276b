"""Buttons on the scheduler's DMs: Re-request approval (after expiry) and Cancel (an overdue job).

The Approve / Request changes / Reject buttons of a reminder DM are the thread's own buttons and
are handled by handlers/actions/decisions.py.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.reminders import CANCEL_JOB_ACTION, RERUN_ACTION, decode_cancel_value, decode_rerun_value
from bot.jobs.recovery import rerequest_text
from bot.services.errors import ServiceError
from bot.services.unit import Actor
from handlers.actions.decisions import where
from handlers.common import call, tell

if TYPE_CHECKING:
    from bot.app import Container

log = logging.getLogger(__name__)


async def _answer(
    client: AsyncWebClient, body: dict[str, Any], work: Callable[[Actor], Awaitable[str]]
) -> None:
    """Run a DM button's service call and tell the clicker the outcome, or why it was refused."""
    user = body["user"]["id"]
    channel, _ts, thread_ts = where(body)
    try:
        text = await work(Actor(user, body.get("trigger_id")))
    except ValueError as exc:
        text = f"That button is broken: {exc}"
    except ServiceError as exc:
        text = str(exc)
    await tell(client, channel=channel, user=user, thread_ts=thread_ts, text=text)


def register(app: AsyncApp, container: Container) -> None:
    jobs = container.jobs
    if jobs is None:
        return

    @app.action(RERUN_ACTION)
    async def rerequest(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()

        async def work(actor: Actor) -> str:
            goal_id, _phase, _version = decode_rerun_value(action.get("value", ""))
            return rerequest_text(await call(jobs.rerequest, goal_id=goal_id, actor=actor))

        await _answer(client, body, work)

    @app.action(CANCEL_JOB_ACTION)
    async def cancel(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()

        async def work(actor: Actor) -> str:
            _job_id, goal_id = decode_cancel_value(action.get("value", ""))
            goal = await call(
                container.goals.cancel,
                goal_id=goal_id,
                actor=actor,
                reason="cancelled from the overdue-job message",
            )
            return f"{goal.id} is cancelled; its running job was stopped."

        await _answer(client, body, work)
