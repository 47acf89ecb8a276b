"""Approve / Deny on a Codex approval request: an approver (not the requester) decides, once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.codex_approval import ACTION_RE, APPROVE_ACTION, build_codex_approval, decode_request_value
from bot.effects.codex_approval import approval_view
from bot.services import codex_approvals
from bot.services.errors import ServiceError
from bot.services.unit import Actor
from handlers.actions.decisions import where
from handlers.common import call, tell

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
        user = body["user"]["id"]
        channel, _ts, thread_ts = where(body)
        try:
            request_id = decode_request_value(action.get("value", ""))
            row = await call(
                codex_approvals.decide,
                service=container.goals,
                request_id=request_id,
                actor=Actor(user, body.get("trigger_id")),
                approve=action.get("action_id") == APPROVE_ACTION,
            )
        except ValueError as exc:
            await tell(
                client, channel=channel, user=user, thread_ts=thread_ts, text=f"That button is broken: {exc}"
            )
            return
        except ServiceError as exc:
            await tell(client, channel=channel, user=user, thread_ts=thread_ts, text=str(exc))
            return
        goal = await call(container.goals.get, goal_id=row.goal_id)
        view = approval_view(row, goal)
        await respond(
            replace_original=True, text=f"Codex request {row.status}", blocks=build_codex_approval(view)
        )
