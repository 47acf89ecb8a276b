"""Build the state-of-record entries (`tasks/index.json`, `tasks/events.jsonl`) from the database."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.sop.phases import CANONICAL_FILES, MIRROR_FILES, Phase
from bot.sop.records import ApprovalRecord, ArtifactRecord, GoalRecord, SpecWaiver, TaskRecord
from storage.models import Approval, Artifact, ArtifactReview, Goal
from storage.repositories import Approvals, ArtifactReviews, Artifacts, AuditReads, Counters
from storage.sessions import Session

# After `orch repair --from-repo` the audit log starts afresh while `tasks/events.jsonl` already holds
# `audit-1` … `audit-N` from the lost database; new events are numbered past them (see repair).
EVENTS_BASE = "events_base"


def goal_record(session: Session, goal: Goal) -> GoalRecord:
    approvals = Approvals(session).of_goal(goal.id)
    reaffirmed = ArtifactReviews(session).of_goal(goal_id=goal.id)
    records = _artifact_records(goal.id, Artifacts(session).documents(goal_id=goal.id), approvals, reaffirmed)
    waiver = SpecWaiver.model_validate(goal.spec_waiver) if goal.spec_waiver else None
    return GoalRecord(
        id=goal.id,
        title=goal.title,
        requester=goal.requester,
        channel=goal.channel_id,
        thread_ts=goal.thread_ts,
        phase=goal.phase,
        status=goal.status,
        state=goal.state,
        mode=goal.mode,
        spec_required=goal.spec_required,
        spec_triggers=list(goal.spec_triggers),
        spec_waiver=waiver,
        created=goal.created_at,
        updated=goal.updated_at,
        artifacts=records,
        approvals=_approval_records(approvals, reaffirmed),
        tasks=[TaskRecord.model_validate(t) for t in goal.tasks],
    )


def artifact_records(session: Session, goal_ids: Sequence[str]) -> dict[str, list[ArtifactRecord]]:
    """The `artifacts` of many goals' records, in three queries (what `goal_record` says of each)."""
    documents = Artifacts(session).document_versions(goal_ids)
    approvals = Approvals(session).of_goals(goal_ids)
    reaffirmed = ArtifactReviews(session).of_goals(goal_ids)
    return {g: _artifact_records(g, documents[g], approvals[g], reaffirmed[g]) for g in goal_ids}


def _artifact_records(
    goal_id: str, artifacts: list[Artifact], approvals: list[Approval], reaffirmed: list[ArtifactReview]
) -> list[ArtifactRecord]:
    """The latest version of each phase's document, with who approved and last reviewed it."""
    latest: dict[str, Artifact] = {}
    for art in artifacts:
        latest[art.phase] = art
    records = []
    for phase, art in latest.items():
        approved = [a for a in approvals if a.artifact_sha256 == art.sha256 and a.decision == "approve"]
        reviews: list[Approval | ArtifactReview] = [a for a in approvals if a.artifact_sha256 == art.sha256]
        reviews += [r for r in reaffirmed if r.artifact_sha256 == art.sha256]
        records.append(
            ArtifactRecord(
                phase=phase,
                path=f"tasks/{goal_id}/{CANONICAL_FILES[Phase(phase)]}",
                version=art.version,
                sha256=art.sha256,
                approved_sha256=art.sha256 if approved else None,
                last_review=max((a.at for a in reviews), default=None),
                reviewed_by=sorted({a.by for a in reviews}),
                mirror_path=MIRROR_FILES.get(Phase(phase)),
            )
        )
    return records


def _approval_records(approvals: list[Approval], reaffirmed: list[ArtifactReview]) -> list[ApprovalRecord]:
    records = [
        ApprovalRecord(
            phase=a.phase,
            decision=a.decision,  # type: ignore[arg-type]  # stored as text, written from Decision
            by=a.by,
            at=a.at,
            artifact_version=a.artifact_version,
            artifact_sha256=a.artifact_sha256,
            reason=a.reason,
            slack_channel=a.slack_channel,
            slack_ts=a.slack_ts,
        )
        for a in approvals
    ]
    records += [
        ApprovalRecord(
            phase=r.phase,
            decision="reaffirm",
            by=r.by,
            at=r.at,
            artifact_version=r.artifact_version,
            artifact_sha256=r.artifact_sha256,
        )
        for r in reaffirmed
    ]
    # Chronological, as the index has always listed them (a stable sort keeps ties in place).
    return sorted(records, key=lambda r: r.at) if reaffirmed else records


def events_base(session: Session) -> int:
    """How far event numbers are shifted past those of a database that was lost (0 normally)."""
    return Counters(session).value(EVENTS_BASE) or 0


def pending_events(session: Session, goal_id: str) -> list[dict[str, Any]]:
    """Every audit entry of the goal as an event; the publisher appends only the new ones."""
    base = events_base(session)
    entries = AuditReads(session).of_goal(goal_id=goal_id)
    return [
        {
            "id": f"audit-{(e.seq or 0) + base}",
            "seq": (e.seq or 0) + base,
            "at": e.at.isoformat(),
            "actor": e.actor,
            "action": e.action,
            "goal": e.goal_id,
            "phase": e.phase,
            "artifact_sha256": e.artifact_sha256,
            "hash": e.hash,
        }
        for e in entries
    ]
