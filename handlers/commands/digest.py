"""`/orch digest` (this channel's digest, now) and `/orch rerequest G-0001` (an expired approval).

Both are subcommands of `/orch` (its table `WITH_JOBS` in handlers/commands/orch.py), there only
when the scheduler side is installed.
"""

from __future__ import annotations

from bot.jobs.recovery import rerequest_text
from handlers.commands.slash import Slash
from handlers.common import call


async def digest(slash: Slash) -> None:
    await slash.ack()
    if slash.deps.jobs is not None:
        await call(slash.deps.jobs.post_digest, channel=slash.command["channel_id"], actor=slash.actor)


async def rerequest(slash: Slash) -> None:
    jobs = slash.deps.jobs
    if not slash.rest or jobs is None:
        await slash.ack("Which goal? `/orch rerequest G-0001`")
        return
    await slash.ack()
    result = await slash.run(jobs.rerequest, goal_id=slash.rest.split()[0].upper(), actor=slash.actor)
    if result is not None:
        await slash.answer(rerequest_text(result))
