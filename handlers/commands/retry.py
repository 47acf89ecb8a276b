"""`/orch retry <goal-id>`: re-run a goal's failed steps, and the waiting ones now (audited).

A subcommand of `/orch` (its table `EXTRA` in handlers/commands/orch.py)."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from bot.services.effects import effects_service
from bot.services.errors import ServiceError
from bot.services.unit import Actor
from handlers.common import call


async def retry(
    ack: AsyncAck,
    command: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    rest: str,
    deps: Deps,
) -> None:
    goal_id = rest.split()[0].upper() if rest.split() else ""
    if not goal_id:
        await ack("Which goal? `/orch retry G-0001`")
        return
    await ack()
    try:
        rows = await call(effects_service(deps).retry, actor=Actor(command["user_id"]), goal_id=goal_id)
    except ServiceError as exc:
        await respond(text=str(exc), response_type="ephemeral")
        return
    steps = "1 step" if len(rows) == 1 else f"{len(rows)} steps"
    await respond(text=f"{goal_id}: {steps} running again.", response_type="ephemeral")
