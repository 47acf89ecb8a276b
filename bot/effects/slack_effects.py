"""Effects that talk to Slack: the goal card, artifact and diff messages, decisions, notes.

Every post carries a marker block id derived from the effect, so a retry after a crash between
"posted" and "recorded" finds the earlier message instead of posting a second one.

When Slack refuses a post because a person must act first (archived channel, bot not invited), the
requester is told once what to do and the effect is retried later: the goal's state stands, and
the post goes through once the channel is usable again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import blocks as builders
from bot.blocks.view_models import HomeView
from bot.effects.budget import BudgetMessages
from bot.effects.codex_approval import CodexApprovalMessages
from bot.effects.dispatcher import RetryLater
from bot.effects.empty_build import EmptyBuildMessages
from bot.effects.port import Handler, Looks, marker, payload_of
from bot.effects.presenters import approvals_for, artifact_view, decision_view, diff_view, goal_card_view
from bot.effects.retry import slack_error_code
from bot.effects.slack_status import StatusMessages
from bot.faults import fault_point
from bot.redact import redact, redact_obj
from bot.repo.diffstat import diffstat
from bot.services.authority import ApproverDirectory
from bot.services.dedupe import first_time
from bot.services.gates import Gate, gate
from bot.services.unit import Clock
from bot.slack_guard import message_ts
from bot.sop.effect_kinds import MarkDecided, PostArtifact, PostCard, Status, ThreadNote, UpdateCard
from bot.sop.phases import LABELS, GoalState, Phase, PhaseStatus
from storage.db import read_session, transaction
from storage.models import Artifact, Effect, Goal, PullRequestLink, SlackMessage
from storage.repositories import Effects
from storage.sessions import Engine

log = logging.getLogger(__name__)

# Errors that retrying soon cannot fix: a person must act (unarchive, invite the bot, pick a channel).
PERSON_MUST_ACT = {
    "is_archived": "the channel is archived. Unarchive it and I will post there again, or start the goal "
    "again in another channel.",
    "not_in_channel": "I am not in that channel. Invite me with `/invite @orch`, then I will post again.",
    "channel_not_found": "I cannot see that channel. Invite me to it, or use another channel.",
}


@dataclass
class SlackEffects:
    engine: Engine
    client: AsyncWebClient
    directory: ApproverDirectory
    clock: Clock
    tz: str
    approvals_required: int
    offline: bool
    allow_self_approval: bool = False
    approval_sla_hours: float = 4.0
    due_at: Callable[[str, datetime], datetime] | None = None  # the SLA policy's due time, when known
    # Builds a person's App Home; when given, it is republished whenever one of their goals changes.
    home: Callable[[str], HomeView] | None = None
    stop_button: bool = False  # Codex builds: the status message offers Stop while one runs
    # A running build's events also go to a streamed live log (Slack's chat.startStream and friends).
    streaming: bool = False
    # The goal's cost so far against its budget, for the card (bot/services/budgets.py cost_line).
    cost_line: Callable[[Goal], str | None] | None = None
    status: StatusMessages = field(init=False, repr=False)
    # The Home last published per person, so an unchanged Home is not sent again.
    _homes: dict[str, str] = field(default_factory=dict, repr=False)
    # Per person: Home requests made so far, the count the last published build covers, and the
    # lock that lets one build run at a time (a burst of requests then costs two builds, not one each).
    _home_asked: dict[str, int] = field(default_factory=dict, repr=False)
    _home_built: dict[str, int] = field(default_factory=dict, repr=False)
    _home_locks: dict[str, asyncio.Lock] = field(default_factory=dict, repr=False)
    _home_tasks: set[asyncio.Task[None]] = field(default_factory=set, repr=False)

    def __post_init__(self) -> None:
        self.status = StatusMessages(self)

    def handlers(self) -> dict[str, Handler]:
        """Every Slack kind's handler: this class's own and its families'."""
        from bot.effects.failures import FailureNotes
        from bot.effects.slack_conflicts import ConflictMessages
        from bot.effects.slack_modes import ModeMessages
        from bot.effects.work_failure import WorkFailureMessages

        own: dict[str, Handler] = {
            PostCard.KIND: self.post_card,
            UpdateCard.KIND: self.update_card,
            PostArtifact.KIND: self.post_artifact,
            MarkDecided.KIND: self.mark_decided,
            ThreadNote.KIND: self.thread_note,
            Status.KIND: self.status.handle,
        }
        families = (
            ModeMessages(self),
            ConflictMessages(self),
            WorkFailureMessages(self),
            FailureNotes(self),
            EmptyBuildMessages(self),
            CodexApprovalMessages(self),
            BudgetMessages(self),
        )
        for family in families:
            own.update(family.handlers())
        return own

    # -- helpers -----------------------------------------------------------------------------

    def goal(self, goal_id: str | None) -> Goal | None:
        with read_session(self.engine) as session:
            return session.get(Goal, goal_id) if goal_id else None

    def goal_thread(self, goal_id: str | None) -> tuple[Goal, str, str] | None:
        """(goal, channel, thread ts) to post in: None for a goal with no channel (nothing to post),
        RetryLater while its thread is not posted yet."""
        goal = self.goal(goal_id)
        if goal is None or not goal.channel_id:
            return None
        if not goal.thread_ts:
            raise RetryLater("the goal thread is not posted yet")
        return goal, goal.channel_id, goal.thread_ts

    def approvers_shown(self, goal: Goal) -> list[str]:
        """Who approves this goal's gates, as shown: its chosen approvers, else the configured users
        and groups (groups are shown as groups, not resolved: no Slack call to draw a card)."""
        return list(goal.approvers) or sorted(self.directory.users) + list(self.directory.groups)

    def gate(self, goal: Goal) -> Gate:
        with read_session(self.engine) as session:
            return gate(
                session,
                goal,
                approvers=self.approvers_shown(goal),
                allow_self_approval=self.allow_self_approval,
                sla_hours=self.approval_sla_hours,
                due_at=self.due_at,
            )

    def held(self, goal: Goal) -> str | None:
        """For a done goal: "failed" or "finishing" while a commit, merge or other work of it is
        unmade (its "done" note is posted after them and redraws the card), else None."""
        if goal.state != GoalState.DONE:
            return None
        with read_session(self.engine) as session:
            statuses = Effects(session).unfinished_work_statuses(goal_id=goal.id)
        return "failed" if "failed" in statuses else "finishing" if statuses else None

    def looks(self, goal: Goal) -> Looks:
        """What the card and the progress message are drawn from, read once for both."""
        return Looks(self.gate(goal), self.held(goal))

    def _card_and_looks(self, goal: Goal) -> tuple[list[dict[str, Any]], str, Looks]:
        looks = self.looks(goal)
        blocks, text = self._card(goal, looks)
        return blocks, text, looks

    def _card(self, goal: Goal, looks: Looks | None = None) -> tuple[list[dict[str, Any]], str]:
        looks = looks or self.looks(goal)
        current = looks.gate
        with read_session(self.engine) as session:
            pr = session.get(PullRequestLink, goal.id)
            ci = session.get(SlackMessage, (goal.id, "ci"))
        view = goal_card_view(
            goal,
            next_approvers=current.waiting_on,
            offline=self.offline,
            sla_due=current.sla_due,
            pull_request_url=pr.url if pr else None,
        )
        shown_ci = ci.text if ci is not None and goal.phase in (Phase.IMPLEMENTATION, Phase.DONE) else None
        cost = self.cost_line(goal) if self.cost_line is not None else None
        view = dataclasses.replace(view, held=looks.held, cost=cost, ci=shown_ci)
        if (
            view.status is PhaseStatus.AWAITING_APPROVAL
            and current.artifact
            and not current.artifact.message_ts
        ):
            # Drafted but not yet in the thread (the card's first post can come after the draft):
            # the card shows what the thread shows, the drafting, until the version is posted.
            view = dataclasses.replace(view, status=PhaseStatus.DRAFTING, next_approvers=[], sla_due=None)
        return builders.build_goal_card(view), builders.goal_card_text(view)

    async def find_marker(self, channel: str, thread_ts: str | None, mark: str) -> str | None:
        """The ts of a message we already posted with this marker, if any (crash recovery, or an
        answer that came too late). A lookup Slack does not answer fails the attempt: posting
        without knowing would duplicate a message that landed during an outage."""
        try:
            if thread_ts:
                resp = await self.client.conversations_replies(channel=channel, ts=thread_ts, limit=200)
            else:
                resp = await self.client.conversations_history(channel=channel, limit=100)
        except SlackApiError as exc:
            if slack_error_code(exc) in PERSON_MUST_ACT:
                return None  # the post itself then tells the person what to fix
            raise
        messages: Any = resp.get("messages", [])
        if not isinstance(messages, list):
            raise ValueError("Slack answered a history without messages")
        for message in messages:
            blocks = message.get("blocks", []) if isinstance(message, dict) else []
            for block in blocks if isinstance(blocks, list) else []:
                if isinstance(block, dict) and block.get("block_id") == mark:
                    return message_ts(message)
        return None

    async def post(
        self,
        effect: Effect,
        *,
        channel: str,
        thread_ts: str | None,
        blocks: list[dict[str, Any]],
        text: str,
        mark: str | None = None,
    ) -> str:
        """Post once (found again by its marker after a crash); RetryLater when a person must act."""
        mark = mark or marker(effect)
        blocks = [dict(b) for b in blocks]
        blocks[0]["block_id"] = mark
        if effect.attempts > 1:
            found = await self.find_marker(channel, thread_ts, mark)
            if found:
                return found
        try:
            resp = await self.client.chat_postMessage(
                channel=channel, thread_ts=thread_ts, blocks=redact_obj(blocks), text=redact(text)
            )
        except SlackApiError as exc:
            error = slack_error_code(exc) or ""
            if error in PERSON_MUST_ACT:
                await self._tell_requester(effect, channel, error)
                raise RetryLater(f"{error}: waiting for a person to fix the channel") from exc
            raise
        fault_point("after_slack_post")
        return message_ts(resp)  # junk in place of a ts is refused (the effect retries), never stored

    async def update(self, *, channel: str, ts: str, blocks: list[dict[str, Any]], text: str) -> None:
        """Edit a message in place; a channel a person must fix is skipped (a later update redraws)."""
        try:
            await self.client.chat_update(
                channel=channel, ts=ts, blocks=redact_obj(blocks), text=redact(text)
            )
        except SlackApiError as exc:
            if slack_error_code(exc) in PERSON_MUST_ACT:
                log.info("could not update %s in %s: %s", ts, channel, slack_error_code(exc))
                return
            raise

    async def _tell_requester(self, effect: Effect, channel: str, error: str) -> None:
        goal = self.goal(effect.goal_id)
        if goal is None:
            return
        # Once per goal, channel and error: the retries of this post and the goal's later posts stay quiet.
        key = f"told:{goal.id}:{channel}:{error}"
        if not await asyncio.to_thread(first_time, self.engine, key, self.clock()):
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

    async def publish_homes(self, goal: Goal) -> None:
        """Republish the App Home of everyone this goal concerns (best effort: a failure only logs).

        A burst of changes (many goals updated at once) is coalesced per person: one Home is built
        at a time, and a request already covered by a build that started after it returns at once.
        So the last Home sent still reflects the latest state, with two builds for a burst.
        """
        if self.home is None:
            return
        people = await asyncio.to_thread(self.directory.approvers, goal.approvers)
        for user in sorted({goal.requester, *people}):
            if not user.startswith(("U", "W")):
                continue
            asked = self._home_asked[user] = self._home_asked.get(user, 0) + 1
            async with self._home_locks.setdefault(user, asyncio.Lock()):
                if self._home_built.get(user, 0) >= asked:
                    continue  # a build that started after this request has been published
                covered = self._home_asked[user]  # every request made before this build reads
                if await self._publish_home(user):
                    self._home_built[user] = covered

    def refresh_homes_soon(self, goal: Goal) -> None:
        """Republish the Homes this goal concerns without holding up the goal's thread: the Homes are
        per person and coalesced, and the next post in the thread (the bench saw a PRD wait ~60 ms
        behind three Home builds) need not wait for them."""
        task = asyncio.get_running_loop().create_task(self._refresh_homes(goal))
        self._home_tasks.add(task)
        task.add_done_callback(self._home_tasks.discard)

    async def _refresh_homes(self, goal: Goal) -> None:
        try:
            await self.publish_homes(goal)
        except Exception:  # best effort, like every Home: the next change republishes it
            log.exception("could not refresh the Homes for %s", goal.id)

    async def _publish_home(self, user: str) -> bool:
        """Build and send one person's Home; False when Slack refused it."""
        assert self.home is not None
        try:
            view = builders.build_home(await asyncio.to_thread(self.home, user))
            digest = hashlib.sha256(json.dumps(view, sort_keys=True).encode()).hexdigest()
            if self._homes.get(user) != digest:
                await self.client.views_publish(user_id=user, view=view)
                self._homes[user] = digest
            return True
        except SlackApiError as exc:
            log.info("could not publish the Home of %s: %s", user, slack_error_code(exc))
            return False

    # -- handlers ----------------------------------------------------------------------------

    async def post_card(self, effect: Effect) -> None:
        goal = self.goal(effect.goal_id)
        if goal is None or not goal.channel_id or goal.card_ts:
            return
        blocks, text, looks = self._card_and_looks(goal)
        ts = await self.post(
            effect, channel=goal.channel_id, thread_ts=goal.thread_ts, blocks=blocks, text=text
        )
        with transaction(self.engine) as session:
            row = session.get(Goal, goal.id)
            assert row is not None
            row.card_ts = ts
            row.thread_ts = row.thread_ts or ts
            session.add(row)
        goal.card_ts, goal.thread_ts = ts, goal.thread_ts or ts
        # The progress message comes right below the card, before any work starts.
        await self.status.refresh(goal, looks=looks)

    async def update_card(self, effect: Effect) -> None:
        goal = self.goal(effect.goal_id)
        if goal is None or not goal.channel_id:
            return
        if not goal.card_ts:
            # The first post failed (a channel a person had to fix) or waits for its retry: whichever
            # effect gets through first posts the card, so a later change still brings it back.
            await self.post_card(effect)
            return
        blocks, text, looks = self._card_and_looks(goal)
        await self.update(channel=goal.channel_id, ts=goal.card_ts, blocks=blocks, text=text)
        await self.status.refresh(goal, looks=looks)
        self.refresh_homes_soon(goal)

    def _artifact(self, artifact_id: int) -> tuple[Artifact, Goal, list[Any]]:
        with read_session(self.engine) as session:
            artifact = session.get(Artifact, artifact_id)
            if artifact is None:
                raise LookupError(f"artifact {artifact_id} is gone")
            goal = session.get(Goal, artifact.goal_id)
            assert goal is not None
            return artifact, goal, approvals_for(session, artifact)

    def _diff_view(self, artifact: Artifact, goal: Goal) -> tuple[builders.DiffView, bool]:
        from bot.services.diff_secrets import findings_for

        task = next((t for t in goal.tasks if int(t["id"]) == artifact.task_id), {"title": "task"})
        with read_session(
            self.engine
        ) as session:  # found on the unredacted diff when it was built, and audited
            findings = findings_for(session, artifact)
        view = diff_view(
            artifact,
            str(task.get("title", "")),
            files=diffstat(artifact.content),
            tests_summary=artifact.summary or None,
            secret_findings=findings,
        )
        return view, bool(findings)

    def _message(
        self, artifact: Artifact, goal: Goal, approvals: list[Any]
    ) -> tuple[list[dict[str, Any]], str | None]:
        if artifact.phase == Phase.IMPLEMENTATION.value:
            diff, secret = self._diff_view(artifact, goal)
            blocks, full = builders.build_diff_message(diff)
            return blocks, (None if secret else full)
        view = artifact_view(artifact, approvals_needed=self.approvals_required, approvals=approvals)
        return builders.build_artifact_message(view)

    async def post_artifact(self, effect: Effect) -> None:
        artifact, goal, approvals = self._artifact(payload_of(effect, PostArtifact).artifact_id)
        if artifact.message_ts or not goal.channel_id:
            return
        if not goal.thread_ts:
            raise RetryLater("the goal thread is not posted yet")
        blocks, file_text = self._message(artifact, goal, approvals)
        diff = artifact.phase == Phase.IMPLEMENTATION.value
        label = "diff" if diff else artifact.phase
        what = f"the diff of task {artifact.task_id}" if diff else LABELS[Phase(artifact.phase)]
        text = f"{goal.id}: {what} v{artifact.version} is ready for review"
        ts = await self.post(
            effect, channel=goal.channel_id, thread_ts=goal.thread_ts, blocks=blocks, text=text
        )
        with transaction(self.engine) as session:
            row = session.get(Artifact, artifact.id)
            assert row is not None
            row.message_ts = ts
            session.add(row)
        if file_text:
            await self._upload(goal, artifact, label, file_text, what)

    async def _upload(self, goal: Goal, artifact: Artifact, label: str, content: str, what: str) -> None:
        """The full text as a file in the thread, for what did not fit in the message."""
        name = f"{goal.id}-{label}-v{artifact.version}." + ("diff" if label == "diff" else "md")
        assert goal.channel_id is not None
        try:
            await self.client.files_upload_v2(
                channel=goal.channel_id,
                thread_ts=goal.thread_ts,
                content=redact(content),
                filename=name,
                title=f"{goal.id} {label} v{artifact.version} (full text)",
                initial_comment=f"📎 The full text of {what} v{artifact.version}.",
            )
        except SlackApiError:
            log.warning("upload of %s failed; the preview stands", name)

    async def mark_decided(self, effect: Effect) -> None:
        p = payload_of(effect, MarkDecided)
        artifact, goal, approvals = self._artifact(p.artifact_id)
        if not goal.channel_id:
            return
        if not artifact.message_ts:
            raise RetryLater("the artifact message is not posted yet")
        if p.partial:
            blocks, _ = self._message(artifact, goal, approvals)
        else:
            last = [a for a in approvals if a.artifact_sha256 == artifact.sha256][-1]
            decision = decision_view(last, artifact, self.tz)
            if artifact.phase == Phase.IMPLEMENTATION.value:
                blocks = builders.build_decided_diff_message(self._diff_view(artifact, goal)[0], decision)
            else:
                view = artifact_view(artifact, approvals_needed=self.approvals_required, approvals=approvals)
                blocks = builders.build_decided_artifact_message(view, decision)
        await self.update(
            channel=goal.channel_id,
            ts=artifact.message_ts,
            blocks=blocks,
            text=f"{goal.id} {artifact.phase} v{artifact.version}",
        )
        # The decision has started the next step (a draft, a build): say so before it runs.
        await self.status.refresh(goal)

    async def thread_note(self, effect: Effect) -> None:
        goal = self.goal(effect.goal_id)
        if goal is None or not goal.channel_id:
            return
        if not goal.thread_ts:
            raise RetryLater("the goal thread is not posted yet")
        from bot.effects.repo_truth import require_commits_landed

        require_commits_landed(self.engine, effect)
        p = payload_of(effect, ThreadNote)
        text = p.text
        blocks = [{"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}]
        if p.retry:  # a refused merge: offer Retry (bot.forge.delivery)
            from bot.blocks.delivery import build_retry_note

            blocks = build_retry_note(text, goal.id)
        await self.post(effect, channel=goal.channel_id, thread_ts=goal.thread_ts, blocks=blocks, text=text)
        if p.after_repo and goal.card_ts:
            # Everything before this note is made now: the card and progress may say "done".
            blocks, text = self._card(goal)
            await self.update(channel=goal.channel_id, ts=goal.card_ts, blocks=blocks, text=text)
            await self.status.refresh(goal)
