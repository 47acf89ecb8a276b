"""Small helpers shared by listeners: run a service off the event loop, tell one person."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from typing import Any, TypeVar

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.effects.retry import slack_error_code
from bot.sop.ids import GOAL_ID

log = logging.getLogger(__name__)
T = TypeVar("T")


# Listeners that open a modal after their ack need Slack's trigger_id, which lives 3 seconds. When a
# web process and a worker process run apart, the web process runs these whole itself instead of
# leaving them to the worker (bot.web.bolt_runner). Keep in step with every `open_modal` call below.
MODAL_ACTIONS = frozenset(
    {
        "orch_request_changes",
        "orch_reject",
        "orch_request_elevation",
        "orch_draft_request_changes",  # handlers/actions/work_failure.py
        "orch_build_request_changes",
        "orch_conflict_changes",  # handlers/actions/conflict_changes.py
        "orch_budget_raise",  # handlers/actions/budget_raise.py
    }
)


def runs_in_web(body: dict[str, Any]) -> bool:
    """Does this request open a modal after its ack (and so must not wait for the worker)?"""
    kind = body.get("type")
    if kind == "block_actions":
        return any((a or {}).get("action_id") in MODAL_ACTIONS for a in body.get("actions") or [])
    if "command" in body:  # `/orch start` with no brief opens the start form
        text = str(body.get("text") or "").strip().lower()
        return text == "start"
    return False


_GOAL_ID = re.compile(rf"\b{GOAL_ID}\b", re.IGNORECASE)


def ordering_key(body: dict[str, Any]) -> str | None:
    """What a request left to the worker must run in order with: its goal, else its thread.

    Workers run requests of one key one at a time, in the order Slack's answers were given
    (storage.inbox). A goal is found where requests name one (a button's value, a modal's
    metadata, a slash command's text); a message in a thread is keyed by the thread. Anything else
    (help, a new goal's start) has no key and runs in no particular order.
    """
    texts = [str((a or {}).get("value") or "") for a in body.get("actions") or []]
    view = body.get("view")
    if isinstance(view, dict):
        texts.append(str(view.get("private_metadata") or ""))
    if "command" in body:
        texts.append(str(body.get("text") or ""))
    for found in (_GOAL_ID.search(t) for t in texts):
        if found:
            return f"goal:{found.group(0).upper()}"
    event: dict[str, Any] = body.get("event") if isinstance(body.get("event"), dict) else {}  # type: ignore[assignment]
    container: dict[str, Any] = body.get("container") if isinstance(body.get("container"), dict) else {}  # type: ignore[assignment]
    channel = event.get("channel") or container.get("channel_id")
    thread = event.get("thread_ts") or container.get("thread_ts")
    if channel and thread:
        return f"thread:{channel}:{thread}"[:200]
    return None


async def call(fn: Callable[..., T], /, **kwargs: Any) -> T:
    """Services do blocking database and git work: keep it off the event loop."""
    return await asyncio.to_thread(fn, **kwargs)


async def tell(
    client: AsyncWebClient, *, channel: str | None, user: str, text: str, thread_ts: str | None = None
) -> None:
    """An ephemeral message to one person; falls back to a DM when the channel refuses it."""
    try:
        if channel:
            await client.chat_postEphemeral(channel=channel, user=user, text=text, thread_ts=thread_ts)
            return
    except SlackApiError as exc:
        log.info("ephemeral to %s in %s failed (%s); sending a DM", user, channel, slack_error_code(exc))
    try:
        opened = await client.conversations_open(users=user)
        await client.chat_postMessage(channel=opened["channel"]["id"], text=text)
    except SlackApiError:
        log.warning("could not reach %s", user)


async def open_modal(
    client: AsyncWebClient,
    *,
    trigger_id: str,
    view: Any,
    user: str,
    channel: str | None,
    thread_ts: str | None = None,
) -> bool:
    """Open a modal; when Slack refuses (a trigger lives 3 seconds and is used once), say so to the person."""
    try:
        await client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as exc:
        log.warning("views.open for %s failed (%s)", user, slack_error_code(exc))
        await tell(
            client,
            channel=channel,
            user=user,
            thread_ts=thread_ts,
            text="Slack did not let me open the form in time. Please click (or type the command) again.",
        )
        return False
    return True
