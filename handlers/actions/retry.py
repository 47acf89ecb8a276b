"""Retry on a failure message: re-run what failed (one effect, or every failed step of the goal)."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.blocks.failures import RETRY_ACTION, FailureRef, build_failure_done, decode_failure_value
from bot.deps import Deps
from bot.services.effects import effects_service
from handlers.actions.clicks import Button, Click, wire


async def settle(click: Click, goal_id: str, outcome: str) -> None:
    """Replace the failure message's buttons with what a person did, so it is not pressed twice."""
    if not click.channel or not click.ts:
        return
    section = next((b for b in click.message.get("blocks") or [] if b.get("type") == "section"), None)
    headline = str(((section or {}).get("text") or {}).get("text") or f"{goal_id}: a step failed")
    what = headline.split(":", 1)[-1].strip(" *").split("\n", 1)[0] or "a step failed"
    await click.client.chat_update(
        channel=click.channel, ts=click.ts, blocks=build_failure_done(goal_id, what, outcome), text=outcome
    )


async def retry_failure(click: Click, ref: FailureRef, deps: Deps) -> None:
    if ref.what == "effect" and ref.id is not None:
        scope: dict[str, Any] = {"effect_id": ref.id}
    elif ref.what == "job" and ref.id is not None:
        scope = {"job_id": ref.id}
    else:
        scope = {"goal_id": ref.goal_id}
    rows = await click.run(effects_service(deps).retry, actor=click.actor, **scope)
    if rows is not None:
        steps = "1 step" if len(rows) == 1 else f"{len(rows)} steps"
        await settle(click, ref.goal_id, f"🔁 <@{click.user}> pressed Retry: {steps} running again.")


def register(app: AsyncApp, deps: Deps) -> None:
    wire(app, Button(RETRY_ACTION, decode_failure_value, retry_failure))
