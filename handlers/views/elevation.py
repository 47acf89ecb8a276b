"""The elevated-mode modal: checked in the modal (errors next to the field), then recorded."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot import blocks as builders
from bot.services.elevation import ElevationService, check_request
from bot.services.errors import ServiceError
from bot.services.unit import Actor
from handlers.common import call

if TYPE_CHECKING:
    from bot.app import Container


def register(app: AsyncApp, container: Container) -> None:
    elevation = ElevationService.from_container(container)

    @app.view(builders.ELEVATE_MODAL)
    async def submitted(ack: AsyncAck, view: dict[str, Any], body: dict[str, Any]) -> None:
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
                elevation.request,
                goal_id=goal_id,
                mode=str(mode),
                justification=justification,
                actor=Actor(body["user"]["id"]),
            )
        except ServiceError as exc:
            await ack(response_action="errors", errors={"mode": str(exc)[:300]})
            return
        await ack()
