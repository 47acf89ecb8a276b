"""Elevated modes: the card's "Request elevated mode" button, and an approver's Grant / Deny."""

from __future__ import annotations

import json

from slack_bolt.async_app import AsyncApp

from bot import blocks as builders
from bot.deps import Deps
from bot.services.elevation import ElevationService
from bot.services.origin import ClickedMessage
from bot.sop.phases import GoalState
from handlers.actions.clicks import Button, Click, goal_id_value, wire


async def request_elevation(click: Click, goal_id: str, deps: Deps) -> None:
    goal = await click.run(deps.goals.get, goal_id=goal_id)
    if goal is None:
        return
    if goal.state != GoalState.ACTIVE:
        await click.tell(f"{goal.id} is {goal.state}; its mode no longer matters.")
        return
    meta = json.dumps({"goal": goal.id, "channel": click.channel})
    await click.open(builders.build_elevate_modal(goal.id, meta))


async def grant_mode(click: Click, request: tuple[int, str], deps: Deps) -> None:
    await _decide(click, request, deps, grant=True)


async def deny_mode(click: Click, request: tuple[int, str], deps: Deps) -> None:
    await _decide(click, request, deps, grant=False)


async def _decide(click: Click, request: tuple[int, str], deps: Deps, *, grant: bool) -> None:
    request_id, goal_id = request
    await click.run(
        ElevationService.from_container(deps).decide,
        request_id=request_id,
        goal_id=goal_id,
        grant=grant,
        actor=click.actor,
        clicked=ClickedMessage(click.channel, click.ts, click.thread_ts),
    )


def register(app: AsyncApp, deps: Deps) -> None:
    wire(
        app,
        Button(builders.REQUEST_ELEVATION_ACTION, goal_id_value, request_elevation),
        Button(builders.GRANT_MODE_ACTION, builders.decode_mode_value, grant_mode),
        Button(builders.DENY_MODE_ACTION, builders.decode_mode_value, deny_mode),
    )
