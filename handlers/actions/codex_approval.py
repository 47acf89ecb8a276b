"""Approve / Deny on a Codex approval request: an approver (not the requester) decides, once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.codex_approval import ACTION_RE, APPROVE_ACTION, build_codex_approval, decode_request_value
from bot.effects.codex_approval import approval_view
from bot.services import codex_approvals
from handlers.actions.clicks import Click
from handlers.common import call

if TYPE_CHECKING:
    from bot.app import Container


def register(app: AsyncApp, container: Container) -> None:
    @app.action(ACTION_RE)
    async def decide(
        ack: AsyncAck,
        action: dict[str, Any],
        body: dict[str, Any],
        client: AsyncWebClient,
        respond: AsyncRespond,
    ) -> None:
        await ack()
        click = Click.of(body, client)
        row = await click.attempt(
            lambda: call(
                codex_approvals.decide,
                service=container.goals,
                request_id=decode_request_value(action.get("value", "")),
                actor=click.actor,
                approve=action.get("action_id") == APPROVE_ACTION,
            )
        )
        if row is None:
            return
        goal = await call(container.goals.get, goal_id=row.goal_id)
        view = approval_view(row, goal)
        await respond(
            replace_original=True, text=f"Codex request {row.status}", blocks=build_codex_approval(view)
        )
