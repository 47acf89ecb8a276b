"""`slack.work_failed`: the thread message of a draft or build that failed for good (bot.jobs.recovery),
and `slack.work_failure_settled`: the same message once the work runs again, its buttons gone.

Whoever retried (a button, the feedback modal, `/orch rerequest`, the CLI, the scheduler), the
message then says so, so its buttons are never left to be clicked for work that is running."""

from __future__ import annotations

from dataclasses import dataclass

from bot.blocks.work_failure import (
    WorkFailureView,
    build_work_failure,
    build_work_failure_outcome,
    work_failure_outcome_text,
    work_failure_text,
)
from bot.effects.port import Handler, SlackPort, marker, payload_of
from bot.jobs.recovery import FAILURE_KIND, SETTLED_KIND
from bot.sop.effect_kinds import WorkFailed, WorkFailureSettled
from storage.db import read_session
from storage.models import Effect
from storage.repositories import Effects


@dataclass
class WorkFailureMessages:
    fx: SlackPort

    def handlers(self) -> dict[str, Handler]:
        return {FAILURE_KIND: self.post, SETTLED_KIND: self.settle}

    async def post(self, effect: Effect) -> None:
        found = self.fx.goal_thread(effect.goal_id)
        if found is None:
            return
        goal, channel, thread_ts = found
        p = payload_of(effect, WorkFailed)
        view = WorkFailureView(
            goal_id=goal.id,
            kind=p.job_kind,
            what=p.what,
            attempts=p.attempts,
            error=p.error,
            auto_retry=p.auto_retry,
        )
        await self.fx.post(
            effect,
            channel=channel,
            thread_ts=thread_ts,
            blocks=build_work_failure(view),
            text=work_failure_text(view),
        )
        await self.fx.status.refresh(goal)

    async def settle(self, effect: Effect) -> None:
        goal = self.fx.goal(effect.goal_id)
        if goal is None or not goal.channel_id or not goal.thread_ts:
            return
        p = payload_of(effect, WorkFailureSettled)
        with read_session(self.fx.engine) as session:
            posted = Effects(session).by_key(p.failure_key)
        if posted is None or posted.status != "done":
            return  # never posted (the goal had no thread), or given up: nothing shows buttons
        ts = await self.fx.find_marker(goal.channel_id, goal.thread_ts, marker(posted))
        if ts is None:
            return
        text = work_failure_outcome_text(
            actor=p.actor,
            what=p.what,
            feedback=p.feedback,
            automatic=p.automatic,
        )
        await self.fx.update(
            channel=goal.channel_id, ts=ts, blocks=build_work_failure_outcome(goal.id, text), text=text
        )
