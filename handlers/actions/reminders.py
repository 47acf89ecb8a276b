"""Buttons on the scheduler's DMs: Re-request approval (after expiry) and Cancel (an overdue job).

The Approve / Request changes / Reject buttons of a reminder DM are the thread's own buttons and
are handled by handlers/actions/decisions.py. These two are registered only with the scheduler.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.blocks.reminders import CANCEL_JOB_ACTION, RERUN_ACTION, decode_cancel_value, decode_rerun_value
from bot.deps import Deps
from bot.jobs.recovery import rerequest_text
from handlers.actions.clicks import Button, Click, wire


async def rerequest_approval(click: Click, rerun: tuple[str, str, int], deps: Deps) -> None:
    goal_id, _phase, _version = rerun
    result = await click.run(deps.jobs.rerequest, goal_id=goal_id, actor=click.actor) if deps.jobs else None
    if result is not None:
        await click.tell(rerequest_text(result))


async def cancel_overdue_job(click: Click, job: tuple[int, str], deps: Deps) -> None:
    reason = "cancelled from the overdue-job message"
    goal = await click.run(deps.goals.cancel, goal_id=job[1], actor=click.actor, reason=reason)
    if goal is not None:
        await click.tell(f"{goal.id} is cancelled; its running job was stopped.")


def register(app: AsyncApp, deps: Deps) -> None:
    if deps.jobs is not None:
        wire(app, Button(RERUN_ACTION, decode_rerun_value, rerequest_approval))
        wire(app, Button(CANCEL_JOB_ACTION, decode_cancel_value, cancel_overdue_job))
