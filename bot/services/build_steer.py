"""Steer a running Codex build: a reply in the goal's thread becomes a follow-up instruction.

While a build runs, a reply in the goal's thread by the requester or an approver is sent to Codex
(`turn/steer`), which reads it at its next step, and the audit records it with its author. A reply by
anyone else is not sent; they are told so. Replies while no build runs are ordinary conversation.

A reply handled by a process that does not run the build is recorded undelivered; the process
running it picks it up within a second (`steers_waiting`, `WorkEffects._watch_stop`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from bot.codex import running
from bot.intake import clean
from bot.services.budgets import paused_at_budget
from bot.services.build_stop import is_building
from bot.services.unit import Actor, audit
from storage.db import read_session, transaction
from storage.models import Goal
from storage.repositories import AuditReads, Goals

if TYPE_CHECKING:
    from bot.services.goals import GoalService

STEERED = "build.steered"
MAX_STEER = 4000  # characters of one follow-up; the rest is cut, and the person told
SENT = "Sent to Codex as a follow-up instruction for {}: it reads it at its next step."
RECORDED = "Passed on to the build of {}: the process running it sends it to Codex within a few seconds."
PAUSED = (
    "The build of {} is paused at its budget, so nothing reads replies now: yours was not sent to "
    "Codex. An approver can raise the budget (the build then starts again) or stop the goal with the "
    "buttons in the thread."
)
NOT_YOURS = (
    "Only the requester or an approver of {} can steer its build: your reply was not sent to Codex. "
    "Ask one of them to reply in the thread."
)


@dataclass(frozen=True)
class Steer:
    goal: Goal
    outcome: str  # "sent" | "recorded" | "refused" | "paused"

    def reply(self) -> str:
        text = {"sent": SENT, "recorded": RECORDED, "refused": NOT_YOURS, "paused": PAUSED}[self.outcome]
        return text.format(self.goal.id)


def instruction(*, author: str, role: str, text: str) -> str:
    """What Codex reads: who said it, and what."""
    return f"Follow-up instruction from the goal's {role} (<@{author}>), sent while you work:\n{text}"


def goal_building_in_thread(service: GoalService, *, channel: str, thread_ts: str) -> Goal | None:
    """The goal whose thread this is, when its build is running (else None: nothing to steer)."""
    with read_session(service.engine) as session:
        goal = Goals(session).in_thread(channel_id=channel, thread_ts=thread_ts)
    return goal if goal is not None and is_building(goal) else None


def steer_build(service: GoalService, *, goal: Goal, actor: Actor, text: str) -> Steer:
    """Send `text` to the goal's running build as `actor`'s follow-up, or refuse it (not theirs)."""
    if actor.id == goal.requester:
        role = "requester"
    elif service.directory.is_approver(actor.id, repo=goal.repo):
        role = "approver"
    else:
        return Steer(goal, "refused")
    if paused_at_budget(service, goal.id):
        return Steer(goal, "paused")  # nothing runs to read it, and a raise starts the build afresh
    text = str(clean(text)).strip()[:MAX_STEER]
    message = instruction(author=actor.id, role=role, text=text)
    delivered = running.steer(goal.id, message, by=actor.id)
    with transaction(service.engine) as session:
        audit(
            session,
            actor=actor,
            action=STEERED,
            now=service.clock(),
            goal=Goals(session).get(goal.id),
            text=message,
            delivered=delivered,
        )
    return Steer(goal, "sent" if delivered else "recorded")


def steers_waiting(
    service: GoalService, *, goal_id: str, since: datetime, done: set[int]
) -> list[tuple[int, str, str]]:
    """Follow-ups recorded since `since` by a process not running the build, not yet in `done`:
    (seq, author, instruction)."""
    with read_session(service.engine) as session:
        rows = AuditReads(session).of_goal(goal_id=goal_id, actions=(STEERED,), since=since)
    waiting = []
    for entry in rows:
        payload = entry.payload_dict()
        if entry.seq is not None and entry.seq not in done and not payload.get("delivered"):
            waiting.append((int(entry.seq), entry.actor, str(payload.get("text") or "")))
    return waiting
