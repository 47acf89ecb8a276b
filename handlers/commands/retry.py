"""`/orch retry <goal-id>`: re-run a goal's failed steps, and the waiting ones now (audited).

A subcommand of `/orch` (its table `EXTRA` in handlers/commands/orch.py)."""

from __future__ import annotations

from bot.services.effects import effects_service
from handlers.commands.slash import Slash


async def retry(slash: Slash) -> None:
    goal_id = slash.rest.split()[0].upper() if slash.rest.split() else ""
    if not goal_id:
        await slash.ack("Which goal? `/orch retry G-0001`")
        return
    await slash.ack()
    rows = await slash.run(effects_service(slash.deps).retry, actor=slash.actor, goal_id=goal_id)
    if rows is not None:
        steps = "1 step" if len(rows) == 1 else f"{len(rows)} steps"
        await slash.answer(f"{goal_id}: {steps} running again.")
