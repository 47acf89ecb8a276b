"""What happens when a gate is approved: publish, decide the mini-spec, move to the next phase.

Kept apart from goals.py so the rules of the procedure read in one place.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlmodel import Session, func, select

from bot.services.unit import Actor, add_effect, audit
from bot.sop.phases import GoalState, Phase, PhaseStatus, next_phase
from storage.audit import AuditEntry
from storage.models import Artifact, Effect, Goal

if TYPE_CHECKING:
    from bot.services.goal_port import GoalsPort as GoalService


def _approved_text(session: Session, goal: Goal, phase: Phase) -> str:
    row = session.exec(
        select(Artifact)
        .where(Artifact.goal_id == goal.id, Artifact.phase == phase.value)
        .order_by(Artifact.version.desc())  # type: ignore[attr-defined]
    ).first()
    return row.content if row else ""


def decide_spec(session: Session, goal: Goal, now: datetime) -> None:
    """Detect the mini-spec triggers from the brief, the PRD and the task list (unless a person set it)."""
    from bot.sop.triggers import detect_triggers

    waiver = goal.spec_waiver or {}
    texts = [
        goal.brief,
        _approved_text(session, goal, Phase.PRD),
        _approved_text(session, goal, Phase.TASK_LIST),
    ]
    found = detect_triggers(*texts)
    goal.spec_triggers = sorted({t.name for t in found})
    if waiver.get("decision") == "required":
        goal.spec_required = True
    elif waiver.get("decision") == "waived":
        goal.spec_required = False
    else:
        goal.spec_required = bool(goal.spec_triggers)


def next_pending_task(tasks: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The first pending task whose dependencies are all done (Task Master's `next`, priority first)."""
    done = {str(t["id"]) for t in tasks if t.get("status") == "done"}
    rank = {"high": 0, "medium": 1, "low": 2}
    ready = [
        t
        for t in tasks
        if t.get("status", "pending") in ("pending", "in-progress")
        and all(str(d).split(".")[0] in done for d in t.get("dependencies", []))
    ]
    ready.sort(key=lambda t: (rank.get(t.get("priority", "medium"), 1), int(t["id"])))
    return ready[0] if ready else None


def mark_decided(session: Session, goal: Goal, artifact: Artifact, now: datetime, tag: str) -> None:
    """Replace the artifact's buttons with the decision in its thread (once per decided version)."""
    add_effect(
        session,
        key=f"artifact:{goal.id}:{tag}:decided",
        kind="slack.mark_decided",
        goal_id=goal.id,
        now=now,
        artifact_id=artifact.id,
    )


def advance(
    service: GoalService, session: Session, goal: Goal, artifact: Artifact, now: datetime, actor: Actor
) -> str:
    phase = Phase(goal.phase)
    tag = f"{phase}:{artifact.task_id}:{artifact.version}"
    mark_decided(session, goal, artifact, now, tag)
    if phase is Phase.IMPLEMENTATION:
        add_effect(
            session,
            key=f"merge:{goal.id}:{artifact.task_id}:{artifact.version}",
            kind="repo.merge",
            goal_id=goal.id,
            now=now,
            artifact_id=artifact.id,
            task_id=artifact.task_id,
        )
        tasks = [dict(t) for t in goal.tasks]
        for task in tasks:
            if int(task["id"]) == artifact.task_id:
                task["status"] = "done"
        goal.tasks = tasks
        following = next_pending_task(tasks)
        if following is not None:
            _start_task(session, goal, following, now)
        else:
            # Every task is approved; the goal is done once their merges have landed (the merge
            # effect settles it, bot.services.merges), never before.
            goal.status = PhaseStatus.APPROVED
        goal.updated_at = now
        session.add(goal)
        service._card_effect(session, goal, now, f"{tag}:approved")
        return Phase.IMPLEMENTATION.value

    if phase is Phase.TASK_LIST:
        decide_spec(session, goal, now)
        audit(
            session,
            actor=Actor("bot"),
            action="spec.assessed",
            now=now,
            goal=goal,
            required=goal.spec_required,
            triggers=goal.spec_triggers,
        )
    nxt = next_phase(phase, spec_required=bool(goal.spec_required))
    if phase in (Phase.TASK_LIST,) and nxt is not Phase.SPEC:
        record_spec_skip(session, goal, now)
    if nxt in (Phase.IMPLEMENTATION, Phase.DONE):
        # A build works on the repository as published: the approval is committed first.
        _publish_effects(session, goal, artifact, phase, tag, now, snapshot=False)
        return _enter(service, session, goal, nxt, now, actor, tag)
    # The next phase's draft is recorded before the approval's commits, so it is drafted while they
    # are written; the commit then publishes the goal as it stands now, not as the draft left it.
    entered = _enter(service, session, goal, nxt, now, actor, tag)
    _publish_effects(session, goal, artifact, phase, tag, now, snapshot=True)
    return entered


def _publish_effects(
    session: Session, goal: Goal, artifact: Artifact, phase: Phase, tag: str, now: datetime, *, snapshot: bool
) -> None:
    """Commit the approved artifact (and, for the Scaffold Check, the scaffold) to the repository.

    With `snapshot` the goal's record and its last audit entry are taken now, in the approval's
    transaction, for the commit to show whatever runs before it does."""
    if phase is Phase.SCAFFOLD_CHECK:
        add_effect(
            session,
            key=f"scaffold:{goal.id}:{artifact.version}",
            kind="repo.apply_scaffold",
            goal_id=goal.id,
            now=now,
            artifact_id=artifact.id,
        )
    state: dict[str, Any] = {}
    if snapshot:
        from bot.services.state_of_record import goal_record

        session.flush()
        state["record"] = goal_record(session, goal).model_dump(mode="json")
        state["events_until"] = session.exec(
            select(func.max(AuditEntry.seq)).where(AuditEntry.goal_id == goal.id)
        ).one()
    add_effect(
        session,
        key=f"publish:{goal.id}:{tag}",
        kind="repo.publish_artifact",
        goal_id=goal.id,
        now=now,
        artifact_id=artifact.id,
        **state,
    )


