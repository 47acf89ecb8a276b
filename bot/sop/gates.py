"""The gate rules: decide, advance, the Mini-Spec decision, expiry, request again, cancel.

Every rule is a function over plain data (`bot.sop.outcomes`): the facts a use case loaded, the
request, and `now`. It returns what happened (a `Change`: the goal's new state, the audit entries
and the outbox rows, in the order they are written) or a `Refusal` saying why not. Nothing here
reads a database, asks Slack or git, or looks at a clock, so every rule is tested as data in,
data out (tests/unit/test_gates.py). The services in `bot/services/` load, call and persist.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.sop.effect_kinds import (
    ApplyScaffold,
    Build,
    Draft,
    MarkDecided,
    Merge,
    PublishArtifact,
    PublishState,
    RemoveWorktree,
    ThreadNote,
)
from bot.sop.outcomes import (
    BOT,
    SCHEDULER,
    ArtifactFacts,
    Builder,
    Change,
    Click,
    Decided,
    DecisionFacts,
    DecisionRequest,
    GoalFacts,
    LevelRecord,
    NewApproval,
    PhaseFacts,
    Policy,
    Posted,
    PriorDecision,
    Refusal,
    Refused,
    SpecSet,
)
from bot.sop.phases import LABELS, ORDER, Decision, GoalState, Phase, PhaseStatus, next_phase
from bot.sop.triggers import detect_triggers

_SLACK_USER = re.compile(r"^[UW][A-Z0-9_]{1,30}$")
ACTIONS = {
    Decision.APPROVE: "artifact.approved",
    Decision.REQUEST_CHANGES: "artifact.changes_requested",
    Decision.REJECT: "artifact.rejected",
}


def is_slack_user(ref: str) -> bool:
    """Requesters from the CLI are `cli:<name>`; only Slack users (U…, W…) can get a DM."""
    return bool(_SLACK_USER.match(ref or ""))


def label(phase: str) -> str:
    return LABELS[Phase(phase)]


# -- where a click counts ------------------------------------------------------------------------


def shown_on(goal: GoalFacts, sha256: str | None, click: Click, posted: Sequence[Posted], actor: str) -> bool:
    """A click counts only on a message the bot posted for that version: the artifact's own message,
    the goal's thread before its ts is stored, the escalation in the thread, or a reminder DM."""
    if not sha256 or not click.channel or not click.ts:
        return False
    in_thread = (
        click.channel == goal.channel_id and goal.thread_ts is not None and click.thread_ts == goal.thread_ts
    )
    for post in posted:
        if click.channel == goal.channel_id and post.message_ts == click.ts:
            return True
        if post.message_ts is None and in_thread:
            return True
        for to in post.reminders:
            if in_thread and goal.channel_id in to:
                return True
            if click.channel.startswith("D") and actor in to:
                return True
    return False


# -- decide ------------------------------------------------------------------------------------


def authority(goal: GoalFacts, actor: str, may: Mapping[str, bool], policy: Policy) -> Refusal | None:
    """Chosen for the goal and an approver now; and never the requester (separation of duties)."""
    if not may.get(actor, False):
        return Refusal(Refused.NOT_AN_APPROVER, goal.id, detail={"phase": goal.phase})
    if actor == goal.requester and not policy.allow_self_approval:
        return Refusal(Refused.SELF_APPROVAL, goal.id)
    return None


def _prior(facts: DecisionFacts, sha256: str, decision: Decision) -> PriorDecision | None:
    return next(
        (p for p in facts.priors if p.sha256 == sha256 and p.decision == decision.value),
        None,
    )


def _not_awaiting(goal: GoalFacts) -> Refusal:
    return Refusal(Refused.NOT_AWAITING, goal.id, detail={"phase": goal.phase, "status": goal.status})


def refused_first(
    goal: GoalFacts, shown: bool | None, may: Mapping[str, bool], req: DecisionRequest, policy: Policy
) -> Refusal | None:
    """The refusals `decide` checks first, which need only the goal, the clicked message and the
    person: a click on a message that does not show the version, a goal no longer active, a person
    who may not decide. A service checks them before it reads the rest of the facts (most refused
    clicks are someone who is not an approver; the gate's history is not read for them)."""
    if shown is False:  # before anything else: a click elsewhere decides nothing here
        return Refusal(Refused.WRONG_MESSAGE, goal.id)
    if goal.state != GoalState.ACTIVE:
        return Refusal(Refused.GOAL_CLOSED, goal.id, detail={"state": goal.state})
    return authority(goal, req.actor, may, policy)


