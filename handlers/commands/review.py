"""`/orch review G-0001`: ask the goal's approvers to re-review its approved artifacts now.

The same message the scheduler sends before an artifact goes stale (bot/jobs/freshness.py), in the
goal's thread and by DM, with Re-approve unchanged / Request changes buttons. A subcommand of
`/orch` (its table `WITH_JOBS` in handlers/commands/orch.py).
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from bot.services.errors import ServiceError
from bot.services.unit import GOAL_ID_RE, Actor
from handlers.common import call


async def review(
    ack: AsyncAck,
    command: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    rest: str,
    deps: Deps,
) -> None:
    goal_id = rest.split()[0].upper() if rest else ""
    if not GOAL_ID_RE.match(goal_id):
        await ack("Which goal? `/orch review G-0001`")
        return
    await ack()
    if deps.jobs is None:
        return
    try:
        due = await call(deps.jobs.ask_review, goal_id=goal_id, actor=Actor(command["user_id"]))
    except ServiceError as exc:
        await respond(text=str(exc), response_type="ephemeral")
        return
    names = ", ".join(d.label for d in due)
    await respond(
        text=f"{goal_id}: asked its approvers to re-review {names}, in the goal's thread and by DM.",
        response_type="ephemeral",
    )
