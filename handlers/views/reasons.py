"""Feedback (request changes) and reject-reason modals."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks as builders
from bot.deps import Deps
from bot.services.errors import ServiceError
from bot.services.origin import ClickedMessage
from bot.services.unit import Actor
from bot.sop.phases import Decision
from handlers.common import call, tell

MAX_REASON = 3000


def _text(value: Any) -> str | None:
    """A string from the modal's metadata, or None (the metadata came back from Slack: untrusted)."""
    return value if isinstance(value, str) else None


async def decide(
    ack: AsyncAck,
    view: dict[str, Any],
    body: dict[str, Any],
    client: AsyncWebClient,
    deps: Deps,
    field: str,
    decision: Decision,
) -> None:
    values = builders.parse_view_values(view.get("state", {}).get("values", {}))
    reason = str(values.get(field) or "").strip()
    if not reason:
        await ack(response_action="errors", errors={field: "Please write a few words."})
        return
    if len(reason) > MAX_REASON:
        await ack(response_action="errors", errors={field: f"Keep it under {MAX_REASON} characters."})
        return
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
        ref = builders.decode_button_value(meta["value"])
    except (ValueError, KeyError, TypeError):
        await ack(
            response_action="errors", errors={field: "This form is out of date; click the button again."}
        )
        return
    await ack()
    user = body["user"]["id"]
    try:
        await call(
            deps.goals.decide,
            goal_id=ref.goal_id,
            phase=str(ref.phase.value),
            sha256=ref.sha256,
            decision=decision,
            actor=Actor(user),
            reason=reason,
            clicked=ClickedMessage(
                _text(meta.get("channel")), _text(meta.get("ts")), _text(meta.get("thread_ts"))
            ),
        )
    except ServiceError as exc:
        await tell(
            client, channel=meta.get("channel"), user=user, thread_ts=meta.get("thread_ts"), text=str(exc)
        )


async def feedback_submitted(
    ack: AsyncAck, view: dict[str, Any], body: dict[str, Any], client: AsyncWebClient, deps: Deps
) -> None:
    """Request changes, with the person's feedback (the modal of handlers/actions/decisions.py)."""
    await decide(ack, view, body, client, deps, "feedback", Decision.REQUEST_CHANGES)


async def reject_submitted(
    ack: AsyncAck, view: dict[str, Any], body: dict[str, Any], client: AsyncWebClient, deps: Deps
) -> None:
    """Reject, with the person's reason."""
    await decide(ack, view, body, client, deps, "reason", Decision.REJECT)


def register(app: AsyncApp, deps: Deps) -> None:
    app.view("orch_feedback_modal")(feedback_submitted)
    app.view("orch_reject_modal")(reject_submitted)
