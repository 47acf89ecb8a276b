"""Turn database rows into the builders' view models (kept here so builders stay pure)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from bot.blocks.models import ArtifactView, DecisionView, DiffView, GoalCardView
from bot.sop.phases import LABELS, GoalState, Mode, Phase, PhaseStatus
from storage.models import Approval, Artifact, Goal


def goal_card_view(goal: Goal, *, next_approvers: list[str], offline: bool) -> GoalCardView:
    return GoalCardView(
        goal_id=goal.id,
        title=goal.title,
        requester=goal.requester,
        phase=Phase(goal.phase),
        phase_label=LABELS[Phase(goal.phase)],
        status=PhaseStatus(goal.status),
        state=GoalState(goal.state),
        mode=Mode(goal.mode),
        next_approvers=next_approvers if goal.status == PhaseStatus.AWAITING_APPROVAL else [],
        spec_required=goal.spec_required,
        spec_triggers=list(goal.spec_triggers),
        offline=offline,
    )


def approvals_for(session: Session, artifact: Artifact) -> list[Approval]:
    return list(
        session.exec(
            select(Approval).where(Approval.artifact_sha256 == artifact.sha256, Approval.goal_id == artifact.goal_id)
            .order_by(col(Approval.id))
        ).all()
    )


def artifact_view(artifact: Artifact, *, approvals_needed: int, approvals: list[Approval]) -> ArtifactView:
    return ArtifactView(
        goal_id=artifact.goal_id,
        phase=Phase(artifact.phase),
        phase_label=LABELS[Phase(artifact.phase)],
        version=artifact.version,
        sha256=artifact.sha256,
        markdown=artifact.content,
        summary=artifact.summary,
        drafted_by=artifact.drafted_by,
        offline=artifact.offline,
        feedback_addressed=artifact.feedback,
        approvals_needed=approvals_needed,
        approvals_so_far=[a.by for a in approvals if a.decision == "approve"],
    )


def decision_view(approval: Approval, artifact: Artifact, tz: str) -> DecisionView:
    return DecisionView(
        decision=approval.decision,  # type: ignore[arg-type]
        by=approval.by,
        at=approval.at,
        version=artifact.version,
        sha256=artifact.sha256,
        reason=approval.reason,
        tz=tz,
    )


def diff_view(artifact: Artifact, task_title: str, *, files: list[tuple[str, int, int]],
              tests_summary: str | None, secret_findings: list[str]) -> DiffView:
    return DiffView(
        goal_id=artifact.goal_id,
        task_id=artifact.task_id,
        task_title=task_title,
        version=artifact.version,
        sha256=artifact.sha256,
        files=files,
        diff_text=artifact.content,
        tests_summary=tests_summary,
        secret_findings=secret_findings,
    )
