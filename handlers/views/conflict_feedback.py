"""The Request changes modal of a merge-conflict message: rebuild the task with a person's notes."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks as builders
from bot.blocks.conflicts import CONFLICT_FEEDBACK_MODAL, decode_conflict_value
from bot.services.errors import ServiceError
from bot.services.merges import rebuild_after_conflict
from bot.services.unit import Actor
from handlers.common import call, tell

if TYPE_CHECKING:
    from bot.app import Container

MAX_FEEDBACK = 3000


def register(app: AsyncApp, container: Container) -> None:
    @app.view(CONFLICT_FEEDBACK_MODAL)
    async def submitted(
        ack: AsyncAck, view: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        values = builders.parse_view_values(view.get("state", {}).get("values", {}))
        feedback = str(values.get("feedback") or "").strip()
        if not feedback:
            await ack(response_action="errors", errors={"feedback": "Please write a few words."})
            return
        if len(feedback) > MAX_FEEDBACK:
            await ack(
                response_action="errors", errors={"feedback": f"Keep it under {MAX_FEEDBACK} characters."}
            )
            return
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
            goal_id, task_id, _version = decode_conflict_value(str(meta["value"]))
        except (ValueError, KeyError, TypeError):
            await ack(
                response_action="errors",
                errors={"feedback": "This form is out of date; click the button again."},
            )
            return
        await ack()
        user = body["user"]["id"]
        try:
            await call(
                rebuild_after_conflict,
                service=container.goals,
                goal_id=goal_id,
                task_id=task_id,
                actor=Actor(user),
                feedback=feedback,
            )
        except ServiceError as exc:
            await tell(
                client, channel=meta.get("channel"), user=user, thread_ts=meta.get("thread_ts"), text=str(exc)
            )
