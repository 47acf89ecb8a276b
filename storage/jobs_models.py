"""Tables of the scheduler side: agent jobs, sent reminders, digests, the leader, APScheduler's store.

Every schema change goes through an Alembic migration (storage/migrations/versions/0002_jobs.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Float, LargeBinary, Table, Unicode
from sqlmodel import Field, SQLModel

from storage.audit import UTCDateTime

JOB_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")


def _ts(**kw: Any) -> Any:
    return Field(sa_column=Column(UTCDateTime(), **kw))


class Job(SQLModel, table=True):
    """One agent job (a draft, a build). Workers claim queued jobs atomically and heartbeat them.

    A use case adds it in the transaction of its state change, in its goal's order: `follows` is
    the id of the goal's last effect recorded before it, and the job is not claimed until the
    commits among those effects are made (its draft builds on them; messages are not waited for). An
    `in_order` job (the Scaffold Check, which reads the repository) also holds back the goal's
    repository effects recorded after it until it has finished.

    `key` makes enqueueing idempotent; `run_id` names one attempt, so a worker whose job was
    re-queued under it cannot overwrite the newer attempt's result.
    """

    __tablename__ = "jobs"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)
    kind: str
    goal_id: str | None = Field(default=None, index=True)
    phase: str | None = None
    description: str = ""
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="queued", index=True)  # queued | running | succeeded | failed | cancelled
    attempts: int = 0
    max_attempts: int = 3  # set from the claiming worker's settings
    follows: int | None = None
    in_order: bool = False
    run_id: str | None = None
    worker: str | None = None
    last_error: str | None = None
    not_before: datetime | None = _ts(nullable=True)
    heartbeat_at: datetime | None = _ts(nullable=True)
    started_at: datetime | None = _ts(nullable=True)
    finished_at: datetime | None = _ts(nullable=True)
    created_at: datetime = _ts(nullable=False)


class Reminder(SQLModel, table=True):
    """A reminder level sent once: `key` is level + goal + phase + task + version (or the job run)."""

    __tablename__ = "reminders"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)
    level: str
    goal_id: str | None = Field(default=None, index=True)
    phase: str | None = None
    version: int | None = None
    recipients: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    sent_at: datetime = _ts(nullable=False)


class DigestRun(SQLModel, table=True):
    """A digest posted to a channel; scheduled ones are keyed by channel and local date."""

    __tablename__ = "digest_runs"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)
    channel: str = Field(index=True)
    kind: str = "scheduled"  # scheduled | manual
    local_date: str | None = None
    sent_at: datetime = _ts(nullable=False)


class LeaderLease(SQLModel, table=True):
    """Who runs the scheduler now. The lock itself is an OS file lock or a PostgreSQL advisory
    lock; this row only makes the holder visible (health checks, tests, operators)."""

    __tablename__ = "orch_leader"

    name: str = Field(primary_key=True)
    holder: str
    pid: int
    host: str
    acquired_at: datetime = _ts(nullable=False)
    heartbeat_at: datetime = _ts(nullable=False)
    last_tick_at: datetime | None = _ts(nullable=True)


# APScheduler 3's SQLAlchemyJobStore table, declared here so Alembic creates and knows it; the
# columns match what the job store itself would create.
apscheduler_jobs = Table(
    "apscheduler_jobs",
    SQLModel.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)
