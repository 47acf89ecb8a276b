"""From rows to the procedure's facts and a rule's `Change` back into rows, for use cases and jobs
alike: this module reaches neither the job queue nor the other services, so the jobs the queue
runs may use it too."""

from __future__ import annotations

from datetime import datetime

from bot.services.unit import Actor, add_effect, audit
from bot.sop.outcomes import ArtifactFacts, Change, GoalFacts
from storage.models import Approval, Artifact, Goal
from storage.repositories import Approvals, AuditReads, Reminders
from storage.sessions import Session


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


def write_change(session: Session, goal: Goal, change: Change, *, actor: Actor, now: datetime) -> None:
    """Write `change` into the open transaction (rows, audit entries, outbox), in that order. Its
    `cancel_jobs` is left to `bot.services.changes.apply_change`, which may reach the job queue."""
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
