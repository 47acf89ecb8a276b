"""Approve / Deny on a Codex approval request: an approver (not the requester) decides, once."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.blocks.codex_approval import ACTION_RE, APPROVE_ACTION, build_codex_approval, decode_request_value
from bot.deps import Deps
from bot.effects.codex_approval import approval_view
from bot.services import codex_approvals
from handlers.actions.clicks import Button, Click, wire
from handlers.common import call


async def decide_codex_request(click: Click, request_id: str, deps: Deps) -> None:
    approve = click.action.get("action_id") == APPROVE_ACTION
    row = await click.run(
        codex_approvals.decide, service=deps.goals, request_id=request_id, actor=click.actor, approve=approve
    )
    if row is not None and click.respond is not None:
        view = approval_view(row, await call(deps.goals.get, goal_id=row.goal_id))
        await click.respond(
            replace_original=True, text=f"Codex request {row.status}", blocks=build_codex_approval(view)
        )


def register(app: AsyncApp, deps: Deps) -> None:
    wire(app, Button(ACTION_RE, decode_request_value, decide_codex_request))
