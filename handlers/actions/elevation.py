"""Elevated modes: the card's "Request elevated mode" button, and an approver's Grant / Deny."""

from __future__ import annotations

import json

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks as builders
from bot.deps import Deps
from bot.services.elevation import ElevationService
from bot.services.errors import ServiceError
from bot.services.origin import ClickedMessage
from bot.sop.phases import GoalState
from handlers.actions.clicks import Click, Payload
from handlers.common import call


async def request_elevation(
    ack: AsyncAck, action: Payload, body: Payload, client: AsyncWebClient, deps: Deps
) -> None:
    click = await Click.acked(ack, body, client)
    try:
        goal = await call(deps.goals.get, goal_id=str(action.get("value") or "")[:40])
    except ServiceError as exc:
        await click.tell(str(exc))
        return
    if goal.state != GoalState.ACTIVE:
        await click.tell(f"{goal.id} is {goal.state}; its mode no longer matters.")
        return
    meta = json.dumps({"goal": goal.id, "channel": click.channel})
    await click.open(builders.build_elevate_modal(goal.id, meta))


async def grant_mode(
    ack: AsyncAck, action: Payload, body: Payload, client: AsyncWebClient, deps: Deps
) -> None:
    await _decide(await Click.acked(ack, body, client), action, deps, grant=True)


async def deny_mode(
    ack: AsyncAck, action: Payload, body: Payload, client: AsyncWebClient, deps: Deps
) -> None:
    await _decide(await Click.acked(ack, body, client), action, deps, grant=False)


async def _decide(click: Click, action: Payload, deps: Deps, *, grant: bool) -> None:
    decoded = await click.decode(builders.decode_mode_value, action)
    if decoded is None:
        return
    request_id, goal_id = decoded
    await click.run(
        ElevationService.from_container(deps).decide,
        request_id=request_id,
        goal_id=goal_id,
        grant=grant,
        actor=click.actor,
        clicked=ClickedMessage(click.channel, click.ts, click.thread_ts),
    )


def register(app: AsyncApp, deps: Deps) -> None:
    app.action(builders.REQUEST_ELEVATION_ACTION)(request_elevation)
    app.action(builders.GRANT_MODE_ACTION)(grant_mode)
    app.action(builders.DENY_MODE_ACTION)(deny_mode)
