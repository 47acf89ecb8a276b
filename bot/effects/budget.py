"""`slack.budget`: the thread message of a goal that reached its budget (bot/services/budgets.py)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.blocks.budget import budget_paused_text, build_budget_paused
from bot.effects.port import Handler, SlackPort, payload_of
from bot.services.budgets import EFFECT_KIND
from bot.sop.effect_kinds import BudgetReached
from storage.models import Effect


@dataclass
class BudgetMessages:
    fx: SlackPort

    def handlers(self) -> dict[str, Handler]:
        return {EFFECT_KIND: self.post}

    async def post(self, effect: Effect) -> None:
        found = self.fx.goal_thread(effect.goal_id)
        if found is None:
            return
        goal, channel, thread_ts = found
        p = payload_of(effect, BudgetReached)
        cost, budget = p.cost, p.budget
        await self.fx.post(
            effect,
            channel=channel,
            thread_ts=thread_ts,
            blocks=build_budget_paused(goal.id, cost, budget),
            text=budget_paused_text(goal.id, cost, budget),
        )