def decide(facts: DecisionFacts, req: DecisionRequest, *, now: datetime, policy: Policy) -> Decided | Refusal:
    """Approve, request changes on, or reject the version with `req.sha256`.

    The refusals, in the order they are checked: a click on a message that does not show that
    version, a goal no longer active, a person who may not decide (or who started the goal), a
    gate not awaiting a decision, a version that is not the current one, a diff adding a secret.
    A repeat of a decision already taken on that version is answered as a duplicate."""
    goal, art, decision = facts.goal, facts.current, Decision(req.decision)
    if (refused := refused_first(goal, facts.shown, facts.authority, req, policy)) is not None:
        return refused
    if req.phase is None and req.sha256 is None and goal.status != PhaseStatus.AWAITING_APPROVAL:
        return _not_awaiting(goal)
    phase = req.phase or goal.phase
    if art is None or goal.phase != phase or (req.sha256 is not None and art.sha256 != req.sha256):
        if req.sha256 is not None and (prior := _prior(facts, req.sha256, decision)) is not None:
            return Decided(prior.phase, prior.decision, prior.version, req.sha256, True, duplicate=True)
        current = art.version if art is not None and goal.phase == phase else None
        return Refusal(
            Refused.STALE,
            goal.id,
            detail={"clicked_version": facts.clicked_version, "current_version": current},
        )
    if goal.status != PhaseStatus.AWAITING_APPROVAL:
        if _prior(facts, art.sha256, decision) is not None:
            return Decided(phase, decision.value, art.version, art.sha256, True, duplicate=True)
        return _not_awaiting(goal)
    if _prior(facts, art.sha256, decision) is not None:
        return Decided(phase, decision.value, art.version, art.sha256, False, duplicate=True)
    if decision is Decision.APPROVE and facts.secrets:  # whatever the click or command
        return Refusal(
            Refused.SECRET_IN_DIFF, goal.id, detail={"version": art.version, "findings": list(facts.secrets)}
        )
    approval = NewApproval(
        phase,
        art.version,
        art.sha256,
        decision.value,
        (req.reason or "").strip() or None,
        req.slack_channel,
        req.slack_ts,
    )
    b = Builder(goal)
    b.audit(
        ACTIONS[decision],
        actor=None,
        sha=art.sha256,
        version=art.version,
        task_id=art.task_id or None,
        reason=req.reason,
    )
    tag = f"{phase}:{art.task_id}:{art.version}"
    if decision is Decision.APPROVE:
        given = facts.approved_by | {req.actor}
        # An approval by someone removed from the configuration (or not chosen) stops counting.
        counting = {by for by in given if by == req.actor or facts.authority.get(by, False)}
        if len(counting) < policy.approvals_required:
            b.card(f"{tag}:approval:{req.actor}")
            b.effect(
                f"artifact:{goal.id}:{tag}:partial:{req.actor}",
                MarkDecided(artifact_id=art.id, partial=True),
            )
            return Decided(
                phase, decision.value, art.version, art.sha256, False, change=b.change(approval=approval)
            )
        nxt = advance(b, art, now=now, history=facts.history)
        change = b.change(approval=approval)
        return Decided(phase, decision.value, art.version, art.sha256, True, next_phase=nxt, change=change)
    _mark_decided(b, art, tag)
    if decision is Decision.REQUEST_CHANGES:
        b.set(status=PhaseStatus.CHANGES_REQUESTED)
        # The decision is on record in the repository before the redraft, so it never waits on a drafter.
        b.effect(
            f"publish:{goal.id}:{tag}:changes",
            PublishState(message=f"orch({goal.id}): changes requested on {label(phase)} v{art.version}"),
        )
        # A diff goes back to the builder with the feedback; a document to its drafter.
        redo = Build if phase == Phase.IMPLEMENTATION.value else Draft
        b.effect(
            f"{redo.KIND}:{goal.id}:{phase}:{art.task_id}:{art.version + 1}",
            redo(phase=phase, version=art.version + 1, task_id=art.task_id, feedback=req.reason),
        )
    else:
        b.set(status=PhaseStatus.REJECTED, state=GoalState.REJECTED, closed_reason=req.reason)
        b.effect(
            f"publish:{goal.id}:rejected",
            PublishState(message=f"orch({goal.id}): rejected at {label(phase)}"),
        )
    b.set(updated_at=now)
    b.card(f"{tag}:{decision.value}")
    return Decided(phase, decision.value, art.version, art.sha256, True, change=b.change(approval=approval))


