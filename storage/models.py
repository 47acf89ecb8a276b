"""SQLModel tables. Every schema change goes through an Alembic migration (storage/migrations)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.audit import UTCDateTime


def _ts(**kw: Any) -> Any:
    return Field(sa_column=Column(UTCDateTime(), **kw))


class Counter(SQLModel, table=True):
    """Named counters, incremented atomically (goal numbers G-0001, G-0002 …)."""

    __tablename__ = "counters"
    name: str = Field(primary_key=True)
    value: int = 0


class Goal(SQLModel, table=True):
    __tablename__ = "goals"

    id: str = Field(primary_key=True)  # G-0001: from the counter, never from user text
    title: str
    brief: str
    requester: str = Field(index=True)
    channel_id: str | None = Field(default=None, index=True)
    thread_ts: str | None = None  # the goal card's ts; the thread hangs off it
    card_ts: str | None = None
    source: str = "slash"  # slash | modal | shortcut | mention | cli
    phase: str = Field(index=True)
    status: str
    state: str = Field(default="active", index=True)
    mode: str = "read-only"
    priority: str = "medium"
    approvers: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    spec_required: bool | None = None
    spec_triggers: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    spec_waiver: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    tasks: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    closed_reason: str | None = None
    # US dollars of model usage this goal may spend (bot/services/budgets.py); None: the default.
    budget_usd: float | None = None
    phase_started_at: datetime = _ts(nullable=False)
    created_at: datetime = _ts(nullable=False)
    updated_at: datetime = _ts(nullable=False)


class Artifact(SQLModel, table=True):
    """One version of a phase's artifact. Content is immutable once stored."""

    __tablename__ = "artifacts"
    __table_args__ = (UniqueConstraint("goal_id", "phase", "version", "task_id"),)

    id: int | None = Field(default=None, primary_key=True)
    goal_id: str = Field(foreign_key="goals.id", index=True)
    phase: str
    version: int
    task_id: int = 0  # implementation diffs are per task; 0 for the document phases
    content: str
    summary: str = ""
    sha256: str = Field(index=True)
    drafted_by: str = "offline"
    offline: bool = True
    feedback: str | None = None
    message_ts: str | None = None  # the thread message that shows it
    file_text: str | None = None  # long artifacts are also uploaded as a file
    created_at: datetime = _ts(nullable=False)


class Approval(SQLModel, table=True):
    """A decision on one artifact version, bound to its sha256."""

    __tablename__ = "approvals"
    __table_args__ = (UniqueConstraint("goal_id", "phase", "artifact_sha256", "by", "decision"),)

    id: int | None = Field(default=None, primary_key=True)
    goal_id: str = Field(foreign_key="goals.id", index=True)
    phase: str
    artifact_version: int
    artifact_sha256: str
    decision: str
    by: str
    reason: str | None = None
    slack_channel: str | None = None
    slack_ts: str | None = None
    at: datetime = _ts(nullable=False)


class Effect(SQLModel, table=True):
    """The outbox: side effects recorded in the same transaction as the state change.

    The dispatcher performs them after commit; `key` makes each one happen exactly once even
    when a crash or retry runs it again.
    """

    __tablename__ = "effects"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)
    kind: str
    goal_id: str | None = Field(default=None, index=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", index=True)  # pending | done | failed
    attempts: int = 0
    last_error: str | None = None
    not_before: datetime | None = _ts(nullable=True)
    # When the current run of failures began: retries stop once it is older than the horizon.
    failing_since: datetime | None = _ts(nullable=True)
    created_at: datetime = _ts(nullable=False)
    done_at: datetime | None = _ts(nullable=True)


class ProcessedDelivery(SQLModel, table=True):
    """Idempotency keys of inbound Slack deliveries (event_id, action keys, view submissions)."""

    __tablename__ = "processed_deliveries"

    key: str = Field(primary_key=True)
    at: datetime = _ts(nullable=False)


class ModeRequest(SQLModel, table=True):
    """A request to run one goal in an elevated mode; an approver grants or denies it."""

    __tablename__ = "mode_requests"

    id: int | None = Field(default=None, primary_key=True)
    goal_id: str = Field(foreign_key="goals.id", index=True)
    mode: str  # workspace-write | full-access
    justification: str
    requested_by: str
    status: str = "pending"  # pending | granted | denied
    decided_by: str | None = None
    decided_at: datetime | None = _ts(nullable=True)
    message_ts: str | None = None  # the thread message that asks approvers to confirm
    created_at: datetime = _ts(nullable=False)


class CodexApproval(SQLModel, table=True):
    """Something Codex asked to do outside its sandbox during a build; an approver allows or denies it.

    The running build waits for the decision (bot/services/codex_approvals.py); the row is the
    truth a click in any process is checked and recorded against, exactly once.
    """

    __tablename__ = "codex_approvals"

    id: str = Field(primary_key=True)  # random, carried by the buttons
    goal_id: str = Field(foreign_key="goals.id", index=True)
    run_id: str | None = None
    kind: str  # command | patch
    command: str  # exactly what would run (redacted)
    reason: str = ""
    status: str = "pending"  # pending | approved | denied | expired
    decided_by: str | None = None
    decided_at: datetime | None = _ts(nullable=True)
    message_ts: str | None = None
    created_at: datetime = _ts(nullable=False)


class SlackMessage(SQLModel, table=True):
    """A goal's long-lived Slack message other than the card (the progress message), kept to update it."""

    __tablename__ = "slack_messages"

    goal_id: str = Field(foreign_key="goals.id", primary_key=True)
    kind: str = Field(primary_key=True)  # "status"
    channel: str
    ts: str
    text: str = ""  # what it shows now, so an unchanged status is not sent again
    updated_at: datetime = _ts(nullable=False)


class ArtifactReview(SQLModel, table=True):
    """A re-review of an approved artifact version that left it unchanged ("Re-approve unchanged").

    Kept apart from `approvals`: an approval moves a gate once, while the same person re-reviews
    the same version as often as its freshness requires; each re-review is a new review date.
    """

    __tablename__ = "artifact_reviews"

    id: int | None = Field(default=None, primary_key=True)
    goal_id: str = Field(foreign_key="goals.id", index=True)
    phase: str
    artifact_version: int
    artifact_sha256: str
    by: str
    at: datetime = _ts(nullable=False)


class PullRequestLink(SQLModel, table=True):
    """A goal's pull request on the Git host, as last seen by delivery (the card links it)."""

    __tablename__ = "pull_requests"

    goal_id: str = Field(foreign_key="goals.id", primary_key=True)
    repo: str  # owner/name
    number: int
    url: str
    state: str = "open"  # open | merged | closed
    updated_at: datetime = _ts(nullable=False)
