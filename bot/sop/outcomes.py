"""The plain data the gate rules read and return (`bot.sop.gates`).

A use case loads these from the database, hands them to a rule, and writes back what the rule
returns: the goal's new state, the audit entries and the outbox rows, in one transaction. Nothing
here knows a table, a Slack message or a clock: timestamps come in as values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.sop.effect_kinds import Payload, UpdateCard
from bot.sop.phases import Decision

BOT = "bot"
SCHEDULER = "scheduler"


@dataclass(frozen=True)
class GoalFacts:
    """A goal as the rules see it; a rule returns a changed copy, never edits this one."""

    id: str
    title: str
    requester: str
    phase: str
    status: str
    state: str
    brief: str = ""
    mode: str = "read-only"
    channel_id: str | None = None
    thread_ts: str | None = None
    approvers: tuple[str, ...] = ()
    tasks: tuple[Mapping[str, Any], ...] = ()
    spec_required: bool | None = None
    spec_triggers: tuple[str, ...] = ()
    spec_waiver: Mapping[str, Any] | None = None
    closed_reason: str | None = None
    phase_started_at: datetime | None = None
    updated_at: datetime | None = None

    def but(self, **changes: Any) -> GoalFacts:
        return replace(self, **changes)


@dataclass(frozen=True)
class ArtifactFacts:
    """One stored version of a phase's artifact (its content stays in the database)."""

    id: int
    phase: str
    version: int
    sha256: str
    task_id: int = 0
    message_ts: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class Event:
    """One audit entry. `actor=None` is the person (or principal) who acted; `bot` and
    `scheduler` name the orchestrator itself."""

    action: str
    phase: str | None
    actor: str | None = None
    sha: str | None = None
    justification: str | None = None
    payload: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Effect:
    """One outbox row: `kind` names its handler; a key already recorded makes it a no-op.

    `snapshot` asks the writer to add the goal's record and its last audit sequence number as the
    transaction has them (a commit then shows whatever ran before it); `not_before` holds a message
    back (quiet hours) while the change itself is recorded now."""

    key: str
    data: Payload
    snapshot: bool = False
    not_before: datetime | None = None

    @property
    def kind(self) -> str:
        return self.data.KIND

    @property
    def payload(self) -> dict[str, Any]:
        """The payload as it is stored."""
        return self.data.data()


@dataclass(frozen=True)
class NewApproval:
    """A decision to store, bound to the artifact version's sha256."""

    phase: str
    version: int
    sha256: str
    decision: str
    reason: str | None
    slack_channel: str | None = None
    slack_ts: str | None = None


@dataclass(frozen=True)
class LevelRecord:
    """A level of the SLA (or a renewed request) recorded once per artifact version."""

    key: str
    level: str
    version: int | None
    recipients: tuple[str, ...] = ()


@dataclass(frozen=True)
class Change:
    """What a rule made happen: the goal's new state and what to write with it."""

    goal: GoalFacts
    events: tuple[Event, ...] = ()
    effects: tuple[Effect, ...] = ()
    approval: NewApproval | None = None
    level: LevelRecord | None = None
    cancel_jobs: bool = False  # the goal's queued agent work stops (running work at its next look)


class Refused(StrEnum):
    GOAL_NOT_FOUND = "goal_not_found"
    WRONG_MESSAGE = "wrong_message"
    GOAL_CLOSED = "goal_closed"
    NOT_AN_APPROVER = "not_an_approver"
    SELF_APPROVAL = "self_approval"
    NOT_AWAITING = "not_awaiting"
    STALE = "stale"
    SECRET_IN_DIFF = "secret_in_diff"
    NOT_ALLOWED = "not_allowed"
    NOT_EXPIRED = "not_expired"
    NO_ARTIFACT = "no_artifact"
    TOO_LATE = "too_late"


@dataclass(frozen=True)
class Refusal:
    """A rule said no. `message` is the sentence for the person where the reason alone does not
    say it; `detail` carries what the message needs (versions, findings)."""

    reason: Refused
    goal_id: str
    message: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)


# -- what the rules read and answer ----------------------------------------------------------------


