"""`slack.codex_empty_build`: the thread message of a build that changed nothing (bot/services/empty_build.py)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.blocks.empty_build import EmptyBuildView, build_empty_build, empty_build_text
from bot.effects.port import Handler, SlackPort, payload_of
from bot.services.empty_build import EFFECT_KIND
from bot.sop.effect_kinds import EmptyBuild
from storage.models import Effect


@dataclass
class EmptyBuildMessages:
    fx: SlackPort

    def handlers(self) -> dict[str, Handler]:
        return {EFFECT_KIND: self.post}

    async def post(self, effect: Effect) -> None:
        found = self.fx.goal_thread(effect.goal_id)
        if found is None:
            return
        goal, channel, thread_ts = found
        p = payload_of(effect, EmptyBuild)
        view = EmptyBuildView(
            goal_id=goal.id,
            task_id=p.task_id,
            version=p.version or 1,
            last_message=p.last_message,
            failed_actions=tuple(str(a) for a in p.failed_actions),
            run_id=p.run_id or None,
            stopped_by=p.stopped_by or None,
        )
        await self.fx.post(
            effect,
            channel=channel,
            thread_ts=thread_ts,
            blocks=build_empty_build(view),
            text=empty_build_text(view),
        )
        await self.fx.status.refresh(goal)
