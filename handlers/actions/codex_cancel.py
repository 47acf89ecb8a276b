"""Cancel goal on the message of a build that changed nothing (the requester or an approver)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.empty_build import CANCEL_ACTION, build_empty_build_outcome, decode_goal_value
from bot.services.errors import ServiceError
from bot.services.unit import Actor
from handlers.actions.decisions import where
from handlers.common import call, tell

if TYPE_CHECKING:
    from bot.app import Container


def register(app: AsyncApp, container: Container) -> None:
    @app.action(CANCEL_ACTION)
    async def cancel(
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
            goal = await call(
                container.goals.cancel,
                goal_id=goal_id,
                actor=Actor(user, body.get("trigger_id")),
                reason="cancelled after its build changed nothing",
            )
        except ValueError as exc:
            await tell(
                client, channel=channel, user=user, thread_ts=thread_ts, text=f"That button is broken: {exc}"
            )
            return
        except ServiceError as exc:
            await tell(client, channel=channel, user=user, thread_ts=thread_ts, text=str(exc))
            return
        outcome = f"✖ <@{user}> cancelled {goal.id}."
        await respond(replace_original=True, text=outcome, blocks=build_empty_build_outcome(outcome))
