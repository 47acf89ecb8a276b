"""The Retry button under a refused merge: deliver the goal again (push, status, merge)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.delivery import RETRY_DELIVERY_ACTION
from bot.services.delivery import retry_delivery
from bot.services.errors import ServiceError
from bot.services.unit import Actor
from handlers.actions.decisions import where
from handlers.common import call, tell

if TYPE_CHECKING:
    from bot.app import Container


def register(app: AsyncApp, container: Container) -> None:
    @app.action(RETRY_DELIVERY_ACTION)
    async def retry(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        user = body["user"]["id"]
        channel, _, thread_ts = where(body)
        goal_id = str(action.get("value") or "")[:40]
        try:
            await call(
                retry_delivery,
                goals=container.goals,
                goal_id=goal_id,
                actor=Actor(user),
                key=str(action.get("action_ts") or body.get("trigger_id") or ""),
            )
        except ServiceError as exc:
            await tell(client, channel=channel, user=user, thread_ts=thread_ts, text=str(exc))
            return
        await tell(
            client,
            channel=channel,
            user=user,
            thread_ts=thread_ts,
            text=f"Trying to merge {goal_id}'s pull request again; the thread says how it went.",
        )
