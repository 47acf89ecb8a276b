"""The goal's progress message: one message in its thread, edited in place as the work moves.

It is posted right after the card and then only edited, so long work ("Drafting PRD…", "Building
task 2…") shows without a post per step. Its text is derived from the goal's state each time, so a
refresh is always right whatever triggered it; an unchanged text is not sent again. A `slack.status`
effect may add a detail line (an agent run's progress, say) until the next refresh.

Where the workspace supports Slack's streaming messages and `ORCH_SLACK_STREAMING` is on, a running
build's events also go to a live log under it (`chat.startStream`, `appendStream`, `stopStream` when
the build ends); a workspace that refuses them falls back, for the rest of the process, to the
detail line edited with `chat.update`.

Progress is a courtesy: a Slack failure here is logged and never fails the effect that asked for it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.errors import SlackApiError

from bot import blocks as builders
from bot.blocks.codex_stop import build_stop_actions
from bot.effects.port import Looks, SlackPort, payload_of
from bot.effects.presenters import progress_text
from bot.effects.retry import slack_error_code
from bot.services.build_stop import is_building
from bot.slack_guard import message_ts
from bot.sop.effect_kinds import Status
from bot.sop.phases import GoalState
from storage.db import read_session, transaction
from storage.models import Effect, Goal, SlackMessage

log = logging.getLogger(__name__)
STATUS = "status"


def status_marker(goal_id: str) -> str:
    return f"orch-status-{goal_id}"


STREAM_UNSUPPORTED = frozenset(
    {"unknown_method", "not_allowed_token_type", "method_not_supported_for_channel_type", "missing_scope"}
)


@dataclass
class StatusMessages:
    fx: SlackPort
    _streams: dict[str, tuple[str, str]] = field(default_factory=dict, repr=False)  # goal → live log

    async def handle(self, effect: Effect) -> None:
        """`slack.status`: refresh now, optionally with a detail line (the payload's `text`)."""
        found = self.fx.goal_thread(effect.goal_id)
        if found is None:
            return
        goal, channel, thread_ts = found
        p = payload_of(effect, Status)
        detail = p.text
        lines = [line for line in p.lines if line]
        final = p.final
        streamed = self.fx.streaming and (lines or final)
        if streamed and await self.stream(goal.id, channel, thread_ts, lines, final=final):
            detail = None  # the live log carries it; the status message keeps the phase and Stop
        await self.refresh(goal, detail=detail or None)

    async def stream(
        self, goal_id: str, channel: str, thread_ts: str, lines: list[str], *, final: bool
    ) -> bool:
        """Append `lines` to the build's live log (started on the first); False when streaming is
        not available here (the caller shows the detail line instead)."""
        text = "".join(f"• {line}\n" for line in lines)
        client: Any = self.fx.client
        try:
            current = self._streams.get(goal_id)
            if current is None:
                if final and not text:
                    return True
                resp = await client.chat_startStream(
                    channel=channel,
                    thread_ts=thread_ts,
                    markdown_text=f"*Live log of {goal_id}'s build*\n{text}",
                )
                current = (channel, message_ts(resp))
                self._streams[goal_id] = current
            elif text:
                await client.chat_appendStream(channel=current[0], ts=current[1], markdown_text=text)
            if final:
                del self._streams[goal_id]
                await client.chat_stopStream(channel=current[0], ts=current[1])
        except SlackApiError as exc:
            code = slack_error_code(exc)
            if code in STREAM_UNSUPPORTED:
                log.info("streaming messages refused (%s): progress goes to the status message", code)
                self.fx.streaming = False
            else:
                log.info("live log of %s not updated: %s", goal_id, code)
            self._streams.pop(goal_id, None)
            return False
        return True

    def text_for(self, goal: Goal, looks: Looks | None = None) -> str:
        looks = looks or self.fx.looks(goal)
        current = looks.gate
        return progress_text(
            goal,
            current.artifact,
            approved=len(current.approved_by),
            required=self.fx.approvals_required,
            held=looks.held,
            posted=current.artifact is None or bool(current.artifact.message_ts),
        )

    def _look(self, goal: Goal, detail: str | None, looks: Looks | None) -> tuple[str, SlackMessage | None]:
        text = self.text_for(goal, looks) + (f"\n{detail.strip()}" if detail and detail.strip() else "")
        return text, self.current(goal.id)

    def current(self, goal_id: str) -> SlackMessage | None:
        with read_session(self.fx.engine) as session:
            return session.get(SlackMessage, (goal_id, STATUS))

    async def refresh(self, goal: Goal, detail: str | None = None, *, looks: Looks | None = None) -> None:
        """Redraw the progress message (`looks`: what the card was just drawn from, not read again)."""
        if not goal.channel_id or not goal.thread_ts:
            return
        text, row = self._look(goal, detail, looks)
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
        self._record(goal, ts, text)

    def _record(self, goal: Goal, ts: str, text: str) -> None:
        """Remember what the progress message shows."""
        with transaction(self.fx.engine) as session:
            stored = session.get(SlackMessage, (goal.id, STATUS))
            if stored is None:
                assert goal.channel_id is not None
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
