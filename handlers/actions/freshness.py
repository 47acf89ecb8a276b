"""Re-approve unchanged / Request changes, on a freshness reminder (thread or DM).

Re-approving records a new review date for the same sha256 (bot/services/reviews.py): audited,
committed with its trailers. Asking for changes of an approved artifact is said in the goal's
thread, to its requester, and audited; the artifact then goes stale unless it is re-approved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks as builders
from bot.blocks.freshness import REAFFIRM_ACTION, REVIEW_CHANGES_ACTION
from bot.services.errors import ServiceError
from bot.services.reviews import ask_for_changes, reaffirm
from bot.services.unit import Actor
from bot.sop.phases import LABELS
from handlers.actions.decisions import where
from handlers.common import call, tell

if TYPE_CHECKING:
    from bot.app import Container


def register(app: AsyncApp, container: Container) -> None:
    async def answer(body: dict[str, Any], client: AsyncWebClient, text: str) -> None:
        channel, _ts, thread_ts = where(body)
        await tell(client, channel=channel, user=body["user"]["id"], thread_ts=thread_ts, text=text)

    @app.action(REAFFIRM_ACTION)
    async def reapprove(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        try:
            ref = builders.decode_button_value(action.get("value", ""))
            done = await call(
                reaffirm,
                goals=container.goals,
                goal_id=ref.goal_id,
                actor=Actor(body["user"]["id"], body.get("trigger_id")),
                phases=[ref.phase.value],
                sha256=ref.sha256,
            )
        except ValueError as exc:
            await answer(body, client, f"That button is broken: {exc}")
            return
        except ServiceError as exc:
            await answer(body, client, str(exc))
            return
        names = ", ".join(f"{LABELS[ref.phase]} v{r.version}" for r in done)
        await answer(body, client, f"{ref.goal_id}: {names} re-approved unchanged; its review date is today.")

    @app.action(REVIEW_CHANGES_ACTION)
    async def changes(
        ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await ack()
        try:
            ref = builders.decode_button_value(action.get("value", ""))
            await call(
                ask_for_changes,
                goals=container.goals,
                goal_id=ref.goal_id,
                phase=ref.phase.value,
                sha256=ref.sha256,
                actor=Actor(body["user"]["id"], body.get("trigger_id")),
            )
        except ValueError as exc:
            await answer(body, client, f"That button is broken: {exc}")
            return
        except ServiceError as exc:
            await answer(body, client, str(exc))
            return
        await answer(body, client, f"{ref.goal_id}: your request for changes is in the goal's thread.")
