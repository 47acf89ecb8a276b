"""`/orch digest` (this channel's digest, now) and `/orch rerequest G-0001` (an expired approval).

Both are subcommands of `/orch` (its table `WITH_JOBS` in handlers/commands/orch.py), there only
when the scheduler side is installed.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from bot.jobs.recovery import rerequest_text
from bot.services.errors import ServiceError
from bot.services.unit import Actor
from handlers.common import call


async def digest(
    ack: AsyncAck,
    command: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    rest: str,
    deps: Deps,
) -> None:
    await ack()
    if deps.jobs is not None:
        await call(deps.jobs.post_digest, channel=command["channel_id"], actor=Actor(command["user_id"]))


async def rerequest(
    ack: AsyncAck,
    command: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    rest: str,
    deps: Deps,
) -> None:
    if not rest:
        await ack("Which goal? `/orch rerequest G-0001`")
        return
    await ack()
    if deps.jobs is None:
        return
    try:
        result = await call(
            deps.jobs.rerequest, goal_id=rest.split()[0].upper(), actor=Actor(command["user_id"])
        )
    except ServiceError as exc:
        await respond(text=str(exc), response_type="ephemeral")
        return
    await respond(text=rerequest_text(result), response_type="ephemeral")
