"""`slack.work_failed`: the thread message of a draft or build that failed for good (bot.jobs.recovery)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.blocks.work_failure import WorkFailureView, build_work_failure, work_failure_text
from bot.effects.dispatcher import EffectDispatcher, RetryLater
from bot.jobs.recovery import FAILURE_KIND
from storage.models import Effect

if TYPE_CHECKING:
    from bot.effects.slack_effects import SlackEffects


@dataclass
class WorkFailureMessages:
    fx: SlackEffects

    def register(self, dispatcher: EffectDispatcher) -> None:
        dispatcher.register(FAILURE_KIND, self.post)

    async def post(self, effect: Effect) -> None:
        goal = self.fx.goal(effect.goal_id)
        if goal is None or not goal.channel_id:
            return
        if not goal.thread_ts:
            raise RetryLater("the goal thread is not posted yet")
        p = effect.payload
        view = WorkFailureView(
            goal_id=goal.id,
            kind=str(p.get("job_kind", "draft")),
            what=str(p.get("what", "The work")),
            attempts=int(p.get("attempts", 0) or 0),
            error=str(p.get("error", "")),
            auto_retry=bool(p.get("auto_retry", False)),
        )
        await self.fx.post(
            effect,
            channel=goal.channel_id,
            thread_ts=goal.thread_ts,
            blocks=build_work_failure(view),
            text=work_failure_text(view),
        )
        await self.fx.status.refresh(goal)
