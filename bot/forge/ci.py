"""The goal's CI message: one message in its thread, edited in place as check results come in.

Like the progress message it is a courtesy: a Slack failure is logged and never fails the delivery.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.redact import redact
from bot.services.unit import Clock, add_effect
from bot.slack_guard import message_ts
from bot.sop.effect_kinds import UpdateCard
from storage.db import read_session, transaction
from storage.models import Goal, SlackMessage

log = logging.getLogger(__name__)
CI = "ci"


async def show_ci(engine: Any, slack: Any, clock: Clock, goal: Goal, text: str) -> None:
    with read_session(engine) as session:
        row = session.get(SlackMessage, (goal.id, CI))
    if row is not None and row.text == text:
        return
    text = redact(text)  # check names and links come from the Git host
    blocks = [{"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}]
    try:
        if row is None:
            resp = await slack.chat_postMessage(
                channel=goal.channel_id, thread_ts=goal.thread_ts, blocks=blocks, text=text
            )
            ts = message_ts(resp)
        else:
            await slack.chat_update(channel=row.channel, ts=row.ts, blocks=blocks, text=text)
            ts = row.ts
    except SlackApiError as exc:
        log.info("CI of %s not shown: %s", goal.id, exc.response.get("error"))
        return
    with transaction(engine) as session:
        stored = session.get(SlackMessage, (goal.id, CI))
        if stored is None:
            stored = SlackMessage(
                goal_id=goal.id, kind=CI, channel=str(goal.channel_id), ts=ts, updated_at=clock()
            )
        stored.text, stored.updated_at = text, clock()
        session.add(stored)
        # The card shows the CI line on the Implementation gate: redraw it once per new line.
        add_effect(
            session,
            key=f"card:{goal.id}:ci:{hashlib.sha256(text.encode()).hexdigest()[:16]}",
            goal_id=goal.id,
            now=clock(),
            payload=UpdateCard(),
        )
