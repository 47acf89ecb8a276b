"""Effects that talk to Slack: the goal card, artifact and diff messages, decisions, notes.

Every post carries a marker block id derived from the effect, so a retry after a crash between
"posted" and "recorded" finds the earlier message instead of posting a second one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot import blocks as builders
from bot.effects.dispatcher import EffectDispatcher, RetryLater
from bot.effects.views import approvals_for, artifact_view, decision_view, diff_view, goal_card_view
from bot.faults import fault_point
from bot.redact import redact, redact_obj
from bot.repo.diffstat import diffstat
from bot.services.authority import ApproverDirectory
from bot.services.unit import Clock
from bot.sop.phases import Phase
from storage.db import transaction
from storage.models import Artifact, Effect, Goal

log = logging.getLogger(__name__)

# Errors that retrying cannot fix: a person must act (unarchive, invite the bot, pick a channel).
PERSON_MUST_ACT = {
    "is_archived": "the channel is archived. Unarchive it, or start the goal again in another channel.",
    "not_in_channel": "I am not in that channel. Invite me with `/invite @orch`, then I will post again.",
    "channel_not_found": "I cannot see that channel. Invite me to it, or use another channel.",
}


def marker(effect: Effect) -> str:
    return f"orch-e{effect.id}"


@dataclass
class SlackEffects:
    engine: Engine
    client: AsyncWebClient
    directory: ApproverDirectory
    clock: Clock
    tz: str
    approvals_required: int
    offline: bool

    def register(self, dispatcher: EffectDispatcher) -> None:
        dispatcher.register("slack.post_card", self.post_card)
        dispatcher.register("slack.update_card", self.update_card)
        dispatcher.register("slack.post_artifact", self.post_artifact)
        dispatcher.register("slack.mark_decided", self.mark_decided)
        dispatcher.register("slack.thread_note", self.thread_note)

    # -- helpers -----------------------------------------------------------------------------

    def _goal(self, goal_id: str | None) -> Goal | None:
        with Session(self.engine) as session:
            return session.get(Goal, goal_id) if goal_id else None

    def _card(self, goal: Goal) -> tuple[list[dict[str, Any]], str]:
        approvers = sorted(goal.approvers or self.directory.approvers())
        view = goal_card_view(goal, next_approvers=approvers, offline=self.offline)
        return builders.build_goal_card(view), builders.goal_card_text(view)

    async def _find_marker(self, channel: str, thread_ts: str | None, mark: str) -> str | None:
        """The ts of a message we already posted with this marker, if any (crash recovery)."""
        try:
            if thread_ts:
                resp = await self.client.conversations_replies(channel=channel, ts=thread_ts, limit=200)
            else:
                resp = await self.client.conversations_history(channel=channel, limit=100)
        except SlackApiError:
            return None
        for message in resp.get("messages", []):
            for block in message.get("blocks", []) or []:
                if block.get("block_id") == mark:
                    return str(message["ts"])
        return None

    async def _post(self, effect: Effect, *, channel: str, thread_ts: str | None, blocks: list[dict[str, Any]],
                    text: str) -> str | None:
        mark = marker(effect)
        blocks = [dict(b) for b in blocks]
        blocks[0]["block_id"] = mark
        if effect.attempts > 1:
            found = await self._find_marker(channel, thread_ts, mark)
            if found:
                return found
        try:
            resp = await self.client.chat_postMessage(
                channel=channel, thread_ts=thread_ts, blocks=redact_obj(blocks), text=redact(text)
            )
        except SlackApiError as exc:
            error = str(exc.response.get("error", ""))
            if error in PERSON_MUST_ACT:
                await self._tell_requester(effect, channel, error)
                return None
            raise
        fault_point("after_slack_post")
        return str(resp["ts"])

    async def _tell_requester(self, effect: Effect, channel: str, error: str) -> None:
        goal = self._goal(effect.goal_id)
        if goal is None:
            return
        text = (
            f"I could not post {goal.id} in <#{channel}>: {PERSON_MUST_ACT[error]} "
            f"Nothing is lost: the goal is saved (`/orch status {goal.id}`)."
        )
        try:
            opened = await self.client.conversations_open(users=goal.requester)
            await self.client.chat_postMessage(channel=opened["channel"]["id"], text=text)
        except SlackApiError:
            log.warning("could not tell %s about %s", goal.requester, error)

    # -- handlers ----------------------------------------------------------------------------

    async def post_card(self, effect: Effect) -> None:
        goal = self._goal(effect.goal_id)
        if goal is None or not goal.channel_id or goal.card_ts:
            return
        blocks, text = self._card(goal)
        ts = await self._post(effect, channel=goal.channel_id, thread_ts=goal.thread_ts, blocks=blocks, text=text)
        if ts is None:
            return
        with transaction(self.engine) as session:
            row = session.get(Goal, goal.id)
            assert row is not None
            row.card_ts = ts
            row.thread_ts = row.thread_ts or ts
            session.add(row)

    async def update_card(self, effect: Effect) -> None:
        goal = self._goal(effect.goal_id)
        if goal is None or not goal.channel_id:
            return
        if not goal.card_ts:
            raise RetryLater("the goal card is not posted yet")
        blocks, text = self._card(goal)
        try:
            await self.client.chat_update(channel=goal.channel_id, ts=goal.card_ts, blocks=blocks, text=text)
        except SlackApiError as exc:
            if str(exc.response.get("error", "")) in PERSON_MUST_ACT:
                return
            raise

    def _artifact(self, artifact_id: int) -> tuple[Artifact, Goal, list[Any]]:
        with Session(self.engine) as session:
            artifact = session.get(Artifact, artifact_id)
            if artifact is None:
                raise LookupError(f"artifact {artifact_id} is gone")
            goal = session.get(Goal, artifact.goal_id)
            assert goal is not None
            return artifact, goal, approvals_for(session, artifact)

    def _message(self, artifact: Artifact, goal: Goal, approvals: list[Any]) -> tuple[list[dict[str, Any]], str | None]:
        if artifact.phase == Phase.IMPLEMENTATION.value:
            from bot.redact import find_secrets

            task = next((t for t in goal.tasks if int(t["id"]) == artifact.task_id), {"title": "task"})
            findings = [f"{f.kind} at line {f.line}" for f in find_secrets(artifact.content)]
            view = diff_view(artifact, str(task.get("title", "")), files=diffstat(artifact.content),
                             tests_summary=artifact.summary or None, secret_findings=findings)
            blocks, full = builders.build_diff_message(view)
            return blocks, (None if findings else full)
        view = artifact_view(artifact, approvals_needed=self.approvals_required, approvals=approvals)
        return builders.build_artifact_message(view)

    async def post_artifact(self, effect: Effect) -> None:
        artifact, goal, approvals = self._artifact(int(effect.payload["artifact_id"]))
        if artifact.message_ts or not goal.channel_id:
            return
        if not goal.thread_ts:
            raise RetryLater("the goal thread is not posted yet")
        blocks, file_text = self._message(artifact, goal, approvals)
        label = "diff" if artifact.phase == Phase.IMPLEMENTATION.value else artifact.phase
        text = f"{goal.id} {label} v{artifact.version} is ready for review"
        ts = await self._post(effect, channel=goal.channel_id, thread_ts=goal.thread_ts, blocks=blocks, text=text)
        if ts is None:
            return
        with transaction(self.engine) as session:
            row = session.get(Artifact, artifact.id)
            assert row is not None
            row.message_ts = ts
            session.add(row)
        if file_text:
            name = f"{goal.id}-{label}-v{artifact.version}." + ("diff" if label == "diff" else "md")
            try:
                await self.client.files_upload_v2(
                    channel=goal.channel_id, thread_ts=goal.thread_ts, content=redact(file_text), filename=name,
                    title=f"{goal.id} {label} v{artifact.version} (full text)",
                )
            except SlackApiError:
                log.warning("upload of %s failed; the preview stands", name)

    async def mark_decided(self, effect: Effect) -> None:
        artifact, goal, approvals = self._artifact(int(effect.payload["artifact_id"]))
        if not goal.channel_id:
            return
        if not artifact.message_ts:
            raise RetryLater("the artifact message is not posted yet")
        if effect.payload.get("partial"):
            blocks, _ = self._message(artifact, goal, approvals)
        else:
            decisive = [a for a in approvals if a.artifact_sha256 == artifact.sha256]
            last = decisive[-1]
            blocks = builders.build_decided_artifact_message(
                artifact_view(artifact, approvals_needed=self.approvals_required, approvals=approvals),
                decision_view(last, artifact, self.tz),
            )
            if isinstance(blocks, tuple):
                blocks = blocks[0]
        await self.client.chat_update(
            channel=goal.channel_id, ts=artifact.message_ts, blocks=blocks,
            text=f"{goal.id} {artifact.phase} v{artifact.version}",
        )

    async def thread_note(self, effect: Effect) -> None:
        goal = self._goal(effect.goal_id)
        if goal is None or not goal.channel_id:
            return
        if not goal.thread_ts:
            raise RetryLater("the goal thread is not posted yet")
        text = str(effect.payload.get("text", ""))
        blocks = [{"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}]
        await self._post(effect, channel=goal.channel_id, thread_ts=goal.thread_ts, blocks=blocks, text=text)
