"""An effect that finally failed is said in its goal's thread, once, with Retry and Cancel.

The dispatcher calls `record_failure` in the transaction that marks the effect failed: an audit
entry and a `notify.failure` effect. That effect belongs to no goal on purpose: the failed effect
holds back its goal's later effects, and the message saying so must not wait behind it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from slack_sdk.errors import SlackApiError

from bot.blocks.failures import FailureRef, build_failure_message
from bot.effects.port import FAILURE_NOTE, Handler, RetryLater, SlackPort, payload_of
from bot.services.unit import Actor, add_effect, audit
from bot.sop.effect_kinds import Build, Draft, FailureNote, FailureRetry, MalformedPayload, Merge, read_back
from storage.db import read_session
from storage.models import Effect, Goal
from storage.sessions import Session

log = logging.getLogger(__name__)

_WHAT: dict[str, str] = {
    "slack.post_card": "posting the goal's card",
    "slack.update_card": "updating the goal's card",
    "slack.post_artifact": "posting an artifact for review",
    "slack.mark_decided": "showing a decision on its message",
    "slack.thread_note": "posting a note in the thread",
    "slack.status": "updating the progress message",
    "slack.post_mode_request": "posting a mode request",
    "slack.mark_mode_decided": "showing a mode decision",
    "repo.publish_artifact": "committing an approved artifact",
    "repo.publish_state": "committing the goal's state",
    "repo.apply_scaffold": "committing the scaffold",
    "repo.merge": "merging a task",
    "repo.remove_worktree": "removing the goal's worktree",
    "draft": "drafting",
    "build": "building a task",
}


def describe(effect: Effect) -> str:
    """What the effect does, in words a person reads in the thread."""
    what = _WHAT.get(effect.kind, effect.kind)
    try:
        payload = read_back(effect.kind, effect.payload or {})
    except MalformedPayload:
        return what  # the row does not fit its kind (perhaps why it failed): its kind's words only
    if isinstance(payload, (Merge, Build)) and "task_id" in payload.model_fields_set:
        what = f"{what.removesuffix(' a task')} task {payload.task_id}"
    elif isinstance(payload, Draft) and payload.phase:
        what = f"drafting the {payload.phase.replace('_', ' ')}"
    return what


def what_to_do(effect: Effect) -> str:
    if effect.kind.startswith("repo."):
        where = "Check the repository (`orch doctor` says what it sees), then press Retry"
    elif effect.kind.startswith(("slack.", "notify.")):
        where = "Press Retry once Slack accepts it again (the error below says why it refused)"
    else:
        where = "Press Retry to run it again"
    return (
        f"{where}, or cancel the goal. Nothing after this step has happened: the goal waits here, "
        "and `/orch retry` or `orch effects retry` re-run it too."
    )


def _tried(row: Effect, now: datetime) -> str:
    if row.attempts <= 1 or row.failing_since is None:
        return ""
    hours = (now - row.failing_since).total_seconds() / 3600
    span = f"{hours:.1f} h" if hours >= 1 else f"{max(1, round(hours * 60))} min"
    return f" ({row.attempts} attempts over {span})"


def record_failure(session: Session, row: Effect, *, now: datetime) -> None:
    """Audit the failure and record the thread message, in the caller's transaction."""
    audit(
        session,
        actor=Actor("bot"),
        action="effect.failed",
        now=now,
        goal_id=row.goal_id,
        effect=row.id,
        kind=row.kind,
        attempts=row.attempts,
        error=row.last_error,
    )
    if row.goal_id is None:
        return
    add_failure_note(
        session,
        key=f"failure:{row.id}:{(row.failing_since or now).isoformat()}",
        goal_id=row.goal_id,
        what=f"{describe(row)} failed{_tried(row, now)}",
        todo=what_to_do(row),
        error=row.last_error or "",
        retry=FailureRef(goal_id=row.goal_id, what="effect", id=row.id),
        now=now,
    )


def add_failure_note(
    session: Session,
    *,
    key: str,
    goal_id: str,
    what: str,
    todo: str,
    error: str,
    retry: FailureRef,
    now: datetime,
) -> None:
    """Record the one thread message of a failure (an effect, a job, a goal that cannot move):
    `what` failed, what a person can do, and a Retry of `retry`. Idempotent by `key`."""
    add_effect(
        session,
        key=key,
        goal_id=None,
        now=now,
        payload=FailureNote(
            goal=goal_id, what=what, todo=todo, error=error, retry=FailureRetry(what=retry.what, id=retry.id)
        ),
    )


@dataclass
class FailureNotes:
    """`notify.failure`: the message in the goal's thread (the requester's DMs when it has none)."""

    fx: SlackPort

    def handlers(self) -> dict[str, Handler]:
        return {FAILURE_NOTE: self.post}

    async def post(self, effect: Effect) -> None:
        payload = payload_of(effect, FailureNote)
        with read_session(self.fx.engine) as session:
            goal = session.get(Goal, payload.goal) if payload.goal else None
        again = payload.retry
        if goal is None or not goal.channel_id:
            return  # a goal driven from the CLI: `orch effects list` and `orch doctor` show it
        blocks, text = build_failure_message(
            goal.id,
            payload.what,
            payload.todo,
            detail=payload.error or None,
            retry=FailureRef(
                goal_id=goal.id, what=again.what if again else "goal", id=again.id if again else None
            ),
        )
        if goal.thread_ts:
            await self.fx.post(
                effect, channel=goal.channel_id, thread_ts=goal.thread_ts, blocks=blocks, text=text
            )
            return
        # No thread to speak in (its card is what failed): tell the requester directly.
        try:
            opened = await self.fx.client.conversations_open(users=goal.requester)
        except SlackApiError as exc:
            raise RetryLater("cannot reach the requester") from exc
        await self.fx.post(effect, channel=opened["channel"]["id"], thread_ts=None, blocks=blocks, text=text)
