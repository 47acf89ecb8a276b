"""Retry on a failure message: re-run what failed (one effect, or every failed step of the goal)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.failures import RETRY_ACTION, build_failure_done, decode_failure_value
from bot.services.effects import effects_service
from handlers.actions.clicks import Click
from handlers.actions.decisions import where
from handlers.common import call

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
        click = Click.of(body, client)
        ref = await click.decode(decode_failure_value, action)
        if ref is None:
            return
        if ref.what == "effect" and ref.id is not None:
            scope: dict[str, Any] = {"effect_id": ref.id}
        elif ref.what == "job" and ref.id is not None:
            scope = {"job_id": ref.id}
        else:
            scope = {"goal_id": ref.goal_id}
        rows = await click.attempt(lambda: call(effects.retry, actor=click.actor, **scope))
        if rows is None:
            return
        steps = "1 step" if len(rows) == 1 else f"{len(rows)} steps"
        await settle(client, body, ref.goal_id, f"🔁 <@{click.user}> pressed Retry: {steps} running again.")
