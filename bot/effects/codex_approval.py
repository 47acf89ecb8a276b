"""`slack.codex_approval`: post a Codex approval request in the goal's thread (bot/services/codex_approvals.py)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.blocks.codex_approval import CodexApprovalView, approval_text, build_codex_approval
from bot.effects.port import Handler, RetryLater, SlackPort, payload_of
from bot.services.codex_approvals import POST_KIND
from bot.sop.effect_kinds import CodexApprovalRequest
from storage.db import read_session, transaction
from storage.models import CodexApproval, Effect, Goal


def approval_view(row: CodexApproval, goal: Goal) -> CodexApprovalView:
    return CodexApprovalView(
        request_id=row.id,
        goal_id=goal.id,
        kind=row.kind,
        command=row.command,
        reason=row.reason,
        requester=goal.requester,
        status=row.status,
        decided_by=row.decided_by,
    )


@dataclass
class CodexApprovalMessages:
    fx: SlackPort

    def handlers(self) -> dict[str, Handler]:
        return {POST_KIND: self.post}

    async def post(self, effect: Effect) -> None:
        request_id = payload_of(effect, CodexApprovalRequest).request_id
        with read_session(self.fx.engine) as session:
            row = session.get(CodexApproval, request_id)
            goal = session.get(Goal, row.goal_id) if row is not None else None
        if row is None or goal is None or row.message_ts or not goal.channel_id:
            return
        if not goal.thread_ts:
            raise RetryLater("the goal thread is not posted yet")
        view = approval_view(row, goal)
        ts = await self.fx.post(
            effect,
            channel=goal.channel_id,
            thread_ts=goal.thread_ts,
            blocks=build_codex_approval(view),
            text=approval_text(view),
        )
        with transaction(self.fx.engine) as session:
            stored = session.get(CodexApproval, row.id)
            assert stored is not None
            stored.message_ts = ts
            session.add(stored)
