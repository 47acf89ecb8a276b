"""Use cases on goals: start, decide a gate, record a draft, cancel, set the spec requirement.

Each use case is one transaction: load, apply the procedure's rules, write the state, the audit
entry and the pending effects together. The effects dispatcher carries out the effects after commit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.faults import fault_point
from bot.redact import redact
from bot.services.authority import ApproverDirectory
from bot.services.diff_secrets import SecretInDiff, ask_builder_to_fix, refuse_secret
from bot.services.errors import (
    DuplicateStart,
    GoalClosed,
    GoalNotFound,
    InvalidInput,
    NotAnApprover,
    NotAwaitingDecision,
    SelfApproval,
    StaleArtifact,
    WrongMessage,
)
from bot.services.origin import ClickedMessage, check_origin
from bot.services.unit import Actor, Clock, add_effect, audit, load_goal_for_update, next_goal_id, sha256_text
from bot.sop.phases import LABELS, Decision, GoalState, Mode, Phase, PhaseStatus
from storage.db import read_session, transaction
from storage.models import Approval, Artifact, Goal, ProcessedDelivery

MAX_BRIEF = 20_000
MAX_TITLE = 120


def derive_title(brief: str) -> str:
    """A short title from the brief's first line or sentence."""
    first = brief.strip().splitlines()[0] if brief.strip() else ""
    first = re.split(r"(?<=[.!?])\s", first, maxsplit=1)[0]
    first = re.sub(r"\s+", " ", first).strip(" .")
    if len(first) > MAX_TITLE:
        first = first[: MAX_TITLE - 1].rstrip() + "…"
    return first or "Untitled goal"


def _prior_decision(
    session: Session, goal_id: str, sha256: str, actor: Actor, decision: Decision
) -> Approval | None:
    """The same person's same decision on the same version, if already taken (a retry or double click)."""
    return session.exec(
        select(Approval).where(
            Approval.goal_id == goal_id,
            Approval.artifact_sha256 == sha256,
            Approval.by == actor.id,
            Approval.decision == decision.value,
        )
    ).first()


@dataclass(frozen=True)
class DecisionOutcome:
    goal_id: str
    phase: str
    decision: str
    version: int
    sha256: str
    complete: bool  # the gate is decided (N of M reached, or changes requested / rejected)
    duplicate: bool = False  # the same person already made this decision on this version
    next_phase: str | None = None


