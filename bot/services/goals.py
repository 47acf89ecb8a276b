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

from bot.faults import fault_point
from bot.redact import redact
from bot.services.authority import ApproverDirectory
from bot.services.changes import apply_change, artifact_facts, goal_facts, phase_facts, refusal_error
from bot.services.diff_secrets import SecretInDiff, ask_builder_to_fix, findings_for
from bot.services.errors import (
    DuplicateStart,
    GoalClosed,
    GoalNotFound,
    InvalidInput,
    NotAnApprover,
    NotAwaitingDecision,
    SelfApproval,
    ServiceError,
    StaleArtifact,
    WrongMessage,
)
from bot.services.origin import ClickedMessage, posted_for
from bot.services.unit import Actor, Clock, add_effect, audit, load_goal_for_update, next_goal_id, sha256_text
from bot.sop import drafts, gates
from bot.sop.effect_kinds import Draft, PostCard, PublishState, UpdateCard
from bot.sop.gates import Policy
from bot.sop.outcomes import Refusal
from bot.sop.phases import Decision, GoalState, Mode, Phase, PhaseStatus
from storage.db import read_session, transaction
from storage.models import Artifact, Goal, ProcessedDelivery
from storage.repositories import Approvals, Artifacts, Deliveries, Goals
from storage.sessions import Engine, IntegrityError, Session

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


# Refusals a person can act on that are audited as `decision.refused`.
REFUSALS = (
    WrongMessage,
    NotAnApprover,
    SelfApproval,
    StaleArtifact,
    NotAwaitingDecision,
    GoalClosed,
    SecretInDiff,
)


@dataclass(frozen=True)
class AuditedRefusal:
    """A decision the rules refused, with its audit entry written in the decision's transaction."""

    error: ServiceError


