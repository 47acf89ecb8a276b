"""Where a decision was clicked: it counts only on a message that shows the artifact it names.

A button value names a goal and an artifact version; Slack sends it back together with the message
it sits on (channel and ts). Both come from the same request, so one is checked against the other
and against what the bot stored when it posted: the artifact's own message in the goal's thread, or
a reminder about that version (a DM to one of its recipients, or the escalation in the thread).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from bot.services.errors import WrongMessage
from storage.jobs_models import Reminder
from storage.models import Artifact, Goal


@dataclass(frozen=True)
class ClickedMessage:
    """The message a Slack decision came from, as Slack reported it."""

    channel: str | None
    ts: str | None
    thread_ts: str | None = None


def check_origin(
    session: Session, goal: Goal, sha256: str | None, clicked: ClickedMessage, actor_id: str
) -> None:
    """Raise WrongMessage unless `clicked` is a message the bot posted for this artifact version."""
    if not sha256 or not clicked.channel or not clicked.ts:
        raise WrongMessage(goal.id)
    artifacts = session.exec(
        select(Artifact).where(Artifact.goal_id == goal.id, Artifact.sha256 == sha256)
    ).all()
    in_thread = (
        clicked.channel == goal.channel_id
        and goal.thread_ts is not None
        and clicked.thread_ts == goal.thread_ts
    )
    for artifact in artifacts:
        if clicked.channel == goal.channel_id and artifact.message_ts == clicked.ts:
            return
        # Posted, but its ts is not stored yet (the click beat the bookkeeping): the goal's thread will do.
        if artifact.message_ts is None and in_thread:
            return
        for reminder in session.exec(
            select(Reminder).where(
                Reminder.goal_id == goal.id,
                Reminder.phase == artifact.phase,
                Reminder.version == artifact.version,
            )
        ).all():
            to = reminder.recipients or []
            if in_thread and goal.channel_id in to:  # the escalation posted in the thread
                return
            if clicked.channel.startswith("D") and actor_id in to:  # a reminder DM to this person
                return
    raise WrongMessage(goal.id)


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
