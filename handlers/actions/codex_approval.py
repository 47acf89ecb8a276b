"""Approve / Deny on a Codex approval request: an approver (not the requester) decides, once."""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.codex_approval import ACTION_RE, APPROVE_ACTION, build_codex_approval, decode_request_value
from bot.deps import Deps
from bot.effects.codex_approval import approval_view
from bot.services import codex_approvals
from handlers.actions.clicks import Click, Payload
from handlers.common import call


async def decide_codex_request(
    ack: AsyncAck, action: Payload, body: Payload, client: AsyncWebClient, respond: AsyncRespond, deps: Deps
) -> None:
    click = await Click.acked(ack, body, client)
    request_id = await click.decode(decode_request_value, action)
    if request_id is None:
        return
    approve = action.get("action_id") == APPROVE_ACTION
    row = await click.run(
        codex_approvals.decide, service=deps.goals, request_id=request_id, actor=click.actor, approve=approve
    )
    if row is not None:
        view = approval_view(row, await call(deps.goals.get, goal_id=row.goal_id))
        await respond(
            replace_original=True, text=f"Codex request {row.status}", blocks=build_codex_approval(view)
        )


def register(app: AsyncApp, deps: Deps) -> None:
    app.action(ACTION_RE)(decide_codex_request)
