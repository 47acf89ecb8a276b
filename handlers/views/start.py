"""The start-goal modal: validate in the modal (errors next to the field), then start the goal."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks as builders
from bot.deps import Deps
from bot.services.dedupe import first_time
from bot.services.errors import InvalidInput, ServiceError
from bot.services.goals import MAX_BRIEF
from bot.services.unit import Actor
from handlers.common import call, tell


async def start_submitted(
    ack: AsyncAck, view: dict[str, Any], body: dict[str, Any], client: AsyncWebClient, deps: Deps
) -> None:
    values = builders.parse_view_values(view.get("state", {}).get("values", {}))
    title = str(values.get("title") or "").strip()
    brief = str(values.get("brief") or "").strip()
    errors: dict[str, str] = {}
    if not brief:
        errors["brief"] = "Say what should be built."
    elif len(brief) > MAX_BRIEF:
        errors["brief"] = f"Keep the brief under {MAX_BRIEF} characters."
    if len(title) > 120:
        errors["title"] = "Keep the title under 120 characters."
    approvers = [str(u) for u in (values.get("approvers") or [])]
    chosen_repo = str(values.get("repo") or "") or None
    outsiders = [u for u in approvers if not deps.directory.is_approver(u, repo=chosen_repo)]
    if outsiders:
        errors["approvers"] = "Not approvers here: " + ", ".join(f"<@{u}>" for u in outsiders)
    if errors:
        await ack(response_action="errors", errors=errors)
        return
    await ack()
    # An accepted view is submitted once: the same view id and hash again is a resend, not a new goal.
    if isinstance(view.get("id"), str) and not await call(
        first_time,
        engine=deps.engine,
        key=f"view:{view['id']}:{view.get('hash')}",
        now=deps.clock(),
    ):
        return
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        meta = {}
    channel = meta.get("channel") if isinstance(meta, dict) else None
    user = body["user"]["id"]
    try:
        await call(
            deps.goals.start_goal,
            brief=brief,
            title=title or None,
            actor=Actor(user),
            channel_id=channel,
            source="modal",
            approvers=approvers,
            priority=str(values.get("priority") or "medium"),
            repo=chosen_repo,
        )
    except (InvalidInput, ServiceError) as exc:
        await tell(client, channel=channel, user=user, text=str(exc))


def register(app: AsyncApp, deps: Deps) -> None:
    app.view("orch_start_modal")(start_submitted)
