"""Approve / Request changes / Reject buttons, in a goal's thread or in a reminder DM."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks as builders
from bot.blocks.text import local_time
from bot.deps import Deps
from bot.services.errors import ServiceError, StaleArtifact
from bot.services.gates import decisions_on
from bot.services.origin import ClickedMessage
from bot.services.threads import current_message
from bot.sop.phases import Decision
from handlers.actions.clicks import Click, Payload
from handlers.common import call

log = logging.getLogger(__name__)


async def approve(ack: AsyncAck, action: Payload, body: Payload, client: AsyncWebClient, deps: Deps) -> None:
    """Approve: `GoalService.decide` off the loop; a refusal is told to the clicker only."""
    click = await Click.acked(ack, body, client)
    ref = await click.decode(builders.decode_button_value, action)
    if ref is None:
        return
    try:
        await call(
            deps.goals.decide,
            goal_id=ref.goal_id,
            phase=str(ref.phase.value),
            sha256=ref.sha256,
            decision=Decision.APPROVE,
            actor=click.actor,
            clicked=ClickedMessage(click.channel, click.ts, click.thread_ts),
        )
    except StaleArtifact as exc:
        await click.tell(await stale_text(deps, client, ref, str(exc)))
    except ServiceError as exc:
        await click.tell(str(exc))


async def request_changes(ack: AsyncAck, action: Payload, body: Payload, client: AsyncWebClient) -> None:
    """Request changes: the feedback modal (`handlers/views/reasons.py` takes its submission)."""
    await open_reason_modal(await Click.acked(ack, body, client), builders.build_feedback_modal, action)


async def reject(ack: AsyncAck, action: Payload, body: Payload, client: AsyncWebClient) -> None:
    """Reject: the reason modal (`handlers/views/reasons.py` takes its submission)."""
    await open_reason_modal(await Click.acked(ack, body, client), builders.build_reject_modal, action)


async def stale_text(deps: Deps, client: AsyncWebClient, ref: builders.ButtonRef, refusal: str) -> str:
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


async def current_link(deps: Deps, client: AsyncWebClient, goal_id: str) -> str | None:
    """A permalink to what the goal shows now (its newest artifact), for a stale click."""
    found = await call(current_message, engine=deps.engine, goal_id=goal_id)
    if found is None:
        return None
    try:
        resp = await client.chat_getPermalink(channel=found[0], message_ts=found[1])
    except SlackApiError:
        return None
    return str(resp.get("permalink") or "") or None


async def open_reason_modal(click: Click, build: Callable[..., Any], action: Payload) -> None:
    ref = await click.decode(builders.decode_button_value, action)
    if ref is None:
        return
    meta = json.dumps(
        {"value": action["value"], "channel": click.channel, "ts": click.ts, "thread_ts": click.thread_ts}
    )
    await click.open(build(ref.goal_id, ref.phase, ref.version, ref.sha256, meta))


def register(app: AsyncApp, deps: Deps) -> None:
    # Every listener gets the typed dependencies as `deps` (put in each request's context by bot.web.bolt).
    app.action("orch_approve")(approve)
    app.action("orch_request_changes")(request_changes)
    app.action("orch_reject")(reject)
