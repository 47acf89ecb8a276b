"""Cancel goal, on a merge-conflict message."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.conflicts import CONFLICT_CANCEL_ACTION, decode_conflict_value
from bot.services.errors import ServiceError
from bot.services.merges import cancel_after_conflict
from bot.services.unit import Actor
from handlers.actions.decisions import where
from handlers.common import call, tell

if TYPE_CHECKING:
    from bot.app import Container


def register(app: AsyncApp, container: Container) -> None:
    @app.action(CONFLICT_CANCEL_ACTION)
    async def cancel(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        user = body["user"]["id"]
        channel, _ts, thread_ts = where(body)
        try:
            goal_id, task_id, _version = decode_conflict_value(action.get("value", ""))
            await call(
                cancel_after_conflict,
                service=container.goals,
                goal_id=goal_id,
                task_id=task_id,
                actor=Actor(user, body.get("trigger_id")),
            )
        except ValueError as exc:
            await tell(
                client, channel=channel, user=user, thread_ts=thread_ts, text=f"That button is broken: {exc}"
            )
        except ServiceError as exc:
            await tell(client, channel=channel, user=user, thread_ts=thread_ts, text=str(exc))
