"""`/orch review G-0001`: ask the goal's approvers to re-review its approved artifacts now.

The same message the scheduler sends before an artifact goes stale (bot/jobs/freshness.py), in the
goal's thread and by DM, with Re-approve unchanged / Request changes buttons. A subcommand of
`/orch` (its table `WITH_JOBS` in handlers/commands/orch.py).
"""

from __future__ import annotations

from bot.services.unit import GOAL_ID_RE
from handlers.commands.slash import Slash


async def review(slash: Slash) -> None:
    goal_id = slash.rest.split()[0].upper() if slash.rest else ""
    jobs = slash.deps.jobs
    if not GOAL_ID_RE.match(goal_id) or jobs is None:
        await slash.ack("Which goal? `/orch review G-0001`")
        return
    await slash.ack()
    due = await slash.run(jobs.ask_review, goal_id=goal_id, actor=slash.actor)
    if due is not None:
        names = ", ".join(d.label for d in due)
        await slash.answer(
            f"{goal_id}: asked its approvers to re-review {names}, in the goal's thread and by DM."
        )