def record_spec_skip(session: Session, goal: Goal, now: datetime) -> None:
    """Audit (and tell the thread) why the Mini-Spec is skipped: a person's waiver or no trigger."""
    waiver = goal.spec_waiver or {}
    waived = waiver.get("decision") == "waived"
    reason = f"waived by {waiver.get('by')}" if waived else "no trigger found"
    audit(
        session,
        actor=Actor("bot"),
        action="spec.skipped",
        now=now,
        goal=goal,
        phase=Phase.SPEC.value,
        reason=reason,
        justification=waiver.get("justification") if waived else None,
    )
    if goal.channel_id:
        # Keyed by the audit-visible decision time so a later waiver (after a re-entry) gets its own note.
        stamp = waiver.get("at", "triggers") if waived else "triggers"
        add_effect(
            session,
            key=f"note:{goal.id}:spec-skipped:{stamp}",
            kind="slack.thread_note",
            goal_id=goal.id,
            now=now,
            text=f"Mini-Spec skipped ({reason}). Next: Action Plan.",
        )


def enter_phase(
    service: GoalService, session: Session, goal: Goal, nxt: Phase, now: datetime, actor: Actor, tag: str
) -> str:
    """Move the goal into `nxt` outside a gate approval (a person changed the mini-spec decision)."""
    return _enter(service, session, goal, nxt, now, actor, tag)


def _next_version(session: Session, goal: Goal, phase: Phase) -> int:
    """Versions only grow: a phase entered again (the Mini-Spec re-opened) drafts after its last one."""
    last = session.exec(
        select(Artifact.version)
        .where(Artifact.goal_id == goal.id, Artifact.phase == phase.value, Artifact.task_id == 0)
        .order_by(Artifact.version.desc())  # type: ignore[attr-defined]
    ).first()
    return (last or 0) + 1


def _start_task(session: Session, goal: Goal, task: dict[str, Any], now: datetime) -> None:
    tasks = [dict(t) for t in goal.tasks]
    for item in tasks:
        if item["id"] == task["id"]:
            item["status"] = "in-progress"
    goal.tasks = tasks
    goal.status = PhaseStatus.DRAFTING
    # A task started again (a merge conflict of an earlier task stopped it) builds a new version.
    last = session.exec(
        select(Artifact.version)
        .where(Artifact.goal_id == goal.id, Artifact.phase == Phase.IMPLEMENTATION.value)
        .where(Artifact.task_id == int(task["id"]))
        .order_by(Artifact.version.desc())  # type: ignore[attr-defined]
    ).first()
    version = (last or 0) + 1
    key = f"build:{goal.id}:{task['id']}:{version}"
    restarts = 0
    while session.exec(select(Effect.id).where(Effect.key == key)).first() is not None:
        restarts += 1
        key = f"build:{goal.id}:{task['id']}:{version}:restart-{restarts}"
    add_effect(
        session,
        key=key,
        kind="build",
        goal_id=goal.id,
        now=now,
        task_id=int(task["id"]),
        version=version,
    )


def _enter(
    service: GoalService, session: Session, goal: Goal, nxt: Phase, now: datetime, actor: Actor, tag: str
) -> str:
    goal.phase = nxt.value
    goal.phase_started_at = now
    goal.updated_at = now
    if nxt is Phase.DONE:
        goal.status = PhaseStatus.APPROVED
        goal.state = GoalState.DONE
        audit(session, actor=Actor("bot"), action="goal.done", now=now, goal=goal)
        add_effect(
            session,
            key=f"publish:{goal.id}:done",
            kind="repo.publish_state",
            goal_id=goal.id,
            now=now,
            message=f"orch({goal.id}): goal done — {goal.title}",
        )
        add_effect(
            session, key=f"worktree:{goal.id}:remove", kind="repo.remove_worktree", goal_id=goal.id, now=now
        )
        if goal.channel_id:
            merged = sum(1 for t in goal.tasks if t.get("status") == "done")
            add_effect(
                session,
                key=f"note:{goal.id}:done",
                kind="slack.thread_note",
                goal_id=goal.id,
                now=now,
                text=f"🎉 {goal.id} is done: {merged} task(s) merged, artifacts and mirrors committed.",
                after_repo=True,  # it says so: posted once the commits above are made
            )
    elif nxt is Phase.IMPLEMENTATION:
        audit(session, actor=Actor("bot"), action="phase.entered", now=now, goal=goal)
        first = next_pending_task(goal.tasks)
        if first is None:
            return _enter(service, session, goal, Phase.DONE, now, actor, tag)
        _start_task(session, goal, first, now)
    else:
        goal.status = PhaseStatus.DRAFTING
        audit(session, actor=Actor("bot"), action="phase.entered", now=now, goal=goal)
        version = _next_version(session, goal, nxt)
        add_effect(
            session,
            key=f"draft:{goal.id}:{nxt.value}:0:{version}",
            kind="draft",
            goal_id=goal.id,
            now=now,
            phase=nxt.value,
            version=version,
            task_id=0,
        )
    session.add(goal)
    service._card_effect(session, goal, now, f"{tag}:approved")
    return nxt.value
