"""Retry on the message of a build that changed nothing: the build runs again (bot/services/empty_build.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.empty_build import RETRY_ACTION, build_empty_build_outcome, decode_goal_value
from bot.services.empty_build import retry_empty_build
from bot.services.errors import ServiceError
from bot.services.unit import Actor
from handlers.actions.decisions import where
from handlers.common import call, tell

if TYPE_CHECKING:
    from bot.app import Container


def register(app: AsyncApp, container: Container) -> None:
    @app.action(RETRY_ACTION)
    async def retry(
        ack: AsyncAck,
        action: dict[str, Any],
        body: dict[str, Any],
        client: AsyncWebClient,
        respond: AsyncRespond,
    ) -> None:
        await ack()
        user = body["user"]["id"]
        channel, _ts, thread_ts = where(body)
        try:
            goal_id = decode_goal_value(action.get("value", ""))
            done = await call(
                retry_empty_build,
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
        outcome = f"↻ <@{user}> asked to build task {done.task_id} again (v{done.version})."
        await respond(replace_original=True, text=outcome, blocks=build_empty_build_outcome(outcome))
