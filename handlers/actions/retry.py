"""Retry on a failure message: re-run what failed (one effect, or every failed step of the goal)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.failures import RETRY_ACTION, build_failure_done, decode_failure_value
from bot.services.effects import effects_service
from bot.services.errors import ServiceError
from bot.services.unit import Actor
from handlers.actions.decisions import where
from handlers.common import call, tell

if TYPE_CHECKING:
    from bot.app import Container

log = logging.getLogger(__name__)


async def settle(client: AsyncWebClient, body: dict[str, Any], goal_id: str, outcome: str) -> None:
    """Replace the failure message's buttons with what a person did, so it is not pressed twice."""
    channel, ts, _thread = where(body)
    if not channel or not ts:
        return
    section = next(
        (b for b in (body.get("message") or {}).get("blocks") or [] if b.get("type") == "section"), None
    )
    headline = str(((section or {}).get("text") or {}).get("text") or f"{goal_id}: a step failed")
    what = headline.split(":", 1)[-1].strip(" *").split("\n", 1)[0] or "a step failed"
    await client.chat_update(
        channel=channel, ts=ts, blocks=build_failure_done(goal_id, what, outcome), text=outcome
    )


def register(app: AsyncApp, container: Container) -> None:
    effects = effects_service(container)

    @app.action(RETRY_ACTION)
    async def retry(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        user = body["user"]["id"]
        channel, _ts, thread_ts = where(body)
        try:
            ref = decode_failure_value(action.get("value", ""))
            actor = Actor(user, body.get("trigger_id"))
            if ref.what == "effect" and ref.id is not None:
                rows = await call(effects.retry, actor=actor, effect_id=ref.id)
            elif ref.what == "job" and ref.id is not None:
                rows = await call(effects.retry, actor=actor, job_id=ref.id)
            else:
                rows = await call(effects.retry, actor=actor, goal_id=ref.goal_id)
        except ValueError as exc:
            await tell(
                client, channel=channel, user=user, thread_ts=thread_ts, text=f"That button is broken: {exc}"
            )
            return
        except ServiceError as exc:
            await tell(client, channel=channel, user=user, thread_ts=thread_ts, text=str(exc))
            return
        steps = "1 step" if len(rows) == 1 else f"{len(rows)} steps"
        await settle(client, body, ref.goal_id, f"🔁 <@{user}> pressed Retry: {steps} running again.")
