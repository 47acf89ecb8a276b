"""From rows to the procedure's facts and back: load what a rule reads, write what it returns.

`apply_change` writes a rule's `Change` into the caller's transaction: the goal's new state, the
approval, the audit entries (in order) and then the outbox rows, so a state change, its audit entry
and its effects commit together or not at all.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.services.errors import (
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
from bot.services.unit import Actor, add_effect, audit
from bot.sop.gates import PhaseFacts, label
from bot.sop.outcomes import ArtifactFacts, Change, GoalFacts, Refusal, Refused
from bot.sop.phases import Phase
from storage.models import Approval, Artifact, Goal
from storage.repositories import Approvals, Artifacts, AuditReads, Effects, Reminders


def goal_facts(goal: Goal) -> GoalFacts:
    return GoalFacts(
        id=goal.id,
        title=goal.title,
        requester=goal.requester,
        phase=goal.phase,
        status=goal.status,
        state=goal.state,
        brief=goal.brief,
        mode=goal.mode,
        channel_id=goal.channel_id,
        thread_ts=goal.thread_ts,
        approvers=tuple(goal.approvers or ()),
        tasks=tuple(dict(t) for t in goal.tasks or ()),
        spec_required=goal.spec_required,
        spec_triggers=tuple(goal.spec_triggers or ()),
        spec_waiver=dict(goal.spec_waiver) if goal.spec_waiver is not None else None,
        closed_reason=goal.closed_reason,
        phase_started_at=goal.phase_started_at,
        updated_at=goal.updated_at,
    )


def artifact_facts(artifact: Artifact | None) -> ArtifactFacts | None:
    if artifact is None:
        return None
    return ArtifactFacts(
        id=artifact.id or 0,
        phase=artifact.phase,
        version=artifact.version,
        sha256=artifact.sha256,
        task_id=artifact.task_id,
        message_ts=artifact.message_ts,
        created_at=artifact.created_at,
    )


def phase_facts(session: Session, goal: Goal) -> PhaseFacts:
    """What entering a phase or starting a task reads: versions so far, build keys, the texts the
    Mini-Spec triggers read (only when the Task List is the gate being passed)."""
    artifacts = Artifacts(session)
    texts: dict[str, str] = {}
    if goal.phase == Phase.TASK_LIST.value:
        texts = {p.value: artifacts.newest_text(goal.id, p.value) for p in (Phase.PRD, Phase.TASK_LIST)}
    return PhaseFacts(
        last_versions=artifacts.last_versions(goal.id),
        build_keys=Effects(session).keys_with_prefix(f"build:{goal.id}:"),
        texts=texts,
    )


def _copy_state(goal: Goal, facts: GoalFacts) -> None:
    goal.phase = facts.phase
    goal.status = facts.status
    goal.state = facts.state
    if list(goal.tasks or []) != [dict(t) for t in facts.tasks]:
        goal.tasks = [dict(t) for t in facts.tasks]
    goal.spec_required = facts.spec_required
    if facts.spec_waiver is not None and goal.spec_waiver != dict(facts.spec_waiver):
        goal.spec_waiver = dict(facts.spec_waiver)
    if list(goal.spec_triggers or []) != list(facts.spec_triggers):
        goal.spec_triggers = list(facts.spec_triggers)
    goal.closed_reason = facts.closed_reason
    if facts.phase_started_at is not None:
        goal.phase_started_at = facts.phase_started_at
    if facts.updated_at is not None:
        goal.updated_at = facts.updated_at


def apply_change(session: Session, goal: Goal, change: Change, *, actor: Actor, now: datetime) -> None:
    """Write `change` into the open transaction (rows, audit entries, outbox), in that order."""
    _copy_state(goal, change.goal)
    session.add(goal)
    if change.approval is not None:
        a = change.approval
        Approvals(session).add(
            Approval(
                goal_id=goal.id,
                phase=a.phase,
                artifact_version=a.version,
                artifact_sha256=a.sha256,
                decision=a.decision,
                by=actor.id,
                reason=a.reason,
                slack_channel=a.slack_channel,
                slack_ts=a.slack_ts,
                at=now,
            )
        )
    if change.level is not None:
        level = change.level
        Reminders(session).add(
            key=level.key,
            level=level.level,
            goal_id=goal.id,
            phase=goal.phase,
            version=level.version,
            recipients=level.recipients,
            now=now,
        )
    for event in change.events:
        audit(
            session,
            actor=actor if event.actor is None else Actor(event.actor),
            action=event.action,
            now=now,
            goal=goal,
            phase=event.phase,
            sha=event.sha,
            justification=event.justification,
            **dict(event.payload),
        )
    if change.cancel_jobs:
        from bot.jobs.queue import cancel_goal_jobs  # local: the jobs package imports the services

        cancel_goal_jobs(session, goal.id, now)  # running ones stop when their worker next looks
    for effect in change.effects:
        payload = effect.data
        if effect.snapshot:
            # The commit shows the goal as this transaction leaves it, with its audit entries so far.
            from bot.services.state_of_record import goal_record

            session.flush()
            payload = payload.model_copy(
                update={
                    "record": goal_record(session, goal).model_dump(mode="json"),
                    "events_until": AuditReads(session).last_seq(goal.id),
                }
            )
        add_effect(
            session, key=effect.key, goal_id=goal.id, now=now, payload=payload, not_before=effect.not_before
        )


def refusal_error(refusal: Refusal) -> ServiceError:
    """The sentence a person is shown for a rule's refusal."""
    r, goal_id, d = refusal.reason, refusal.goal_id, refusal.detail
    if r is Refused.GOAL_NOT_FOUND:
        return GoalNotFound(goal_id)
    if r is Refused.WRONG_MESSAGE:
        return WrongMessage(goal_id)
    if r is Refused.GOAL_CLOSED:
        return GoalClosed(goal_id, str(d.get("state")))
    if r is Refused.NOT_AN_APPROVER:
        return NotAnApprover(goal_id, label(str(d.get("phase"))))
    if r is Refused.SELF_APPROVAL and not refusal.message:
        return SelfApproval(goal_id)
    if r is Refused.NOT_AWAITING and not refusal.message:
        return NotAwaitingDecision(goal_id, label(str(d.get("phase"))), str(d.get("status")))
    if r is Refused.STALE:
        return StaleArtifact(d.get("clicked_version"), d.get("current_version"))
    if r is Refused.SECRET_IN_DIFF:
        from bot.services.diff_secrets import SecretInDiff  # local: it imports this module's neighbours

        return SecretInDiff(goal_id, int(d.get("version") or 0), list(d.get("findings") or []))
    return InvalidInput(refusal.message)
