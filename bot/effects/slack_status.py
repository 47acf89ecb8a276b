"""The goal's progress message: one message in its thread, edited in place as the work moves.

It is posted right after the card and then only edited, so long work ("Drafting PRD…", "Building
task 2…") shows without a post per step. Its text is derived from the goal's state each time, so a
refresh is always right whatever triggered it; an unchanged text is not sent again. A `slack.status`
effect may add a detail line (an agent run's progress, say) until the next refresh.

Progress is a courtesy: a Slack failure here is logged and never fails the effect that asked for it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError

from bot import blocks as builders
from bot.blocks.codex_stop import build_stop_actions
from bot.effects.port import SlackPort
from bot.effects.presenters import progress_text
from bot.effects.retry import slack_error_code
from bot.services.build_stop import is_building
from bot.slack_guard import message_ts
from bot.sop.phases import GoalState
from storage.db import read_session, transaction
from storage.models import Effect, Goal, SlackMessage

log = logging.getLogger(__name__)
STATUS = "status"


def status_marker(goal_id: str) -> str:
    return f"orch-status-{goal_id}"


@dataclass
class StatusMessages:
    fx: SlackPort

    async def handle(self, effect: Effect) -> None:
        """`slack.status`: refresh now, optionally with a detail line (`payload["text"]`)."""
        found = self.fx.goal_thread(effect.goal_id)
        if found is None:
            return
        goal, _channel, _thread_ts = found
        detail = effect.payload.get("text")
        await self.refresh(goal, detail=str(detail) if detail else None)

    def text_for(self, goal: Goal) -> str:
        current = self.fx.gate(goal)
        return progress_text(
            goal,
            current.artifact,
            approved=len(current.approved_by),
            required=self.fx.approvals_required,
            held=self.fx.held(goal),
        )

    def current(self, goal_id: str) -> SlackMessage | None:
        with read_session(self.fx.engine) as session:
            return session.get(SlackMessage, (goal_id, STATUS))

    async def refresh(self, goal: Goal, detail: str | None = None) -> None:
        if not goal.channel_id or not goal.thread_ts:
            return
        text = self.text_for(goal) + (f"\n{detail.strip()}" if detail and detail.strip() else "")
        row = self.current(goal.id)
        if row is not None and row.text == text:
            return
        if row is None and goal.state != GoalState.ACTIVE:
            return  # a goal that closed before it had a progress message does not need one now
        blocks = builders.build_status_message(text, [])
        blocks[0]["block_id"] = status_marker(goal.id)
        if self.fx.stop_button and is_building(goal):  # a running Codex build can be stopped
            blocks.append(build_stop_actions(goal.id))
        try:
            if row is None:
                ts = await self._post_once(goal, blocks, text)
            else:
                await self.fx.client.chat_update(channel=row.channel, ts=row.ts, blocks=blocks, text=text)
                ts = row.ts
        except SlackApiError as exc:
            log.info("progress of %s not shown: %s", goal.id, slack_error_code(exc))
            return
        with transaction(self.fx.engine) as session:
            stored = session.get(SlackMessage, (goal.id, STATUS))
            if stored is None:
                stored = SlackMessage(
                    goal_id=goal.id, kind=STATUS, channel=goal.channel_id, ts=ts, updated_at=self.fx.clock()
                )
            stored.text, stored.updated_at = text, self.fx.clock()
            session.add(stored)

    async def _post_once(self, goal: Goal, blocks: list[dict[str, object]], text: str) -> str:
        assert goal.channel_id is not None
        # A crash between posting and recording would leave a posted message we do not know of.
        found = await self.fx.find_marker(goal.channel_id, goal.thread_ts, status_marker(goal.id))
        if found:
            return found
        resp = await self.fx.client.chat_postMessage(
            channel=goal.channel_id, thread_ts=goal.thread_ts, blocks=blocks, text=text
        )
        return message_ts(resp)