def _mark_decided(b: Builder, art: ArtifactFacts, tag: str) -> None:
    """Replace the artifact's buttons with the decision in its thread (once per decided version)."""
    b.effect(f"artifact:{b.goal.id}:{tag}:decided", MarkDecided(artifact_id=art.id))


# -- advance -----------------------------------------------------------------------------------


def next_pending_task(tasks: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
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


def assess_spec(goal: GoalFacts, texts: Mapping[str, str]) -> GoalFacts:
    """The Mini-Spec decision: required when a trigger fires in the brief, the PRD or the task list,
    unless a person required or waived it (their word stands)."""
    found = detect_triggers(goal.brief, texts.get(Phase.PRD.value, ""), texts.get(Phase.TASK_LIST.value, ""))
    triggers = tuple(sorted({t.name for t in found}))
    said = (goal.spec_waiver or {}).get("decision")
    required = True if said == "required" else False if said == "waived" else bool(triggers)
    return goal.but(spec_triggers=triggers, spec_required=required)


def advance(b: Builder, art: ArtifactFacts, *, now: datetime, history: PhaseFacts) -> str:
    """The gate is approved: publish the artifact and move on (the next task, or the next phase)."""
    goal = b.goal
    phase = Phase(goal.phase)
    tag = f"{phase}:{art.task_id}:{art.version}"
    _mark_decided(b, art, tag)
    if phase is Phase.IMPLEMENTATION:
        b.effect(
            f"merge:{goal.id}:{art.task_id}:{art.version}", Merge(artifact_id=art.id, task_id=art.task_id)
        )
        tasks = [dict(t) for t in goal.tasks]
        for task in tasks:
            if int(task["id"]) == art.task_id:
                task["status"] = "done"
        b.set(tasks=tuple(tasks))
        following = next_pending_task(tasks)
        if following is not None:
            _start_task(b, following, history)
        else:
            # Every task is approved; the goal is done once their merges have landed (the merge
            # effect settles it), never before.
            b.set(status=PhaseStatus.APPROVED)
        b.set(updated_at=now)
        b.card(f"{tag}:approved")
        return Phase.IMPLEMENTATION.value
    if phase is Phase.TASK_LIST:
        b.goal = assess_spec(b.goal, history.texts)
        b.audit("spec.assessed", required=b.goal.spec_required, triggers=list(b.goal.spec_triggers))
    nxt = next_phase(phase, spec_required=bool(b.goal.spec_required))
    if phase is Phase.TASK_LIST and nxt is not Phase.SPEC:
        skip_spec(b)
    if nxt in (Phase.IMPLEMENTATION, Phase.DONE):
        # A build works on the repository as published: the approval is committed first.
        _publish(b, art, phase, tag, snapshot=False)
        return _enter(b, nxt, now=now, tag=tag, history=history)
    # The next phase's draft is recorded before the approval's commits, so it is drafted while they
    # are written; the commit then publishes the goal as it stands now, not as the draft left it.
    entered = _enter(b, nxt, now=now, tag=tag, history=history)
    _publish(b, art, phase, tag, snapshot=True)
    return entered


def _publish(b: Builder, art: ArtifactFacts, phase: Phase, tag: str, *, snapshot: bool) -> None:
    """Commit the approved artifact (and, for the Scaffold Check, the scaffold) to the repository."""
    goal_id = b.goal.id
    if phase is Phase.SCAFFOLD_CHECK:
        b.effect(f"scaffold:{goal_id}:{art.version}", ApplyScaffold(artifact_id=art.id))
    if snapshot:
        b.snapshot_effect(f"publish:{goal_id}:{tag}", PublishArtifact(artifact_id=art.id))
    else:
        b.effect(f"publish:{goal_id}:{tag}", PublishArtifact(artifact_id=art.id))


def skip_spec(b: Builder) -> None:
    """Say (audit and thread) why the Mini-Spec is skipped: a person's waiver or no trigger."""
    goal = b.goal
    waiver = goal.spec_waiver or {}
    waived = waiver.get("decision") == "waived"
    reason = f"waived by {waiver.get('by')}" if waived else "no trigger found"
    b.audit(
        "spec.skipped",
        phase=Phase.SPEC.value,
        reason=reason,
        justification=waiver.get("justification") if waived else None,
    )
    if goal.channel_id:
        # Keyed by the decision time, so a later waiver (after a re-entry) gets its own note.
        stamp = waiver.get("at", "triggers") if waived else "triggers"
        b.effect(
            f"note:{goal.id}:spec-skipped:{stamp}",
            ThreadNote(text=f"Mini-Spec skipped ({reason}). Next: Action Plan."),
        )


def _start_task(b: Builder, task: Mapping[str, Any], history: PhaseFacts) -> None:
    tasks = [dict(t) for t in b.goal.tasks]
    for item in tasks:
        if item["id"] == task["id"]:
            item["status"] = "in-progress"
    b.set(tasks=tuple(tasks), status=PhaseStatus.DRAFTING)
    # A task started again (a merge conflict of an earlier task stopped it) builds a new version.
    version = history.last_versions.get((Phase.IMPLEMENTATION.value, int(task["id"])), 0) + 1
    key = f"build:{b.goal.id}:{task['id']}:{version}"
    restarts = 0
    while key in history.build_keys:
        restarts += 1
        key = f"build:{b.goal.id}:{task['id']}:{version}:restart-{restarts}"
    b.effect(key, Build(task_id=int(task["id"]), version=version))


def enter(b: Builder, nxt: Phase, *, now: datetime, tag: str, history: PhaseFacts) -> str:
    """Move the goal into `nxt` (after a gate, a changed Mini-Spec decision, or the last merge)."""
    return _enter(b, nxt, now=now, tag=tag, history=history)


def _enter(b: Builder, nxt: Phase, *, now: datetime, tag: str, history: PhaseFacts) -> str:
    b.set(phase=nxt.value, phase_started_at=now, updated_at=now)
    goal = b.goal
    if nxt is Phase.DONE:
        b.set(status=PhaseStatus.APPROVED, state=GoalState.DONE)
        b.audit("goal.done")
        b.effect(
            f"publish:{goal.id}:done", PublishState(message=f"orch({goal.id}): goal done — {goal.title}")
        )
        b.effect(f"worktree:{goal.id}:remove", RemoveWorktree())
        if goal.channel_id:
            merged = sum(1 for t in goal.tasks if t.get("status") == "done")
            b.effect(
                f"note:{goal.id}:done",
                ThreadNote(
                    text=f"🎉 {goal.id} is done: {merged} task(s) merged, artifacts and mirrors committed.",
                    after_repo=True,  # it says so: posted once the commits above are made
                ),
            )
    elif nxt is Phase.IMPLEMENTATION:
        b.audit("phase.entered")
        first = next_pending_task(goal.tasks)
        if first is None:
            return _enter(b, Phase.DONE, now=now, tag=tag, history=history)
        _start_task(b, first, history)
    else:
        b.set(status=PhaseStatus.DRAFTING)
        b.audit("phase.entered")
        version = history.last_versions.get((nxt.value, 0), 0) + 1
        b.effect(
            f"draft:{goal.id}:{nxt.value}:0:{version}", Draft(phase=nxt.value, version=version, task_id=0)
        )
    b.card(f"{tag}:approved")
    return nxt.value


# -- a person's Mini-Spec decision --------------------------------------------------------------------


def set_spec(
    goal: GoalFacts,
    *,
    decision: str,
    actor: str,
    justification: str,
    may_decide: bool,
    spec_approved: bool,
    decisions_so_far: int,
    now: datetime,
    policy: Policy,
    history: PhaseFacts,
) -> SpecSet | Refusal:
    """A person requires or waives the Mini-Spec, in writing; decided late, it takes effect at once.

    Only an approver may, never the requester for a waiver (it removes a gate), and only before the
    Action Plan is approved. A goal at the Action Plan that now needs a spec (not yet approved) goes
    back to the Mini-Spec; a goal drafting a spec that is now waived moves on to the Action Plan."""
    if goal.state != GoalState.ACTIVE:
        return Refusal(Refused.GOAL_CLOSED, goal.id, detail={"state": goal.state})
    if not may_decide:
        return Refusal(Refused.NOT_AN_APPROVER, goal.id, detail={"phase": Phase.SPEC.value})
    if decision == "waived" and actor == goal.requester and not policy.allow_self_approval:
        return Refusal(Refused.SELF_APPROVAL, goal.id)
    phase = Phase(goal.phase)
    if ORDER.index(phase) > ORDER.index(Phase.ACTION_PLAN):
        return Refusal(Refused.TOO_LATE, goal.id, detail={"phase": goal.phase})
    b = Builder(goal)
    previous = (goal.spec_waiver or {}).get("decision")
    waiver = {"decision": decision, "by": actor, "at": now.isoformat(), "justification": justification}
    b.set(spec_waiver=waiver, spec_required=decision == "required", updated_at=now)
    b.audit(
        f"spec.{decision}",
        actor=None,
        justification=justification,
        previous=previous,
        triggers=list(goal.spec_triggers),
    )
    # One publish per decision, numbered, so a second decision is committed too (keys are unique).
    tag = f"spec-{decisions_so_far + 1}"
    moved = False
    if decision == "required" and phase is Phase.ACTION_PLAN and not spec_approved:
        # The Action Plan in the making rests on "no spec": back to the Mini-Spec, then a fresh plan.
        _enter(b, Phase.SPEC, now=now, tag=tag, history=history)
        moved = True
    elif decision == "waived" and phase is Phase.SPEC:
        skip_spec(b)
        _enter(b, Phase.ACTION_PLAN, now=now, tag=tag, history=history)
        moved = True
    else:
        b.card(tag)
    if goal.channel_id:
        b.effect(
            f"note:{goal.id}:{tag}", ThreadNote(text=f"Mini-Spec {decision} by <@{actor}>: {justification}")
        )
    b.effect(
        f"publish:{goal.id}:spec-{decisions_so_far + 1}",
        PublishState(message=f"orch({goal.id}): mini-spec {decision} — {goal.title}"),
    )
    return SpecSet(b.change(), moved)


# -- who may act on a goal ------------------------------------------------------------------------


def may_act(goal: GoalFacts, actor: str, is_approver: bool) -> bool:
    """Cancel, retry, request again: the requester, an approver, or an operator at the CLI."""
    return actor == goal.requester or is_approver or actor.startswith("cli:")


# -- cancel ------------------------------------------------------------------------------------


def cancel(
    goal: GoalFacts, *, actor: str, is_approver: bool, reason: str | None, now: datetime
) -> Change | Refusal:
    """Stop the goal: its queued work is cancelled, the card says so, the repository records it."""
    if goal.state != GoalState.ACTIVE:
        return Refusal(Refused.GOAL_CLOSED, goal.id, detail={"state": goal.state})
    if not may_act(goal, actor, is_approver):
        return Refusal(
            Refused.NOT_ALLOWED, goal.id, f"Only the requester or an approver can cancel {goal.id}."
        )
    b = Builder(goal)
    b.set(state=GoalState.CANCELLED, closed_reason=reason or "cancelled", updated_at=now)
    b.audit("goal.cancelled", actor=None, reason=reason)
    b.card("cancelled")
    b.effect(f"publish:{goal.id}:cancelled", PublishState(message=f"orch({goal.id}): cancel goal"))
    return b.change(cancel_jobs=True)


# -- expiry (the SLA's last level) ----------------------------------------------------------------


def gate_open(goal: GoalFacts, current: ArtifactFacts | None, artifact_id: int | None) -> bool:
    """The goal still awaits a decision on that very artifact."""
    return (
        goal.state == GoalState.ACTIVE
        and goal.status == PhaseStatus.AWAITING_APPROVAL
        and current is not None
        and current.id == artifact_id
    )


def sla_tag(goal: GoalFacts, art: ArtifactFacts) -> str:
    return f"{goal.id}:{goal.phase}:{art.task_id}:v{art.version}"


def expire(
    goal: GoalFacts, art: ArtifactFacts, *, now: datetime, age: str, notes_not_before: datetime | None
) -> Change:
    """The TTL has run out: the gate becomes `expired` (never approved); the requester is told.

    The gate closes now; its messages wait for `notes_not_before` (the end of quiet hours)."""
    tag = sla_tag(goal, art)
    to = (goal.requester,) if is_slack_user(goal.requester) else ()
    b = Builder(goal)
    b.set(status=PhaseStatus.EXPIRED, updated_at=now)
    b.audit(
        "approval.expired",
        actor=SCHEDULER,
        sha=art.sha256,
        version=art.version,
        task_id=art.task_id or None,
        age=age,
        to=list(to),
    )
    if goal.channel_id:
        b.card(f"{goal.phase}:{art.task_id}:{art.version}:expired")
        b.effect(
            f"note:{tag}:expired",
            ThreadNote(
                text=f"⌛ The approval request for {label(goal.phase)} v{art.version} "
                f"expired after {age} without a decision; nothing was approved. "
                f"<@{goal.requester}> can request it again."
            ),
            not_before=notes_not_before,
        )
    return b.change(level=LevelRecord(f"sla:expired:{tag}", "expired", art.version, to))


# -- request again ---------------------------------------------------------------------------------


def rerequest(
    goal: GoalFacts, current: ArtifactFacts | None, *, actor: str, is_approver: bool
) -> Refusal | None:
    """May the expired gate be requested again (its content posted as the next version)?"""
    if goal.state != GoalState.ACTIVE:
        return Refusal(Refused.GOAL_CLOSED, goal.id, detail={"state": goal.state})
    if not may_act(goal, actor, is_approver):
        return Refusal(
            Refused.NOT_ALLOWED, goal.id, f"Only the requester or an approver can request {goal.id} again."
        )
    if goal.status != PhaseStatus.EXPIRED:
        return Refusal(
            Refused.NOT_EXPIRED,
            goal.id,
            f"{goal.id} {label(goal.phase)} has not expired "
            f"(it is {goal.status.replace('_', ' ')}); there is nothing to request again.",
        )
    if current is None:
        return Refusal(Refused.NO_ARTIFACT, goal.id, f"{goal.id} has no artifact to request again.")
    return None


def rerequested(goal: GoalFacts, new: ArtifactFacts, *, previous_version: int) -> Change:
    """The renewed version is posted: put the renewal on record (once per version)."""
    b = Builder(goal)
    b.audit(
        "approval.rerequested",
        actor=None,
        sha=new.sha256,
        version=new.version,
        previous_version=previous_version,
        task_id=new.task_id or None,
    )
    key = f"rerequest:{goal.id}:{goal.phase}:{new.task_id}:v{new.version}"
    return b.change(level=LevelRecord(key, "rerequested", new.version))


# -- ask the approvers -------------------------------------------------------------------------------


def ask_approvers(
    goal: GoalFacts, current: ArtifactFacts | None, *, approvers: Sequence[str], note: str, now: datetime
) -> Change | Refusal:
    """Remind the approvers in the goal's thread that the current version waits for them.

    `note` is already redacted."""
    if goal.status != PhaseStatus.AWAITING_APPROVAL or current is None:
        return Refusal(
            Refused.NOT_AWAITING, goal.id, f"{goal.id} is {goal.status}: there is nothing to approve yet"
        )
    b = Builder(goal)
    b.audit(
        "approval.requested", actor=None, sha=current.sha256, version=current.version, note=note[:500] or None
    )
    if goal.channel_id:
        who = " ".join(f"<@{a}>" for a in approvers) or "approvers"
        text = f"{who}: {goal.id} {goal.phase} v{current.version} is waiting for your decision."
        if note.strip():
            text += f" {note.strip()[:500]}"
        b.effect(
            f"note:{goal.id}:approval-requested:{current.sha256[:12]}:{now.isoformat()}",
            ThreadNote(text=text),
        )
    return b.change()


# -- learned conventions (a proposal, not a goal, under the same separation of duties) -------------


def adopt_learning(
    proposal: str, *, proposed_by: str, actor: str, is_approver: bool, allow_self_approval: bool
) -> Refusal | None:
    if not is_approver:
        return Refusal(
            Refused.NOT_AN_APPROVER,
            proposal,
            "Only an approver can adopt learned conventions. `/orch approvers` lists them.",
        )
    if actor == proposed_by and not allow_self_approval:
        return Refusal(
            Refused.SELF_APPROVAL,
            proposal,
            f"You proposed {proposal}, so another approver must approve it (separation of duties).",
        )
    return None


def discard_learning(proposal: str, *, proposed_by: str, actor: str, is_approver: bool) -> Refusal | None:
    if actor != proposed_by and not is_approver:
        return Refusal(
            Refused.NOT_ALLOWED, proposal, "Only the proposer or an approver can discard a learn proposal."
        )
    return None


__all__ = [
    "BOT",
    "SCHEDULER",
    "Change",
    "Click",
    "Decided",
    "DecisionFacts",
    "DecisionRequest",
    "PhaseFacts",
    "Policy",
    "Posted",
    "PriorDecision",
    "Refusal",
    "SpecSet",
    "adopt_learning",
    "advance",
    "ask_approvers",
    "assess_spec",
    "cancel",
    "decide",
    "discard_learning",
    "enter",
    "expire",
    "gate_open",
    "is_slack_user",
    "may_act",
    "next_pending_task",
    "rerequest",
    "rerequested",
    "set_spec",
    "shown_on",
    "skip_spec",
]
