"""Elevated modes: the card's "Request elevated mode" button, and an approver's Grant / Deny."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks as builders
from bot.services.elevation import ElevationService
from bot.services.errors import ServiceError
from bot.services.origin import ClickedMessage
from bot.services.unit import Actor
from bot.sop.phases import GoalState
from handlers.actions.decisions import where
from handlers.common import call, open_modal, tell

if TYPE_CHECKING:
    from bot.app import Container


def register(app: AsyncApp, container: Container) -> None:
    elevation = ElevationService.from_container(container)

    @app.action(builders.REQUEST_ELEVATION_ACTION)
    async def request(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        user = body["user"]["id"]
        channel, _, thread_ts = where(body)
        try:
            goal = await call(container.goals.get, goal_id=str(action.get("value") or "")[:40])
        except ServiceError as exc:
            await tell(client, channel=channel, user=user, thread_ts=thread_ts, text=str(exc))
            return
        if goal.state != GoalState.ACTIVE:
            await tell(
                client,
                channel=channel,
                user=user,
                thread_ts=thread_ts,
                text=f"{goal.id} is {goal.state}; its mode no longer matters.",
            )
            return
        meta = json.dumps({"goal": goal.id, "channel": channel})
        await open_modal(
            client,
            trigger_id=body["trigger_id"],
            view=builders.build_elevate_modal(goal.id, meta),
            user=user,
            channel=channel,
            thread_ts=thread_ts,
        )

    async def decide(
        grant: bool, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        user = body["user"]["id"]
        channel, ts, thread_ts = where(body)
        try:
            request_id, goal_id = builders.decode_mode_value(str(action.get("value") or ""))
            await call(
                elevation.decide,
                request_id=request_id,
                goal_id=goal_id,
                grant=grant,
                actor=Actor(user, body.get("trigger_id")),
                clicked=ClickedMessage(channel, ts, thread_ts),
            )
        except ValueError as exc:
            await tell(
                client, channel=channel, user=user, thread_ts=thread_ts, text=f"That button is broken: {exc}"
            )
        except ServiceError as exc:
            await tell(client, channel=channel, user=user, thread_ts=thread_ts, text=str(exc))

    @app.action(builders.GRANT_MODE_ACTION)
    async def grant(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        await decide(True, action, body, client)

    @app.action(builders.DENY_MODE_ACTION)
    async def deny(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        await decide(False, action, body, client)
