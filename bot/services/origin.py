"""Where a decision was clicked: it counts only on a message that shows the artifact it names.

A button value names a goal and an artifact version; Slack sends it back together with the message
it sits on (channel and ts). Both come from the same request, so one is checked against the other
and against what the bot stored when it posted: the artifact's own message in the goal's thread, or
a reminder about that version (a DM to one of its recipients, or the escalation in the thread).
"""

from __future__ import annotations

from bot.services.errors import WrongMessage
from bot.sop.gates import Click, Posted
from storage.models import Goal
from storage.repositories import Artifacts, Reminders
from storage.sessions import Session

# The message a Slack decision came from, as Slack reported it (the rule reads it as `Click`).
ClickedMessage = Click


def posted_for(session: Session, goal_id: str, sha256: str | None) -> list[Posted]:
    """Where each version with this sha256 was shown: its message and the reminders about it.

    `bot.sop.gates.shown_on` decides from these whether a click counts."""
    if not sha256:
        return []
    reminders = Reminders(session)
    return [
        Posted(a.message_ts, tuple(reminders.recipients_for(goal_id, a.phase, a.version)))
        for a in Artifacts(session).with_sha(goal_id, sha256)
    ]


def check_post_origin(goal: Goal, message_ts: str | None, clicked: ClickedMessage) -> None:
    """Raise WrongMessage unless `clicked` is the goal's message at `message_ts` (one posted for it,
    such as an elevated-mode request); before its ts is stored, the goal's thread will do."""
    if not clicked.channel or not clicked.ts or clicked.channel != goal.channel_id:
        raise WrongMessage(goal.id)
    if message_ts == clicked.ts:
        return
    if message_ts is None and goal.thread_ts is not None and clicked.thread_ts == goal.thread_ts:
        return
    raise WrongMessage(goal.id)
