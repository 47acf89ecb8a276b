"""The fixed operating procedure: phases, per-phase statuses and the order between them.

This module is pure: no I/O, no clock, no database. Services ask it what may happen next.
"""

from __future__ import annotations

from enum import StrEnum


class Phase(StrEnum):
    SCAFFOLD_CHECK = "scaffold_check"
    PRD = "prd"
    TASK_LIST = "task_list"
    SPEC = "spec"
    ACTION_PLAN = "action_plan"
    IMPLEMENTATION = "implementation"
    DONE = "done"


class PhaseStatus(StrEnum):
    DRAFTING = "drafting"
    AWAITING_APPROVAL = "awaiting_approval"
    CHANGES_REQUESTED = "changes_requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    SKIPPED = "skipped"
    BLOCKED = "blocked"  # a task's merge conflicts with main: a person chooses how to go on
    # The phase's draft or build failed after its retries: a person retries, redirects or cancels
    # (or the model's return retries it); nothing moves until then.
    FAILED = "failed"


class GoalState(StrEnum):
    ACTIVE = "active"
    DONE = "done"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class Decision(StrEnum):
    APPROVE = "approve"
    REQUEST_CHANGES = "request_changes"
    REJECT = "reject"


class Mode(StrEnum):
    READ_ONLY = "read-only"
    WORKSPACE_WRITE = "workspace-write"
    FULL_ACCESS = "full-access"


ORDER: tuple[Phase, ...] = (
    Phase.SCAFFOLD_CHECK,
    Phase.PRD,
    Phase.TASK_LIST,
    Phase.SPEC,
    Phase.ACTION_PLAN,
    Phase.IMPLEMENTATION,
    Phase.DONE,
)

# Human labels, used in Slack messages, mirrors and the CLI.
LABELS: dict[Phase, str] = {
    Phase.SCAFFOLD_CHECK: "Scaffold Check",
    Phase.PRD: "PRD",
    Phase.TASK_LIST: "Task List",
    Phase.SPEC: "Mini-Spec",
    Phase.ACTION_PLAN: "Action Plan",
    Phase.IMPLEMENTATION: "Implementation",
    Phase.DONE: "Done",
}

# Canonical file names under tasks/<goal-id>/ and the mirror each phase appends to under docs/.
CANONICAL_FILES: dict[Phase, str] = {
    Phase.SCAFFOLD_CHECK: "scaffold-check.md",
    Phase.PRD: "prd.md",
    Phase.TASK_LIST: "tasks.md",
    Phase.SPEC: "spec.md",
    Phase.ACTION_PLAN: "action-plan.md",
}
MIRROR_FILES: dict[Phase, str] = {
    Phase.PRD: "docs/PRD.md",
    Phase.TASK_LIST: "docs/TASKS.md",
    Phase.SPEC: "docs/TECH_SPEC.md",
    Phase.ACTION_PLAN: "docs/ACTION_PLAN.md",
}


def next_phase(current: Phase, *, spec_required: bool) -> Phase:
    """The phase that follows `current` once it is approved; the spec is skipped unless required."""
    if current is Phase.DONE:
        raise ValueError("a done goal has no next phase")
    nxt = ORDER[ORDER.index(current) + 1]
    if nxt is Phase.SPEC and not spec_required:
        return ORDER[ORDER.index(Phase.SPEC) + 1]
    return nxt
