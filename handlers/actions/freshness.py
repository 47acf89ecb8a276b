"""Re-approve unchanged / Request changes, on a freshness reminder (thread or DM).

Re-approving records a new review date for the same sha256 (bot/services/reviews.py): audited,
committed with its trailers. Asking for changes of an approved artifact is said in the goal's
thread, to its requester, and audited; the artifact then goes stale unless it is re-approved.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.blocks import ButtonRef, decode_button_value
from bot.blocks.freshness import REAFFIRM_ACTION, REVIEW_CHANGES_ACTION
from bot.deps import Deps
from bot.services.reviews import ask_for_changes, reaffirm
from bot.sop.phases import LABELS
from handlers.actions.clicks import Button, Click, wire


async def reapprove(click: Click, ref: ButtonRef, deps: Deps) -> None:
    phases = [ref.phase.value]
    done = await click.run(
        reaffirm, goals=deps.goals, goal_id=ref.goal_id, actor=click.actor, phases=phases, sha256=ref.sha256
    )
    if done is not None:
        names = ", ".join(f"{LABELS[ref.phase]} v{r.version}" for r in done)
        await click.tell(f"{ref.goal_id}: {names} re-approved unchanged; its review date is today.")


async def ask_review_changes(click: Click, ref: ButtonRef, deps: Deps) -> None:
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
    wire(
        app,
        Button(REAFFIRM_ACTION, decode_button_value, reapprove),
        Button(REVIEW_CHANGES_ACTION, decode_button_value, ask_review_changes),
    )