def _audit_refusal(
    session: Session,
    actor: Actor,
    now: datetime,
    goal: Goal | None,
    goal_id: str,
    reason: str,
    **payload: Any,
) -> None:
    """The `decision.refused` entry: who was refused what, and why (the refusal's class name)."""
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
    # The named repositories (`[repos.<name>]`) and the channels that use one by default.
    repos: frozenset[str] = frozenset()
    channel_repos: dict[str, str] = field(default_factory=dict)

    # -- helpers -----------------------------------------------------------------------------

    def _committed(self) -> None:
        fault_point("after_state_commit")  # crash tests: the state is committed, no effect has run yet
        for callback in self.kick:
            callback()

    def _card_effect(self, session: Session, goal: Goal, now: datetime, tag: str) -> None:
        if goal.channel_id:
            add_effect(session, key=f"card:{goal.id}:{tag}", goal_id=goal.id, now=now, payload=UpdateCard())

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
        repo: str | None = None,
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
        repo = self.repo_for_start(repo, channel_id)
        wanted = list(dict.fromkeys(a for a in approvers if a))
        outsiders = [a for a in wanted if not self.directory.is_approver(a, repo=repo)]
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
                repo=repo,
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
                **({"repo": repo} if repo else {}),
                **({"budget_usd": budget_usd} if budget_usd is not None else {}),  # type: ignore[arg-type]
            )
            if channel_id:
                add_effect(session, key=f"card:{goal_id}:post", goal_id=goal_id, now=now, payload=PostCard())
            add_effect(
                session,
                key=f"draft:{goal_id}:{Phase.SCAFFOLD_CHECK.value}:0:1",
                goal_id=goal_id,
                now=now,
                payload=Draft(phase=Phase.SCAFFOLD_CHECK.value, version=1),
            )
            add_effect(
                session,
                key=f"publish:{goal_id}:started",
                goal_id=goal_id,
                now=now,
                payload=PublishState(message=f"orch({goal_id}): start goal — {goal.title}"),
            )
        self._committed()
        return goal

    def repo_for_start(self, repo: str | None, channel_id: str | None) -> str | None:
        """The repository a new goal targets: the one asked for, else the channel's default (set with
        `/orch repo use`, else `channels` in the configuration), else the deployment's ORCH_REPO (None)."""
        if repo:
            name = repo.strip().lower()
            if name not in self.repos:
                known = ", ".join(f"`{n}`" for n in sorted(self.repos)) or "none are configured"
                raise InvalidInput(f"There is no repository `{redact(name)[:40]}` here (known: {known}).")
            return name
        if not channel_id:
            return None
        from bot.services.repos import channel_default

        chosen = channel_default(self.engine, channel_id)
        if chosen in self.repos:
            return chosen
        return self.channel_repos.get(channel_id)

    def _once_per_window(
        self, session: Session, actor: Actor, channel_id: str | None, brief: str, now: datetime
    ) -> None:
        """Claim this person's text for the window, or raise DuplicateStart if it is claimed."""
        key = f"start:{actor.id}:{channel_id or '-'}:{sha256_text(brief)}"
        row = Deliveries(session).for_update(key)
        if row is not None and (now - row.at).total_seconds() < self.start_dedupe_seconds:
            earlier = Goals(session).latest_from_slash(actor.id, channel_id, brief)
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
            earlier = Goals(session).get(goal_id)
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
            if goal is None or not drafts.takes_draft(goal_facts(goal), phase):
                return None
            existing = Artifacts(session).find(goal_id, phase, version, task_id)
            if existing is not None:
                return existing
            artifact = Artifacts(session).add(
                Artifact(
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
            )
            session.flush()
            change = drafts.drafted(
                goal_facts(goal),
                artifact_id=int(artifact.id or 0),  # flushed: it has its id
                phase=phase,
                version=version,
                task_id=task_id,
                sha256=artifact.sha256,
                drafted_by=drafted_by,
                run_id=run_id,
                tasks=tasks,
                at=now,
            )
            apply_change(session, goal, change, actor=Actor("bot"), now=now)
            ask_builder_to_fix(session, goal, artifact, now, list(secrets))  # a diff adding one goes back
        self._committed()
        return artifact

    # -- decisions ---------------------------------------------------------------------------

    @property
    def policy(self) -> Policy:
        return Policy(self.approvals_required, self.allow_self_approval)

    def _authority_now(self, goal_id: str, actor: Actor) -> dict[str, bool]:
        """Who, of the clicker and those who approved this gate so far, may decide it now.

        Worked out before the write transaction: a group lookup asks Slack, and no Slack call should
        hold the database's write lock (or a reader waiting for it). Anyone missing from the answer
        (a concurrent approval) is looked up inside the transaction instead.

        Someone who is an approver nowhere (neither globally nor on any repository) may decide no
        goal, whatever its starter chose: that answer needs no read of the goal.
        """
        if not self.directory.is_approver_anywhere(actor.id):
            return {actor.id: False}
        with read_session(self.engine) as session:
            goal = Goals(session).get(goal_id)
            if goal is None:
                return {}
            chosen, repo = list(goal.approvers), goal.repo
            earlier = Approvals(session).approvers_in_phase(goal.id, goal.phase)
        return {who: self.directory.may_decide(who, chosen, repo=repo) for who in {actor.id, *earlier}}

    def _may(self, goal: Goal, who: str, known: dict[str, bool]) -> bool:
        if who not in known:
            known[who] = self.directory.may_decide(who, goal.approvers, repo=goal.repo)
        return known[who]

    def _check_authority(self, goal: Goal, actor: Actor, known: dict[str, bool] | None = None) -> None:
        # The goal's chosen approvers and the configuration as they are now, not as they were.
        known = {} if known is None else known
        self._may(goal, actor.id, known)
        refused = gates.authority(goal_facts(goal), actor.id, known, self.policy)
        if refused is not None:
            raise refusal_error(refused)

    def refuse(self, *, goal_id: str, actor: Actor, reason: str, **payload: Any) -> None:
        """Audit a refused action in its own transaction (the refusal itself changes nothing)."""
        now = self.clock()
        with transaction(self.engine) as session:
            goal = Goals(session).get(goal_id) if goal_id else None
            _audit_refusal(session, actor, now, goal, goal_id, reason, **payload)

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
        request = gates.DecisionRequest(decision, actor.id, phase, sha256, reason, slack_channel, slack_ts)
        try:
            with transaction(self.engine) as session:
                outcome = self._decide(session, goal_id, request, actor, now, clicked, known)
        except REFUSALS as exc:
            self.refuse(
                goal_id=goal_id,
                actor=actor,
                reason=type(exc).__name__,
                phase=phase,
                sha=sha256,
                decision=decision.value,
            )
            raise
        if isinstance(outcome, AuditedRefusal):
            raise outcome.error  # committed with its audit entry, and nothing else
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
        request: gates.DecisionRequest,
        actor: Actor,
        now: datetime,
        clicked: ClickedMessage | None,
        known: dict[str, bool],
    ) -> DecisionOutcome | AuditedRefusal:
        """Load the gate's facts, apply the decision rule, write what it returns (a refusal: its
        audit entry only)."""
        goal = load_goal_for_update(session, goal_id)
        if goal is None:
            raise GoalNotFound(goal_id)
        shown = self._shown(session, goal, request, clicked)
        result: gates.Decided | Refusal | None = self._refused_first(goal, request, shown, known)
        if result is None:
            facts = self._decision_facts(session, goal, request, shown, known)
            result = gates.decide(facts, request, now=now, policy=self.policy)
        if isinstance(result, Refusal):
            error = refusal_error(result)
            if not isinstance(error, REFUSALS):
                raise error
            # The refusal changes nothing but the audit log: say it in this transaction, which
            # commits only that, rather than rolling back and opening another (one write, not two).
            _audit_refusal(
                session,
                actor,
                now,
                goal,
                goal.id,
                type(error).__name__,
                phase=request.phase,
                sha=request.sha256,
                decision=request.decision.value,
            )
            return AuditedRefusal(error)
        if result.change is not None:
            apply_change(session, goal, result.change, actor=actor, now=now)
        return DecisionOutcome(
            goal.id,
            result.phase,
            result.decision,
            result.version,
            result.sha256,
            result.complete,
            duplicate=result.duplicate,
            next_phase=result.next_phase,
        )

    def _refused_first(
        self, goal: Goal, request: gates.DecisionRequest, shown: bool | None, known: dict[str, bool]
    ) -> Refusal | None:
        """`gates.refused_first` from the little it needs: the clicked message and the person."""
        facts = goal_facts(goal)
        if shown is not False and goal.state == GoalState.ACTIVE:
            self._may(goal, request.actor, known)
        return gates.refused_first(facts, shown, known, request, self.policy)

    def _shown(
        self, session: Session, goal: Goal, request: gates.DecisionRequest, clicked: ClickedMessage | None
    ) -> bool | None:
        if clicked is None:
            return None
        sha = request.sha256
        return gates.shown_on(
            goal_facts(goal), sha, clicked, posted_for(session, goal.id, sha), request.actor
        )

    def _decision_facts(
        self,
        session: Session,
        goal: Goal,
        request: gates.DecisionRequest,
        shown: bool | None,
        known: dict[str, bool],
    ) -> gates.DecisionFacts:
        """Everything else the decision rule reads, once `_refused_first` let the click through (so
        the message shows the version, the goal is active and the actor's authority is in `known`),
        from the open transaction; `known` is completed for anyone who approved since."""
        facts = goal_facts(goal)
        sha = request.sha256
        artifacts = Artifacts(session)
        current = artifacts.current(goal)
        approved_by: set[str] = set()
        secrets: list[str] = []
        if current is not None:
            approved_by = Approvals(session).approvers_of(goal.id, current.sha256)
            if request.decision is Decision.APPROVE:
                secrets = findings_for(session, current)
        if request.decision is Decision.APPROVE:
            for who in approved_by:
                self._may(goal, who, known)
        priors = tuple(
            gates.PriorDecision(p.artifact_sha256, p.phase, p.decision, p.artifact_version)
            for p in Approvals(session).by_person(goal.id, request.actor, request.decision.value)
        )
        return gates.DecisionFacts(
            goal=facts,
            current=artifact_facts(current),
            clicked_version=artifacts.version_with_sha(goal.id, sha) if sha is not None else None,
            priors=priors,
            approved_by=frozenset(approved_by),
            authority=dict(known),
            secrets=tuple(secrets),
            shown=shown,
            history=phase_facts(session, goal),
        )

    # -- cancel ------------------------------------------------------------------------------

    def cancel(self, *, goal_id: str, actor: Actor, reason: str | None = None) -> Goal:
        now = self.clock()
        with transaction(self.engine) as session:
            goal = load_goal_for_update(session, goal_id)
            if goal is None:
                raise GoalNotFound(goal_id)
            is_approver = (
                goal.state == GoalState.ACTIVE
                and actor.id != goal.requester
                and self.directory.is_approver(actor.id, repo=goal.repo)
            )
            result = gates.cancel(
                goal_facts(goal), actor=actor.id, is_approver=is_approver, reason=reason, now=now
            )
            if isinstance(result, Refusal):
                raise refusal_error(result)
            apply_change(session, goal, result, actor=actor, now=now)
        self._committed()
        return goal

    # -- asking the approvers, and what other interfaces record --------------------------------

    def request_approval(self, *, goal_id: str, actor: Actor, note: str = "") -> tuple[Artifact, list[str]]:
        """Remind the goal's approvers in its thread that the current artifact waits for them."""
        now = self.clock()
        with transaction(self.engine) as session:
            goal = load_goal_for_update(session, goal_id)
            if goal is None:
                raise GoalNotFound(goal_id)
            artifact = Artifacts(session).current(goal)
            approvers = sorted(goal.approvers or self.directory.approvers())
            result = gates.ask_approvers(
                goal_facts(goal), artifact_facts(artifact), approvers=approvers, note=redact(note), now=now
            )
            if isinstance(result, Refusal):
                raise refusal_error(result)
            assert artifact is not None
            apply_change(session, goal, result, actor=actor, now=now)
        return artifact, approvers

    def record_activity(self, *, goal: Goal | None, actor: Actor, action: str, **payload: Any) -> None:
        """One audit entry for something done outside the procedure (a draft submitted, a Codex run)."""
        with transaction(self.engine) as session:
            audit(session, actor=actor, action=action, now=self.clock(), goal=goal, **payload)

    # -- queries -----------------------------------------------------------------------------

    def get(self, goal_id: str) -> Goal:
        with read_session(self.engine) as session:
            goal = Goals(session).get(goal_id)
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
            return Goals(session).newest(
                requester=requester, channel_id=channel_id, active_only=active_only, limit=limit
            )