@dataclass(frozen=True)
class PriorDecision:
    """A decision this person already took (a retry or a double click is answered, not refused)."""

    sha256: str
    phase: str
    decision: str
    version: int


@dataclass(frozen=True)
class PhaseFacts:
    """What entering a phase or starting a task needs to know of the goal's history."""

    # The highest version stored per (phase, task id): versions only grow, even when a phase is
    # entered again (the Mini-Spec re-opened) or a task is started again (after a merge conflict).
    last_versions: Mapping[tuple[str, int], int] = field(default_factory=dict)
    # Build keys already in the outbox: a task started again builds under a fresh key.
    build_keys: frozenset[str] = frozenset()
    # The newest PRD and Task List texts, which the Mini-Spec triggers read.
    texts: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Posted:
    """Where a version with the clicked sha256 was shown: its own thread message, and the
    recipients of each reminder about it (people, or the goal's channel for an escalation)."""

    message_ts: str | None
    reminders: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class Click:
    """The message a Slack decision came from, as Slack reported it."""

    channel: str | None
    ts: str | None
    thread_ts: str | None = None


@dataclass(frozen=True)
class DecisionFacts:
    goal: GoalFacts
    current: ArtifactFacts | None  # the newest artifact of the goal's phase
    clicked_version: int | None = None  # the version whose sha256 the request named
    priors: tuple[PriorDecision, ...] = ()  # this person's earlier decisions of this kind on the goal
    approved_by: frozenset[str] = frozenset()  # who approved the current version before
    # Who may decide this gate now (the person deciding and everyone in `approved_by`), as the
    # approver directory answered: chosen for the goal and an approver at this moment.
    authority: Mapping[str, bool] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()  # what the current diff adds that looks like a secret
    shown: bool | None = None  # None: not a click; else whether the clicked message shows that version
    history: PhaseFacts = field(default_factory=PhaseFacts)


@dataclass(frozen=True)
class DecisionRequest:
    decision: Decision
    actor: str
    phase: str | None  # None with sha256 None: the current phase and version (the CLI)
    sha256: str | None
    reason: str | None = None
    slack_channel: str | None = None
    slack_ts: str | None = None


@dataclass(frozen=True)
class Policy:
    approvals_required: int = 1  # N of M
    allow_self_approval: bool = False


@dataclass(frozen=True)
class Decided:
    phase: str
    decision: str
    version: int
    sha256: str
    complete: bool  # the gate is decided (N of M reached, or changes requested / rejected)
    duplicate: bool = False  # the same person already made this decision on this version
    next_phase: str | None = None
    change: Change | None = None  # None: nothing to write (a repeat)


@dataclass(frozen=True)
class SpecSet:
    change: Change
    moved: bool  # the decision re-opened the Mini-Spec or skipped it


class Builder:
    """Collects a rule's changes in order; `change()` freezes them."""

    def __init__(self, goal: GoalFacts) -> None:
        self.goal = goal
        self.events: list[Event] = []
        self.effects: list[Effect] = []

    def set(self, **changes: Any) -> None:
        self.goal = self.goal.but(**changes)

    def audit(
        self,
        action: str,
        *,
        actor: str | None = BOT,
        phase: str | None = None,
        sha: str | None = None,
        justification: str | None = None,
        **payload: Any,
    ) -> None:
        self.events.append(
            Event(action, phase if phase is not None else self.goal.phase, actor, sha, justification, payload)
        )

    def effect(self, key: str, payload: Payload, *, not_before: datetime | None = None) -> None:
        self.effects.append(Effect(key, payload, not_before=not_before))

    def snapshot_effect(self, key: str, payload: Payload) -> None:
        self.effects.append(Effect(key, payload, snapshot=True))

    def card(self, tag: str) -> None:
        """Redraw the goal's card (a goal started from the CLI has none)."""
        if self.goal.channel_id:
            self.effect(f"card:{self.goal.id}:{tag}", UpdateCard())

    def change(self, **extra: Any) -> Change:
        return Change(self.goal, tuple(self.events), tuple(self.effects), **extra)
