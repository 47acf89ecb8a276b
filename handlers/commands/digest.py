"""`/orch digest` (this channel's digest, now) and `/orch rerequest G-0001` (an expired approval).

Both are added to `/orch` through its table of extra subcommands (handlers/commands/orch.py).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.jobs.recovery import rerequest_text
from bot.services.errors import ServiceError
from bot.services.unit import Actor
from handlers.commands.orch import extra_subcommands
from handlers.common import call

if TYPE_CHECKING:
    from bot.app import Container

log = logging.getLogger(__name__)


def register(app: AsyncApp, container: Container) -> None:
    jobs = container.jobs
    if jobs is None:
        return

    async def digest(
        ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient, rest: str
    ) -> None:
        await ack()
        await call(jobs.post_digest, channel=command["channel_id"], actor=Actor(command["user_id"]))

    async def rerequest(
        ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient, rest: str
    ) -> None:
        if not rest:
            await ack("Which goal? `/orch rerequest G-0001`")
            return
        await ack()
        try:
            result = await call(
                jobs.rerequest, goal_id=rest.split()[0].upper(), actor=Actor(command["user_id"])
            )
        except ServiceError as exc:
            await respond(text=str(exc), response_type="ephemeral")
            return
        await respond(text=rerequest_text(result), response_type="ephemeral")

    table = extra_subcommands(container)
    table["digest"] = digest
    table["rerequest"] = rerequest
