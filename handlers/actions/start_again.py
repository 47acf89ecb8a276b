"""The "Start another" button under a repeated `/orch start`: the person confirms a second goal."""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot import blocks as builders
from bot.deps import Deps
from bot.services.errors import ServiceError
from bot.services.unit import Actor
from handlers.actions.clicks import Payload
from handlers.common import call


async def start_another(
    ack: AsyncAck, action: Payload, body: Payload, respond: AsyncRespond, deps: Deps
) -> None:
    await ack()
    try:
        goal_id = builders.decode_start_another(action.get("value"))
        goal = await call(deps.goals.start_another, goal_id=goal_id, actor=Actor(body["user"]["id"]))
    except ValueError as exc:
        await respond(text=f"That button is broken: {exc}", response_type="ephemeral")
        return
    except ServiceError as exc:
        await respond(text=str(exc), response_type="ephemeral")
        return
    await respond(text=f"Started {goal.id}, a second goal with the same text.", replace_original=True)


def register(app: AsyncApp, deps: Deps) -> None:
    app.action(builders.START_ANOTHER_ACTION)(start_another)
