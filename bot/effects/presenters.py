"""Turn database rows into the builders' view models (kept here so builders stay pure)."""

from __future__ import annotations

from datetime import datetime

from bot.blocks.elevation import ModeRequestView
from bot.blocks.view_models import ArtifactView, DecisionView, DiffView, GoalCardView
from bot.services.gates import approvals_of
from bot.sop.phases import LABELS, GoalState, Mode, Phase, PhaseStatus
from storage.models import Approval, Artifact, Goal, ModeRequest
from storage.sessions import Session


def goal_card_view(
    goal: Goal,
    *,
    next_approvers: list[str],
    offline: bool,
    sla_due: datetime | None = None,
    pull_request_url: str | None = None,
) -> GoalCardView:
    awaiting = goal.status == PhaseStatus.AWAITING_APPROVAL and goal.state == GoalState.ACTIVE
    return GoalCardView(
        goal_id=goal.id,
        title=goal.title,
        requester=goal.requester,
        phase=Phase(goal.phase),
        phase_label=LABELS[Phase(goal.phase)],
        status=PhaseStatus(goal.status),
        state=GoalState(goal.state),
        mode=Mode(goal.mode),
        next_approvers=next_approvers if awaiting else [],
        sla_due=sla_due if awaiting else None,
        spec_required=goal.spec_required,
        spec_triggers=list(goal.spec_triggers),
        offline=offline,
        offer_elevation=True,
        pull_request_url=pull_request_url,
        repo=goal.repo,
    )


def approvals_for(session: Session, artifact: Artifact) -> list[Approval]:
    return approvals_of(session, artifact)


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


def diff_view(
    artifact: Artifact,
    task_title: str,
    *,
    files: list[tuple[str, int, int]],
    tests_summary: str | None,
    secret_findings: list[str],
) -> DiffView:
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


def mode_request_view(row: ModeRequest, tz: str) -> ModeRequestView:
    return ModeRequestView(
        request_id=row.id or 0,
        goal_id=row.goal_id,
        mode=Mode(row.mode),
        justification=row.justification,
        requested_by=row.requested_by,
        status=row.status,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        tz=tz,
    )


def _task_title(goal: Goal, task_id: int) -> str:
    task = next((t for t in goal.tasks if str(t.get("id")) == str(task_id)), None)
    return str(task.get("title", "")) if task else ""


def progress_text(
    goal: Goal,
    artifact: Artifact | None,
    *,
    approved: int = 0,
    required: int = 1,
    held: str | None = None,
    posted: bool = True,
) -> str:
    """The one line the goal's progress message shows: what is happening now, or what it waits for.

    `posted=False`: the latest version is drafted but not yet in the thread. The thread then still
    shows its drafting, so the line does too: it is a projection of what the thread shows, and
    reads the same whichever of the draft and the thread's earlier posts was done first."""
    label = LABELS[Phase(goal.phase)]
    state = GoalState(goal.state)
    if state is GoalState.DONE and held == "failed":
        return "⚠️ Every gate is approved, but a commit or merge failed: the message below says what to do."
    if state is GoalState.DONE and held == "finishing":
        return "⏳ Every gate is approved; finishing the commits and merges."
    if state is GoalState.DONE:
        merged = sum(1 for t in goal.tasks if t.get("status") == "done")
        return f"🎉 Done: every gate approved, {merged} task(s) merged."
    if state is GoalState.REJECTED:
        return f"⛔ Stopped: {label} was rejected."
    if state is GoalState.CANCELLED:
        return "✖ Cancelled: no more work happens on this goal."
    status = PhaseStatus(goal.status)
    implementation = Phase(goal.phase) is Phase.IMPLEMENTATION
    current = artifact if artifact is not None and artifact.phase == goal.phase else None
    drafted_unseen = status is PhaseStatus.AWAITING_APPROVAL and current is not None and not posted
    if status is PhaseStatus.AWAITING_APPROVAL and current is not None and posted:
        what = (
            f"the diff of task {current.task_id} (v{current.version})"
            if implementation
            else f"{label} v{current.version}"
        )
        count = f" ({approved} of {required} approvals)" if required > 1 else ""
        return f"⏳ Waiting for a decision on {what}{count}."
    if status is PhaseStatus.FAILED:
        what = "The build" if implementation else f"Drafting the {label}"
        return f"⚠️ {what} failed; see the message below: Retry, Request changes or Cancel."
    again = status is PhaseStatus.CHANGES_REQUESTED or (drafted_unseen and bool(current and current.feedback))
    if implementation and status is PhaseStatus.BLOCKED:
        blocked = next((t for t in goal.tasks if t.get("status") == "blocked"), None)
        which = f"Task {blocked['id']}" if blocked else "A task"
        return f"🧱 {which} conflicts with a change on main: choose how to go on in the thread."
    if implementation and status is PhaseStatus.APPROVED:
        return "🔀 Every task is approved: merging into main…"
    if implementation:
        task = next((t for t in goal.tasks if t.get("status") == "in-progress"), None)
        if task is not None:
            title = _task_title(goal, int(task["id"]))
            return f"🛠 Building task {task['id']}: {title}{' again, with the feedback' if again else ''}…"
        return "🛠 Building…"
    if Phase(goal.phase) is Phase.SCAFFOLD_CHECK:
        return "🔎 Checking the repository's scaffold…"
    return f"✍️ Redrafting {label} with the feedback…" if again else f"✍️ Drafting {label}…"
