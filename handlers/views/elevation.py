"""The elevated-mode modal: checked in the modal (errors next to the field), then recorded."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot import blocks as builders
from bot.deps import Deps
from bot.services.elevation import ElevationService, check_request
from bot.services.errors import ServiceError
from bot.services.unit import Actor
from handlers.common import call


async def elevation_submitted(ack: AsyncAck, view: dict[str, Any], body: dict[str, Any], deps: Deps) -> None:
    values = builders.parse_view_values(view.get("state", {}).get("values", {}))
    mode, justification = values.get("mode"), str(values.get("justification") or "")
    problems = check_request(mode, justification)
    if problems:
        await ack(response_action="errors", errors=problems)
        return
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
        goal_id = str(meta["goal"])
    except (ValueError, KeyError, TypeError):
        await ack(
            response_action="errors", errors={"mode": "This form is out of date; click the button again."}
        )
        return
    # Recorded before the ack (one quick transaction), so a refusal shows in the modal itself.
    try:
        await call(
            ElevationService.from_container(deps).request,
            goal_id=goal_id,
            mode=str(mode),
            justification=justification,
            actor=Actor(body["user"]["id"]),
        )
    except ServiceError as exc:
        await ack(response_action="errors", errors={"mode": str(exc)[:300]})
        return
    await ack()


def register(app: AsyncApp, deps: Deps) -> None:
    app.view(builders.ELEVATE_MODAL)(elevation_submitted)
