"""Re-approve unchanged / Request changes, on a freshness reminder (thread or DM).

Re-approving records a new review date for the same sha256 (bot/services/reviews.py): audited,
committed with its trailers. Asking for changes of an approved artifact is said in the goal's
thread, to its requester, and audited; the artifact then goes stale unless it is re-approved.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks as builders
from bot.blocks.freshness import REAFFIRM_ACTION, REVIEW_CHANGES_ACTION
from bot.deps import Deps
from bot.services.reviews import ask_for_changes, reaffirm
from bot.sop.phases import LABELS
from handlers.actions.clicks import Click, Payload


async def reapprove(
    ack: AsyncAck, action: Payload, body: Payload, client: AsyncWebClient, deps: Deps
) -> None:
    click = await Click.acked(ack, body, client)
    ref = await click.decode(builders.decode_button_value, action)
    if ref is None:
        return
    done = await click.run(
        reaffirm,
        goals=deps.goals,
        goal_id=ref.goal_id,
        actor=click.actor,
        phases=[ref.phase.value],
        sha256=ref.sha256,
    )
    if done is not None:
        names = ", ".join(f"{LABELS[ref.phase]} v{r.version}" for r in done)
        await click.tell(f"{ref.goal_id}: {names} re-approved unchanged; its review date is today.")


async def ask_review_changes(
    ack: AsyncAck, action: Payload, body: Payload, client: AsyncWebClient, deps: Deps
) -> None:
    click = await Click.acked(ack, body, client)
    ref = await click.decode(builders.decode_button_value, action)
    if ref is None:
        return
    if await click.did(
        ask_for_changes,
        goals=deps.goals,
        goal_id=ref.goal_id,
        phase=ref.phase.value,
        sha256=ref.sha256,
        actor=click.actor,
    ):
        await click.tell(f"{ref.goal_id}: your request for changes is in the goal's thread.")


def register(app: AsyncApp, deps: Deps) -> None:
    app.action(REAFFIRM_ACTION)(reapprove)
    app.action(REVIEW_CHANGES_ACTION)(ask_review_changes)
