"""Cancel goal on a failure message: the goal stops; what is committed stays."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.failures import CANCEL_GOAL_ACTION, decode_failure_value
from bot.services.errors import ServiceError
from bot.services.unit import Actor
from handlers.actions.decisions import where
from handlers.actions.retry import settle
from handlers.common import call, tell

if TYPE_CHECKING:
    from bot.app import Container


def register(app: AsyncApp, container: Container) -> None:
    goals = container.goals

    @app.action(CANCEL_GOAL_ACTION)
    async def cancel(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        user = body["user"]["id"]
        channel, _ts, thread_ts = where(body)
        try:
            ref = decode_failure_value(action.get("value", ""))
            goal = await call(
                goals.cancel,
                goal_id=ref.goal_id,
                actor=Actor(user, body.get("trigger_id")),
                reason="cancelled from a failure message",
            )
        except ValueError as exc:
            await tell(
                client, channel=channel, user=user, thread_ts=thread_ts, text=f"That button is broken: {exc}"
            )
            return
        except ServiceError as exc:
            await tell(client, channel=channel, user=user, thread_ts=thread_ts, text=str(exc))
            return
        await settle(client, body, goal.id, f"✖ <@{user}> cancelled {goal.id}.")
