"""Buttons on the scheduler's DMs: Re-request approval (after expiry) and Cancel (an overdue job).

The Approve / Request changes / Reject buttons of a reminder DM are the thread's own buttons and
are handled by handlers/actions/decisions.py. These two are registered only with the scheduler.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.reminders import CANCEL_JOB_ACTION, RERUN_ACTION, decode_cancel_value, decode_rerun_value
from bot.deps import Deps
from bot.jobs.recovery import rerequest_text
from handlers.actions.clicks import Click, Payload


async def rerequest_approval(
    ack: AsyncAck, action: Payload, body: Payload, client: AsyncWebClient, deps: Deps
) -> None:
    click = await Click.acked(ack, body, client)
    decoded = await click.decode(decode_rerun_value, action)
    if decoded is None or deps.jobs is None:
        return
    goal_id, _phase, _version = decoded
    result = await click.run(deps.jobs.rerequest, goal_id=goal_id, actor=click.actor)
    if result is not None:
        await click.tell(rerequest_text(result))


async def cancel_overdue_job(
    ack: AsyncAck, action: Payload, body: Payload, client: AsyncWebClient, deps: Deps
) -> None:
    click = await Click.acked(ack, body, client)
    decoded = await click.decode(decode_cancel_value, action)
    if decoded is None:
        return
    _job_id, goal_id = decoded
    reason = "cancelled from the overdue-job message"
    goal = await click.run(deps.goals.cancel, goal_id=goal_id, actor=click.actor, reason=reason)
    if goal is not None:
        await click.tell(f"{goal.id} is cancelled; its running job was stopped.")


def register(app: AsyncApp, deps: Deps) -> None:
    if deps.jobs is None:
        return
    app.action(RERUN_ACTION)(rerequest_approval)
    app.action(CANCEL_JOB_ACTION)(cancel_overdue_job)
