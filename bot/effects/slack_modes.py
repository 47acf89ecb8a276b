"""Elevated-mode requests in the goal's thread: the message approvers confirm, then its decision."""

from __future__ import annotations

from dataclasses import dataclass

from bot import blocks as builders
from bot.effects.port import Handler, RetryLater, SlackPort, payload_of
from bot.effects.presenters import mode_request_view
from bot.sop.effect_kinds import MarkModeDecided, PostModeRequest
from storage.db import read_session, transaction
from storage.models import Effect, Goal, ModeRequest


@dataclass
class ModeMessages:
    fx: SlackPort

    def handlers(self) -> dict[str, Handler]:
        return {PostModeRequest.KIND: self.post_request, MarkModeDecided.KIND: self.mark_decided}

    def _load(self, request_id: int) -> tuple[ModeRequest, Goal] | None:
        with read_session(self.fx.engine) as session:
            row = session.get(ModeRequest, request_id)
            goal = session.get(Goal, row.goal_id) if row else None
            return (row, goal) if row is not None and goal is not None else None

    async def post_request(self, effect: Effect) -> None:
        found = self._load(payload_of(effect, PostModeRequest).request_id)
        if found is None:
            return
        row, goal = found
        if row.message_ts or not goal.channel_id:
            return
        if not goal.thread_ts:
            raise RetryLater("the goal thread is not posted yet")
        view = mode_request_view(row, self.fx.tz)
        # Decided before it was posted (a click elsewhere): show the decision straight away.
        blocks = (
            builders.build_mode_request_message(view)
            if row.status == "pending"
            else builders.build_mode_decided_message(view)
        )
        text = f"{goal.id}: <@{row.requested_by}> asks for {row.mode}; an approver must confirm"
        ts = await self.fx.post(
            effect, channel=goal.channel_id, thread_ts=goal.thread_ts, blocks=blocks, text=text
        )
        with transaction(self.fx.engine) as session:
            stored = session.get(ModeRequest, row.id)
            assert stored is not None
            stored.message_ts = ts
            session.add(stored)

    async def mark_decided(self, effect: Effect) -> None:
        found = self._load(payload_of(effect, MarkModeDecided).request_id)
        if found is None:
            return
        row, goal = found
        if not goal.channel_id:
            return
        if not row.message_ts:
            raise RetryLater("the request message is not posted yet")
        blocks = builders.build_mode_decided_message(mode_request_view(row, self.fx.tz))
        await self.fx.update(
            channel=goal.channel_id,
            ts=row.message_ts,
            blocks=blocks,
            text=f"{goal.id}: {row.mode} {row.status}",
        )
