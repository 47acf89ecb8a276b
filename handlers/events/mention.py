"""`@orch start` in a channel or thread, messages in the bot's DM, and replies in a goal's thread while
its build runs (handlers/events/thread_reply.py). Retries change nothing twice."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext, AsyncSay
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks as builders
from bot.deps import Deps
from bot.effects.retry import slack_error_code
from bot.services.dedupe import first_time
from bot.services.errors import ServiceError
from bot.services.unit import Actor
from handlers.common import call, tell
from handlers.events.thread_reply import thread_reply
from handlers.threads import start_from_thread

log = logging.getLogger(__name__)
MENTION_RE = re.compile(r"<@[A-Z0-9]+>")


async def once(deps: Deps, body: dict[str, Any]) -> bool:
    """Is this the first delivery of the event? Slack retries an event it thinks was not received."""
    event_id = body.get("event_id")
    if not event_id:
        return True
    return await call(first_time, engine=deps.engine, key=f"event:{event_id}", now=deps.clock())


async def mentioned(
    event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext, deps: Deps
) -> None:
    if not await once(deps, body):
        return
    text = MENTION_RE.sub("", event.get("text") or "").strip()
    sub, _, rest = text.partition(" ")
    user, channel = event.get("user"), event.get("channel")
    if not user or not channel:
        return
    if sub.lower() != "start":
        await tell(
            client,
            channel=channel,
            user=user,
            thread_ts=event.get("thread_ts"),
            text="Mention me with `start` to turn this thread into a goal.\n\n" + builders.build_help_text(),
        )
        return
    thread_ts = event.get("thread_ts")
    try:
        if thread_ts:
            await start_from_thread(
                deps,
                client,
                channel=channel,
                thread_ts=thread_ts,
                user=user,
                bot_user=context.bot_user_id,
                ask=rest,
                source="mention",
                skip_ts={str(event.get("ts"))},
            )
        elif rest:
            await call(
                deps.goals.start_goal, brief=rest, actor=Actor(user), channel_id=channel, source="mention"
            )
        else:
            await tell(client, channel=channel, user=user, text="Say what to build: `@orch start <brief>`.")
    except ServiceError as exc:
        await tell(client, channel=channel, user=user, thread_ts=thread_ts, text=str(exc))


async def direct_message(
    event: dict[str, Any], body: dict[str, Any], say: AsyncSay, client: AsyncWebClient, deps: Deps
) -> None:
    if event.get("bot_id") or event.get("subtype"):
        return
    if event.get("channel_type") != "im":
        if event.get("thread_ts") and await once(deps, body):
            await thread_reply(deps, client, event)  # a reply steering a running build
        return
    if not await once(deps, body):
        return
    try:
        await say(
            text="I work in channels: `/orch start <brief>` there starts a goal.\n\n"
            + builders.build_help_text()
        )
    except SlackApiError as exc:  # a DM Slack will not let us answer in: nothing else to do
        log.warning("could not answer a DM from %s (%s)", event.get("user"), slack_error_code(exc))


def register(app: AsyncApp, deps: Deps) -> None:
    app.event("app_mention")(mentioned)
    app.event("message")(direct_message)
