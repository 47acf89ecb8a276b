"""The "Start another" button under a repeated `/orch start`: the person confirms a second goal."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot import blocks as builders
from bot.services.errors import ServiceError
from bot.services.unit import Actor
from handlers.common import call

if TYPE_CHECKING:
    from bot.app import Container


def register(app: AsyncApp, container: Container) -> None:
    @app.action(builders.START_ANOTHER_ACTION)
    async def start_another(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], respond: AsyncRespond
    ) -> None:
        await ack()
        try:
            goal_id = builders.decode_start_another(action.get("value"))
            goal = await call(container.goals.start_another, goal_id=goal_id, actor=Actor(body["user"]["id"]))
        except ValueError as exc:
            await respond(text=f"That button is broken: {exc}", response_type="ephemeral")
            return
        except ServiceError as exc:
            await respond(text=str(exc), response_type="ephemeral")
            return
        await respond(text=f"Started {goal.id}, a second goal with the same text.", replace_original=True)