@dataclass
class GoalService:
    engine: Engine
    directory: ApproverDirectory
    clock: Clock
    approvals_required: int = 1
    allow_self_approval: bool = False
    start_dedupe_seconds: float = 0.0  # the same slash text twice within this window starts one goal
    kick: list[Any] = field(default_factory=list)  # callbacks run after a commit with effects
    # The highest goal number the target repository already uses (its index and history): a fresh
    # database must not hand out an id again. None: only the database's counter counts.
    id_floor: Callable[[], int] | None = None

    # -- helpers -----------------------------------------------------------------------------

    def _committed(self) -> None:
        fault_point("after_state_commit")  # crash tests: the state is committed, no effect has run yet
        for callback in self.kick:
            callback()

    def _card_effect(self, session: Session, goal: Goal, now: datetime, tag: str) -> None:
        if goal.channel_id:
            add_effect(
                session, key=f"card:{goal.id}:{tag}", kind="slack.update_card", goal_id=goal.id, now=now
            )

    # -- start -------------------------------------------------------------------------------

    def start_goal(
        self,
        *,
        brief: str,
        actor: Actor,
        channel_id: str | None = None,
        thread_ts: str | None = None,
        title: str | None = None,
        source: str = "slash",
        approvers: Iterable[str] = (),
        priority: str = "medium",
        confirmed: bool = False,
        budget_usd: float | None = None,
    ) -> Goal:
        """Start a goal. A slash command repeating the same person's text in the same channel within
        `start_dedupe_seconds` raises DuplicateStart, unless `confirmed` (they asked for another)."""
        # The product stores no secret: whatever a person pasted into the brief or title is redacted at intake.
        brief = redact((brief or "").replace("\x00", "").strip())
        title = redact(title) if title else title
        if not brief:
            raise InvalidInput(
                "A goal needs a brief: say what should be built, e.g. `/orch start Add CSV export`."
            )
        if len(brief) > MAX_BRIEF:
            raise InvalidInput(f"The brief is {len(brief)} characters; keep it under {MAX_BRIEF}.")
        if priority not in {"high", "medium", "low"}:
            raise InvalidInput("Priority must be high, medium or low.")
        wanted = list(dict.fromkeys(a for a in approvers if a))
        outsiders = [a for a in wanted if not self.directory.is_approver(a)]
        if outsiders:
            names = ", ".join(f"<@{a}>" for a in outsiders)
            raise InvalidInput(f"{names} cannot approve gates here; pick from `/orch approvers`.")
        now = self.clock()
        floor = self.id_floor() if self.id_floor is not None else 0
        with transaction(self.engine) as session:
            if source == "slash" and not confirmed and self.start_dedupe_seconds > 0:
                self._once_per_window(session, actor, channel_id, brief, now)
            goal_id = next_goal_id(session, floor)
            goal = Goal(
                id=goal_id,
                title=(title or "").strip()[:MAX_TITLE] or derive_title(brief),
                brief=brief,
                requester=actor.id,
                channel_id=channel_id,
                thread_ts=thread_ts,
                source=source,
                phase=Phase.SCAFFOLD_CHECK,
                status=PhaseStatus.DRAFTING,
                state=GoalState.ACTIVE,
                mode=Mode.READ_ONLY,
                priority=priority,
                approvers=wanted,
                budget_usd=budget_usd,
                phase_started_at=now,
                created_at=now,
                updated_at=now,
            )
            session.add(goal)
            session.flush()
            audit(
                session,
                actor=actor,
                action="goal.started",
                now=now,
                goal=goal,
                source=source,
                title=goal.title,
                **({"budget_usd": budget_usd} if budget_usd is not None else {}),  # type: ignore[arg-type]
            )
            if channel_id:
                add_effect(
                    session, key=f"card:{goal_id}:post", kind="slack.post_card", goal_id=goal_id, now=now
                )
            add_effect(
                session,
                key=f"draft:{goal_id}:{Phase.SCAFFOLD_CHECK.value}:0:1",
                kind="draft",
                goal_id=goal_id,
                now=now,
                phase=Phase.SCAFFOLD_CHECK.value,
                version=1,
            )
            add_effect(
                session,
                key=f"publish:{goal_id}:started",
                kind="repo.publish_state",
                goal_id=goal_id,
                now=now,
                message=f"orch({goal_id}): start goal — {goal.title}",
            )
        self._committed()
        return goal

    def _once_per_window(
        self, session: Session, actor: Actor, channel_id: str | None, brief: str, now: datetime
    ) -> None:
        """Claim this person's text for the window, or raise DuplicateStart if it is claimed."""
        key = f"start:{actor.id}:{channel_id or '-'}:{sha256_text(brief)}"
        row = session.exec(
            select(ProcessedDelivery).where(ProcessedDelivery.key == key).with_for_update()
        ).first()
        if row is not None and (now - row.at).total_seconds() < self.start_dedupe_seconds:
            earlier = session.exec(
                select(Goal.id)
                .where(
                    Goal.requester == actor.id,
                    Goal.channel_id == channel_id,
                    Goal.brief == brief,
                    Goal.source == "slash",
                )
                .order_by(col(Goal.created_at).desc(), col(Goal.id).desc())
                .limit(1)
            ).first()
            raise DuplicateStart(earlier, (now - row.at).total_seconds())
        if row is None:
            session.add(ProcessedDelivery(key=key, at=now))
        else:
            row.at = now
            session.add(row)
        try:
            session.flush()
        except IntegrityError:  # the same text claimed by a concurrent request a moment ago (PostgreSQL)
            raise DuplicateStart(None, 0) from None

    def start_another(self, *, goal_id: str, actor: Actor) -> Goal:
        """The person confirms a second goal with the same text as `goal_id` (their "Start another")."""
        with read_session(self.engine) as session:
            earlier = session.get(Goal, goal_id)
        if earlier is None or earlier.requester != actor.id:
            raise InvalidInput("Only the person who typed the command can start another goal from it.")
        return self.start_goal(
            brief=earlier.brief,
            actor=actor,
            channel_id=earlier.channel_id,
            source="slash",
            confirmed=True,
        )

    # -- drafts ------------------------------------------------------------------------------

    def record_draft(
        self,
        *,
        goal_id: str,
        phase: str,
        version: int,
        content: str,
        summary: str,
        drafted_by: str,
        offline: bool,
        tasks: list[dict[str, Any]] | None = None,
        task_id: int = 0,
        feedback: str | None = None,
        run_id: str | None = None,
        secrets: Iterable[str] = (),
    ) -> Artifact | None:
        """Store a drafted artifact version and ask for a decision. Replays are no-ops.

        `secrets` are where the builder's unredacted diff adds one (`path:line — kind`).
        """
        now = self.clock()
        with transaction(self.engine) as session:
            goal = load_goal_for_update(session, goal_id)
            if goal is None or goal.state != GoalState.ACTIVE or goal.phase != phase:
                return None
            existing = session.exec(
                select(Artifact).where(
                    Artifact.goal_id == goal_id,
                    Artifact.phase == phase,
                    Artifact.version == version,
                    Artifact.task_id == task_id,
                )
            ).first()
            if existing is not None:
                return existing
            artifact = Artifact(
                goal_id=goal_id,
                phase=phase,
                version=version,
                task_id=task_id,
                content=content,
                summary=summary,
                sha256=sha256_text(content),
                drafted_by=drafted_by,
                offline=offline,
                feedback=feedback,
                created_at=now,
            )
            session.add(artifact)
            if tasks is not None:
                artifact_tasks = tasks
                goal.tasks = artifact_tasks
            goal.status = PhaseStatus.AWAITING_APPROVAL
            goal.updated_at = now
            session.add(goal)
            session.flush()
            audit(
                session,
                actor=Actor("bot"),
                action="artifact.drafted",
                now=now,
                goal=goal,
                sha=artifact.sha256,
                run_id=run_id,
                version=version,
                task_id=task_id or None,
                drafted_by=drafted_by,
            )
            add_effect(
                session,
                key=f"artifact:{goal_id}:{phase}:{task_id}:{version}:post",
                kind="slack.post_artifact",
                goal_id=goal_id,
                now=now,
                artifact_id=artifact.id,
            )
            self._card_effect(session, goal, now, f"{phase}:{task_id}:{version}:drafted")
            ask_builder_to_fix(session, goal, artifact, now, list(secrets))  # a diff adding one goes back
        self._committed()
        return artifact

    # -- decisions ---------------------------------------------------------------------------

    def current_artifact(self, session: Session, goal: Goal) -> Artifact | None:
        return session.exec(
            select(Artifact)
            .where(Artifact.goal_id == goal.id, Artifact.phase == goal.phase)
            .order_by(col(Artifact.id).desc())
            .limit(1)
        ).first()

    def _authority_now(self, goal_id: str, actor: Actor) -> dict[str, bool]:
        """Who, of the clicker and those who approved this gate so far, may decide it now.

        Worked out before the write transaction: a group lookup asks Slack, and no Slack call should
        hold the database's write lock (or a reader waiting for it). Anyone missing from the answer
        (a concurrent approval) is looked up inside the transaction instead.

        Someone who is not an approver at all may decide no goal, whatever its starter chose: that
        answer needs no read of the goal (a click by anyone else is refused the same way).
        """
        if not self.directory.is_approver(actor.id):
            return {actor.id: False}
        with read_session(self.engine) as session:
            goal = session.get(Goal, goal_id)
            if goal is None:
                return {}
            chosen = list(goal.approvers)
            earlier = session.exec(
                select(Approval.by).where(
                    Approval.goal_id == goal.id,
                    Approval.phase == goal.phase,
                    Approval.decision == Decision.APPROVE.value,
                )
            ).all()
        return {who: self.directory.may_decide(who, chosen) for who in {actor.id, *earlier}}

    def _may(self, goal: Goal, who: str, known: dict[str, bool]) -> bool:
        if who not in known:
            known[who] = self.directory.may_decide(who, goal.approvers)
        return known[who]

    def _check_authority(self, goal: Goal, actor: Actor, known: dict[str, bool] | None = None) -> None:
        # The goal's chosen approvers and the configuration as they are now, not as they were.
        if not self._may(goal, actor.id, {} if known is None else known):
            raise NotAnApprover(goal.id, LABELS[Phase(goal.phase)])
        if actor.id == goal.requester and not self.allow_self_approval:
            raise SelfApproval(goal.id)

    def _counting_approvals(
        self, session: Session, goal: Goal, sha256: str, actor: Actor, known: dict[str, bool]
    ) -> set[str]:
        """Who approved this version and may still decide it: an approval by someone removed from
        the configuration (or not chosen for the goal) since stops counting toward N of M."""
        given = set(
            session.exec(
                select(Approval.by).where(
                    Approval.goal_id == goal.id,
                    Approval.artifact_sha256 == sha256,
                    Approval.decision == Decision.APPROVE.value,
                )
            ).all()
        )
        return {by for by in given if by == actor.id or self._may(goal, by, known)}

    def refuse(self, *, goal_id: str, actor: Actor, reason: str, **payload: Any) -> None:
        """Audit a refused action in its own transaction (the refusal itself changes nothing)."""
        now = self.clock()
        with transaction(self.engine) as session:
            goal = session.get(Goal, goal_id) if goal_id else None
            audit(
                session,
                actor=actor,
                action="decision.refused",
                now=now,
                goal=goal,
                reason=reason,
                goal_id=None if goal else goal_id,
                **payload,
            )

    def decide(
        self,
        *,
        goal_id: str,
        phase: str | None,
        sha256: str | None,
        decision: Decision,
        actor: Actor,
        reason: str | None = None,
        slack_channel: str | None = None,
        slack_ts: str | None = None,
        clicked: ClickedMessage | None = None,
    ) -> DecisionOutcome:
        """Approve, request changes on, or reject the artifact version with this sha256.

        `phase=None, sha256=None` mean "the current phase and version" (the CLI); Slack buttons always
        carry both, and `clicked`, the message they were clicked on, which must show that version.
        """
        if clicked is not None:
            slack_channel, slack_ts = clicked.channel, clicked.ts
        decision = Decision(decision)
        if decision is not Decision.APPROVE and not (reason or "").strip():
            what = "feedback" if decision is Decision.REQUEST_CHANGES else "a reason"
            raise InvalidInput(f"Please give {what}.")
        if decision is Decision.REQUEST_CHANGES and sha256 is None:
            redone = self._redo_failed_work(goal_id, actor, reason)
            if redone is not None:
                return redone
        now = self.clock()
        known = self._authority_now(goal_id, actor)
        try:
            with transaction(self.engine) as session:
                outcome = self._decide(
                    session,
                    goal_id,
                    phase,
                    sha256,
                    decision,
                    actor,
                    reason,
                    slack_channel,
                    slack_ts,
                    now,
                    clicked,
                    known,
                )
        except (
            WrongMessage,
            NotAnApprover,
            SelfApproval,
            StaleArtifact,
            NotAwaitingDecision,
            GoalClosed,
            SecretInDiff,
        ) as exc:
            self.refuse(
                goal_id=goal_id,
                actor=actor,
                reason=type(exc).__name__,
                phase=phase,
                sha=sha256,
                decision=decision.value,
            )
            raise
        if not outcome.duplicate:
            self._committed()
        return outcome

    def _redo_failed_work(self, goal_id: str, actor: Actor, feedback: str | None) -> DecisionOutcome | None:
        """Request changes on a goal whose draft or build failed (no artifact to decide on): it runs
        again with the feedback. None when the goal is not held by failed work."""
        from bot.jobs import recovery  # local: the jobs package imports this module

        if not recovery.has_failed_work(self.engine, goal_id):
            return None
        recovery.retry_failed(self, goal_id=goal_id, actor=actor, feedback=feedback)
        goal = self.get(goal_id)
        return DecisionOutcome(goal.id, goal.phase, Decision.REQUEST_CHANGES.value, 0, "", True)

    def _decide(
        self,
        session: Session,
        goal_id: str,
        phase: str | None,
        sha256: str | None,
        decision: Decision,
        actor: Actor,
        reason: str | None,
        slack_channel: str | None,
        slack_ts: str | None,
        now: datetime,
        clicked: ClickedMessage | None = None,
        known: dict[str, bool] | None = None,
    ) -> DecisionOutcome:
        known = {} if known is None else known
        goal = load_goal_for_update(session, goal_id)
        if goal is None:
            raise GoalNotFound(goal_id)
        if clicked is not None:  # before anything else: a click elsewhere decides nothing here
            check_origin(session, goal, sha256, clicked, actor.id)
        if goal.state != GoalState.ACTIVE:
            raise GoalClosed(goal.id, goal.state)
        self._check_authority(goal, actor, known)
        if phase is None and sha256 is None and goal.status != PhaseStatus.AWAITING_APPROVAL:
            raise NotAwaitingDecision(goal.id, LABELS[Phase(goal.phase)], goal.status)
        phase = phase or goal.phase
        artifact = self.current_artifact(session, goal)
        if artifact is None or goal.phase != phase or (sha256 is not None and artifact.sha256 != sha256):
            clicked_version = session.exec(
                select(Artifact.version).where(Artifact.goal_id == goal.id, Artifact.sha256 == sha256)
            ).first()
            # A repeat of a decision already taken on that exact version is answered, not refused.
            if sha256 is not None:
                prior = _prior_decision(session, goal.id, sha256, actor, decision)
                if prior is not None:
                    return DecisionOutcome(
                        goal.id,
                        prior.phase,
                        prior.decision,
                        prior.artifact_version,
                        sha256,
                        True,
                        duplicate=True,
                    )
            raise StaleArtifact(
                clicked_version, artifact.version if artifact and goal.phase == phase else None
            )
        if goal.status != PhaseStatus.AWAITING_APPROVAL:
            if _prior_decision(session, goal.id, artifact.sha256, actor, decision) is not None:
                return DecisionOutcome(
                    goal.id, phase, decision.value, artifact.version, artifact.sha256, True, duplicate=True
                )
            raise NotAwaitingDecision(goal.id, LABELS[Phase(goal.phase)], goal.status)
        if _prior_decision(session, goal.id, artifact.sha256, actor, decision) is not None:
            return DecisionOutcome(
                goal.id, phase, decision.value, artifact.version, artifact.sha256, False, duplicate=True
            )
        if decision is Decision.APPROVE:
            refuse_secret(session, goal, artifact)  # whatever the click or command: no diff adding a secret
        session.add(
            Approval(
                goal_id=goal.id,
                phase=phase,
                artifact_version=artifact.version,
                artifact_sha256=artifact.sha256,
                decision=decision.value,
                by=actor.id,
                reason=(reason or "").strip() or None,
                slack_channel=slack_channel,
                slack_ts=slack_ts,
                at=now,
            )
        )
        session.flush()
        action = {
            "approve": "artifact.approved",
            "request_changes": "artifact.changes_requested",
            "reject": "artifact.rejected",
        }[decision.value]
        audit(
            session,
            actor=actor,
            action=action,
            now=now,
            goal=goal,
            sha=artifact.sha256,
            version=artifact.version,
            task_id=artifact.task_id or None,
            reason=reason,
        )
        tag = f"{phase}:{artifact.task_id}:{artifact.version}"
        if decision is Decision.APPROVE:
            approvers = self._counting_approvals(session, goal, artifact.sha256, actor, known)
            if len(approvers) < self.approvals_required:
                self._card_effect(session, goal, now, f"{tag}:approval:{actor.id}")
                add_effect(
                    session,
                    key=f"artifact:{goal.id}:{tag}:partial:{actor.id}",
                    kind="slack.mark_decided",
                    goal_id=goal.id,
                    now=now,
                    artifact_id=artifact.id,
                    partial=True,
                )
                return DecisionOutcome(
                    goal.id, phase, decision.value, artifact.version, artifact.sha256, False
                )
            nxt = self._complete_gate(session, goal, artifact, now, actor)
            return DecisionOutcome(
                goal.id, phase, decision.value, artifact.version, artifact.sha256, True, next_phase=nxt
            )
        from bot.services.flow import mark_decided  # local: flow imports this module's helpers

        mark_decided(session, goal, artifact, now, tag)
        if decision is Decision.REQUEST_CHANGES:
            goal.status = PhaseStatus.CHANGES_REQUESTED
            # Put the decision on record in the repo before the redraft, so it never waits on a drafter.
            add_effect(
                session,
                key=f"publish:{goal.id}:{tag}:changes",
                kind="repo.publish_state",
                goal_id=goal.id,
                now=now,
                message=f"orch({goal.id}): changes requested on {LABELS[Phase(phase)]} v{artifact.version}",
            )
            # A diff goes back to the builder with the feedback; a document to its drafter.
            redo = "build" if phase == Phase.IMPLEMENTATION.value else "draft"
            add_effect(
                session,
                key=f"{redo}:{goal.id}:{phase}:{artifact.task_id}:{artifact.version + 1}",
                kind=redo,
                goal_id=goal.id,
                now=now,
                phase=phase,
                version=artifact.version + 1,
                task_id=artifact.task_id,
                feedback=reason,
            )
        else:
            goal.status = PhaseStatus.REJECTED
            goal.state = GoalState.REJECTED
            goal.closed_reason = reason
            add_effect(
                session,
                key=f"publish:{goal.id}:rejected",
                kind="repo.publish_state",
                goal_id=goal.id,
                now=now,
                message=f"orch({goal.id}): rejected at {LABELS[Phase(phase)]}",
            )
        goal.updated_at = now
        session.add(goal)
        self._card_effect(session, goal, now, f"{tag}:{decision.value}")
        return DecisionOutcome(goal.id, phase, decision.value, artifact.version, artifact.sha256, True)

    def _complete_gate(
        self, session: Session, goal: Goal, artifact: Artifact, now: datetime, actor: Actor
    ) -> str:
        """The gate is approved: publish the artifact and move to the next phase."""
        from bot.services.flow import advance  # local: flow imports this module's helpers

        return advance(self, session, goal, artifact, now, actor)

    # -- cancel ------------------------------------------------------------------------------

    def cancel(self, *, goal_id: str, actor: Actor, reason: str | None = None) -> Goal:
        now = self.clock()
        with transaction(self.engine) as session:
            goal = load_goal_for_update(session, goal_id)
            if goal is None:
                raise GoalNotFound(goal_id)
            if goal.state != GoalState.ACTIVE:
                raise GoalClosed(goal.id, goal.state)
            if (
                actor.id != goal.requester
                and not self.directory.is_approver(actor.id)
                and not actor.id.startswith("cli:")
            ):
                raise InvalidInput(f"Only the requester or an approver can cancel {goal.id}.")
            goal.state = GoalState.CANCELLED
            goal.closed_reason = reason or "cancelled"
            goal.updated_at = now
            session.add(goal)
            audit(session, actor=actor, action="goal.cancelled", now=now, goal=goal, reason=reason)
            from bot.jobs.queue import cancel_goal_jobs  # local: the jobs package imports this module

            cancel_goal_jobs(session, goal.id, now)  # running ones stop when their worker next looks
            self._card_effect(session, goal, now, "cancelled")
            add_effect(
                session,
                key=f"publish:{goal.id}:cancelled",
                kind="repo.publish_state",
                goal_id=goal.id,
                now=now,
                message=f"orch({goal.id}): cancel goal",
            )
        self._committed()
        return goal

    # -- queries -----------------------------------------------------------------------------

    def get(self, goal_id: str) -> Goal:
        with read_session(self.engine) as session:
            goal = session.get(Goal, goal_id)
            if goal is None:
                raise GoalNotFound(goal_id)
            return goal

    def list(
        self,
        *,
        requester: str | None = None,
        channel_id: str | None = None,
        active_only: bool = False,
        limit: int = 50,
    ) -> list[Goal]:
        with read_session(self.engine) as session:
            query = select(Goal).order_by(col(Goal.created_at).desc()).limit(limit)
            if requester:
                query = query.where(Goal.requester == requester)
            if channel_id:
                query = query.where(Goal.channel_id == channel_id)
            if active_only:
                query = query.where(Goal.state == GoalState.ACTIVE)
            return list(session.exec(query).all())
