"""The merge-conflict message in a goal's thread, and its update once a person has chosen."""

from __future__ import annotations

from dataclasses import dataclass

from bot.blocks.conflicts import (
    ConflictView,
    build_conflict_decided_message,
    build_conflict_message,
    conflict_text,
)
from bot.effects.port import Handler, RetryLater, SlackPort, payload_of
from bot.sop.effect_kinds import MergeConflict, MergeConflictDecided
from storage.db import read_session, transaction
from storage.models import Effect
from storage.repositories import Effects

KINDS = (MergeConflict.KIND, MergeConflictDecided.KIND)


def conflict_view(goal_id: str, payload: MergeConflict, base_branch: str) -> ConflictView:
    return ConflictView(
        goal_id=goal_id,
        task_id=payload.task_id,
        version=payload.version,
        title=payload.title,
        files=list(payload.files),
        base_branch=base_branch,
    )


@dataclass
class ConflictMessages:
    fx: SlackPort
    base_branch: str = "main"

    def handlers(self) -> dict[str, Handler]:
        return {MergeConflict.KIND: self.post, MergeConflictDecided.KIND: self.mark_decided}

    async def post(self, effect: Effect) -> None:
        found = self.fx.goal_thread(effect.goal_id)
        if found is None:
            return
        goal, channel, thread_ts = found
        view = conflict_view(goal.id, payload_of(effect, MergeConflict), self.base_branch)
        ts = await self.fx.post(
            effect,
            channel=channel,
            thread_ts=thread_ts,
            blocks=build_conflict_message(view),
            text=conflict_text(view),
        )
        with transaction(self.fx.engine) as session:  # the decision's update edits this message
            row = session.get(Effect, effect.id)
            if row is not None:
                row.payload = {**row.payload, "ts": ts}
                session.add(row)

    async def mark_decided(self, effect: Effect) -> None:
        goal = self.fx.goal(effect.goal_id)
        if goal is None or not goal.channel_id:
            return
        decided = payload_of(effect, MergeConflictDecided)
        with read_session(self.fx.engine) as session:
            posted = Effects(session).by_key(decided.conflict_key)
        if posted is None:
            return
        conflict = payload_of(posted, MergeConflict)
        ts = conflict.ts
        if not ts:
            if posted.status != "pending":
                return  # never posted (no thread): nothing to update
            raise RetryLater("the conflict message is not posted yet")
        view = conflict_view(goal.id, conflict, self.base_branch)
        blocks = build_conflict_decided_message(view, by=decided.by, choice=decided.choice)
        await self.fx.update(channel=goal.channel_id, ts=ts, blocks=blocks, text=conflict_text(view))
