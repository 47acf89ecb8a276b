"""`slack.codex_empty_build`: the thread message of a build that changed nothing (bot/services/empty_build.py)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.blocks.empty_build import EmptyBuildView, build_empty_build, empty_build_text
from bot.effects.port import Handler, SlackPort
from bot.services.empty_build import EFFECT_KIND
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
        p = effect.payload
        view = EmptyBuildView(
            goal_id=goal.id,
            task_id=int(p.get("task_id", 0) or 0),
            version=int(p.get("version", 1) or 1),
            last_message=str(p.get("last_message") or ""),
            failed_actions=tuple(str(a) for a in p.get("failed_actions") or ()),
            run_id=str(p["run_id"]) if p.get("run_id") else None,
            stopped_by=str(p["stopped_by"]) if p.get("stopped_by") else None,
        )
        await self.fx.post(
            effect,
            channel=channel,
            thread_ts=thread_ts,
            blocks=build_empty_build(view),
            text=empty_build_text(view),
        )
        await self.fx.status.refresh(goal)
