"""Stop on a running build's status message: its Codex turn is interrupted (bot/services/build_stop.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.codex_stop import STOP_ACTION
from bot.blocks.empty_build import decode_goal_value
from bot.services.build_stop import ELSEWHERE, stop_build
from bot.services.errors import ServiceError
from bot.services.unit import Actor
from handlers.actions.decisions import where
from handlers.common import call, tell

if TYPE_CHECKING:
    from bot.app import Container


def register(app: AsyncApp, container: Container) -> None:
    @app.action(STOP_ACTION)
    async def stop(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        user = body["user"]["id"]
        channel, _ts, thread_ts = where(body)
        try:
            goal_id = decode_goal_value(action.get("value", ""))
            here = await call(
                stop_build,
                service=container.goals,
                goal_id=goal_id,
                actor=Actor(user, body.get("trigger_id")),
            )
        except ValueError as exc:
            await tell(
                client, channel=channel, user=user, thread_ts=thread_ts, text=f"That button is broken: {exc}"
            )
            return
        except ServiceError as exc:
            await tell(client, channel=channel, user=user, thread_ts=thread_ts, text=str(exc))
            return
        if not here:
            await tell(
                client, channel=channel, user=user, thread_ts=thread_ts, text=ELSEWHERE.format(goal_id)
            )
