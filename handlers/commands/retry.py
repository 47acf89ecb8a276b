"""`/orch retry <goal-id>`: re-run a goal's failed steps, and the waiting ones now (audited)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.services.effects import effects_service
from bot.services.errors import ServiceError
from bot.services.unit import Actor
from handlers.commands.orch import extra_subcommands
from handlers.common import call

if TYPE_CHECKING:
    from bot.app import Container


def register(app: AsyncApp, container: Container) -> None:
    effects = effects_service(container)

    async def retry(
        ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient, rest: str
    ) -> None:
        goal_id = rest.split()[0].upper() if rest.split() else ""
        if not goal_id:
            await ack("Which goal? `/orch retry G-0001`")
            return
        await ack()
        try:
            rows = await call(effects.retry, actor=Actor(command["user_id"]), goal_id=goal_id)
        except ServiceError as exc:
            await respond(text=str(exc), response_type="ephemeral")
            return
        steps = "1 step" if len(rows) == 1 else f"{len(rows)} steps"
        await respond(text=f"{goal_id}: {steps} running again.", response_type="ephemeral")

    extra_subcommands(container)["retry"] = retry
