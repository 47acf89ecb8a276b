"""Outbox effects for the scheduler's messages: DMs (reminders, warnings) and channel posts (digests).

Recorded in the same transaction as the reminder or digest row and its audit entry; the effects
dispatcher sends them after commit. Each message carries a marker block id, so a retry after a
crash finds the message already sent instead of sending it again.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.effects.port import Handler, payload_of
from bot.effects.retry import slack_error_code
from bot.redact import redact, redact_obj
from bot.services.unit import add_effect
from bot.sop.effect_kinds import ChannelPost, DirectMessage
from storage.models import Effect
from storage.sessions import Session

log = logging.getLogger(__name__)

DM_KIND = DirectMessage.KIND
POST_KIND = ChannelPost.KIND
# Slack errors after which sending again cannot help.
GIVE_UP = {
    "user_not_found",
    "cannot_dm_bot",
    "channel_not_found",
    "is_archived",
    "not_in_channel",
    "user_disabled",
    "account_inactive",
}


def add_notification(
    session: Session,
    *,
    key: str,
    goal_id: str | None,
    now: datetime,
    payload: DirectMessage | ChannelPost,
    not_before: datetime | None = None,
) -> bool:
    """Record a DM or a channel post; a duplicate key is a no-op.

    `not_before` holds a message back (quiet hours) while the decision itself is recorded now.
    """
    return add_effect(session, key=key, goal_id=goal_id, now=now, payload=payload, not_before=not_before)


def _marker(effect: Effect) -> str:
    return f"orch-n{effect.id}"


class Notifier:
    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    def handlers(self) -> dict[str, Handler]:
        return {DM_KIND: self.dm, POST_KIND: self.post}

    async def _already_sent(self, channel: str, thread_ts: str | None, mark: str) -> bool:
        try:
            if thread_ts:
                resp = await self.client.conversations_replies(channel=channel, ts=thread_ts, limit=200)
            else:
                resp = await self.client.conversations_history(channel=channel, limit=100)
        except SlackApiError as exc:
            # Only a channel we cannot read means "not sent"; any other refusal fails this attempt,
            # since sending without knowing would duplicate a message that landed during an outage.
            if (slack_error_code(exc) or "") in GIVE_UP:
                return False
            raise
        messages: Any = resp.get("messages", [])
        if not isinstance(messages, list):
            raise ValueError("Slack answered a history without messages")
        return any(
            isinstance(block, dict) and block.get("block_id") == mark
            for message in messages
            if isinstance(message, dict)
            for block in (message.get("blocks") or [])
        )

    async def _send(
        self,
        effect: Effect,
        message: DirectMessage | ChannelPost,
        channel: str,
        thread_ts: str | None = None,
        broadcast: bool = False,
    ) -> str | None:
        blocks = [dict(b) for b in message.blocks]
        text = message.text
        if not blocks:
            blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": text or "…"}}]
        mark = _marker(effect)
        blocks[0]["block_id"] = mark
        if effect.attempts > 1 and await self._already_sent(channel, thread_ts, mark):
            return None
        try:
            resp = await self.client.chat_postMessage(
                channel=channel,
                thread_ts=thread_ts,
                blocks=redact_obj(blocks),
                text=redact(text),
                reply_broadcast=broadcast or None,
            )
        except SlackApiError as exc:
            error = slack_error_code(exc) or ""
            if error in GIVE_UP:
                log.warning("cannot send %s to %s: %s", effect.key, channel, error)
                return None
            raise
        return str(resp["ts"])

    async def dm(self, effect: Effect) -> None:
        message = payload_of(effect, DirectMessage)
        user = message.user
        try:
            opened = await self.client.conversations_open(users=user)
        except SlackApiError as exc:
            if (slack_error_code(exc) or "") in GIVE_UP:
                log.warning("cannot open a DM with %s", user)
                return
            raise
        await self._send(effect, message, opened["channel"]["id"])

    async def post(self, effect: Effect) -> None:
        message = payload_of(effect, ChannelPost)
        channel = message.channel
        ts = await self._send(effect, message, channel, message.thread_ts, message.broadcast)
        file_text = message.file_text
        if ts and file_text:
            try:
                await self.client.files_upload_v2(
                    channel=channel,
                    thread_ts=ts,
                    content=redact(file_text),
                    filename=message.filename or "orch.md",
                    title=message.file_title or "Full list",
                )
            except SlackApiError:
                log.warning("upload for %s failed; the message stands", effect.key)


async def nowhere(_effect: Effect) -> None:
    """Without Slack (the CLI with no token), messages have nowhere to go."""
    return None


def dm_each(
    session: Session,
    *,
    key: str,
    goal_id: str,
    now: datetime,
    users: list[str],
    blocks: Any,
    text: str,
    not_before: datetime | None = None,
) -> None:
    """One DM per person, each idempotent by the notice's key and the person."""
    for user in users:
        add_notification(
            session,
            key=f"notify:{key}:{user}",
            goal_id=goal_id,
            now=now,
            not_before=not_before,
            payload=DirectMessage(user=user, blocks=blocks, text=text),
        )
