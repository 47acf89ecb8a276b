"""Approve / Request changes / Reject buttons, in a goal's thread or in a reminder DM."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks as builders
from bot.blocks.text import local_time
from bot.services.errors import ServiceError, StaleArtifact
from bot.services.gates import decisions_on
from bot.services.origin import ClickedMessage
from bot.services.threads import current_message
from bot.services.unit import Actor
from bot.sop.phases import Decision
from handlers.common import call, open_modal, tell

if TYPE_CHECKING:
    from bot.app import Container

log = logging.getLogger(__name__)


def where(body: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(channel, message ts, thread ts) of the clicked message."""
    container = body.get("container") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
    message = body.get("message") or {}
    thread_ts = message.get("thread_ts") or container.get("thread_ts")
    return channel, message.get("ts") or container.get("message_ts"), thread_ts


async def approve(
    ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient, deps: Container
) -> None:
    """Approve: `GoalService.decide` off the loop; a refusal is told to the clicker only."""
    await ack()
    user = body["user"]["id"]
    channel, ts, thread_ts = where(body)
    try:
        ref = builders.decode_button_value(action.get("value", ""))
        await call(
            deps.goals.decide,
            goal_id=ref.goal_id,
            phase=str(ref.phase.value),
            sha256=ref.sha256,
            decision=Decision.APPROVE,
            actor=Actor(user, body.get("trigger_id")),
            clicked=ClickedMessage(channel, ts, thread_ts),
        )
    except ValueError as exc:
        await tell(
            client, channel=channel, user=user, thread_ts=thread_ts, text=f"That button is broken: {exc}"
        )
    except StaleArtifact as exc:
        await tell(
            client,
            channel=channel,
            user=user,
            thread_ts=thread_ts,
            text=await stale_text(deps, client, ref, str(exc)),
        )
    except ServiceError as exc:
        await tell(client, channel=channel, user=user, thread_ts=thread_ts, text=str(exc))


async def request_changes(
    ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
) -> None:
    """Request changes: the feedback modal (`handlers/views/reasons.py` takes its submission)."""
    await ack()
    await open_reason_modal("feedback", action, body, client)


async def reject(ack: AsyncAck, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient) -> None:
    """Reject: the reason modal (`handlers/views/reasons.py` takes its submission)."""
    await ack()
    await open_reason_modal("reject", action, body, client)


async def stale_text(deps: Container, client: AsyncWebClient, ref: builders.ButtonRef, refusal: str) -> str:
    """Why the click changed nothing, with a link to what the goal shows now."""
    link = await current_link(deps, client, ref.goal_id)
    where_now = f" <{link}|Open the current version>." if link else ""
    taken = await call(decisions_on, engine=deps.engine, goal_id=ref.goal_id, sha256=ref.sha256)
    if taken:
        last = taken[-1]
        verb = {"approve": "approved", "request_changes": "sent back for changes", "reject": "rejected"}
        when = local_time(last.at, deps.settings.timezone)
        return (
            f"v{ref.version} was already {verb.get(last.decision, last.decision)} by <@{last.by}> at {when};"
            f" your click changed nothing.{where_now}"
        )
    return f"{refusal}{where_now}"


async def current_link(deps: Container, client: AsyncWebClient, goal_id: str) -> str | None:
    """A permalink to what the goal shows now (its newest artifact), for a stale click."""
    found = await call(current_message, engine=deps.engine, goal_id=goal_id)
    if found is None:
        return None
    try:
        resp = await client.chat_getPermalink(channel=found[0], message_ts=found[1])
    except SlackApiError:
        return None
    return str(resp.get("permalink") or "") or None


async def open_reason_modal(
    kind: str, action: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
) -> None:
    user = body["user"]["id"]
    channel, ts, thread_ts = where(body)
    try:
        ref = builders.decode_button_value(action.get("value", ""))
    except ValueError as exc:
        await tell(
            client, channel=channel, user=user, thread_ts=thread_ts, text=f"That button is broken: {exc}"
        )
        return
    meta = json.dumps({"value": action["value"], "channel": channel, "ts": ts, "thread_ts": thread_ts})
    build = builders.build_feedback_modal if kind == "feedback" else builders.build_reject_modal
    view = build(ref.goal_id, ref.phase, ref.version, ref.sha256, meta)
    await open_modal(
        client, trigger_id=body["trigger_id"], view=view, user=user, channel=channel, thread_ts=thread_ts
    )


def register(app: AsyncApp, container: Container) -> None:
    # The listeners get the container as `deps` (put in each request's context by bot.web.bolt).
    app.action("orch_approve")(approve)
    app.action("orch_request_changes")(request_changes)
    app.action("orch_reject")(reject)
