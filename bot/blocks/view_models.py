"""What the Block Kit builders are given: plain, frozen data, not database rows.

Handlers and services fill these in; the builders only read them. Enum-typed fields also accept the
enum's string value (`"prd"` for `Phase.PRD`), because the builders coerce them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from bot.sop.phases import GoalState, Mode, Phase, PhaseStatus


@dataclass(frozen=True)
class GoalCardView:
    goal_id: str
    title: str
    requester: str  # Slack user id
    phase: Phase
    phase_label: str
    status: PhaseStatus
    state: GoalState
    mode: Mode
    next_approvers: list[str] = field(default_factory=list)  # user ids (U…/W…) or user groups (S…)
    sla_due: datetime | None = None
    spec_required: bool | None = None  # None: not assessed yet
    spec_triggers: list[str] = field(default_factory=list)
    thread_permalink: str | None = None
    pull_request_url: str | None = None  # the goal's pull request on the Git host, once opened
    offline: bool = False
    # Show the "Request elevated mode" button (while the goal is active and not yet full-access).
    offer_elevation: bool = False
    # A done goal with steps still unmade: "finishing" (they wait or run) or "failed".
    held: str | None = None
    # What its model usage cost so far, against its budget (bot/services/budgets.py), when known.
    cost: str | None = None


@dataclass(frozen=True)
class ArtifactView:
    goal_id: str
    phase: Phase
    phase_label: str
    version: int
    sha256: str
    markdown: str
    summary: str
    drafted_by: str
    offline: bool = False
    feedback_addressed: str | None = None
    approvals_needed: int = 1
    approvals_so_far: list[str] = field(default_factory=list)


DecisionKind = Literal["approve", "request_changes", "reject"]


@dataclass(frozen=True)
class DecisionView:
    decision: DecisionKind
    by: str  # Slack user id
    at: datetime
    version: int
    sha256: str
    reason: str | None = None
    tz: str = "UTC"  # IANA name the time is shown in


@dataclass(frozen=True)
class DiffView:
    goal_id: str
    task_id: int | str  # Task Master ids are ints; subtasks are dotted strings like "3.2"
    task_title: str
    version: int
    sha256: str
    files: list[tuple[str, int, int]] = field(default_factory=list)  # (path, added, removed)
    diff_text: str = ""
    tests_summary: str | None = None
    secret_findings: list[str] = field(default_factory=list)  # "path:line what"


# (goal_id, title, phase_label, age_text, sla_text, permalink)
PendingApproval = tuple[str, str, str, str, str, str | None]
# (goal_id, title, phase_label, status)
MyGoal = tuple[str, str, str, str]


@dataclass(frozen=True)
class HomeView:
    user: str
    pending_approvals: list[PendingApproval] = field(default_factory=list)
    my_goals: list[MyGoal] = field(default_factory=list)
    recent: list[str] = field(default_factory=list)
    # Goals a person must look at: (goal id, what is wrong and what to do), failed steps first.
    attention: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class ButtonRef:
    """What a decision button points at, decoded from its (untrusted) value."""

    goal_id: str
    phase: Phase
    version: int
    sha256: str
    task_id: int | str | None = None
