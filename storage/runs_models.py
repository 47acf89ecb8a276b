"""Agent runs that outlive a process: a manager run paused for a person's approval.

`state_json` holds the Agents SDK's `RunState.to_string()`. It is loaded only from here (our own
database), never from anything a client sent, as the SDK requires; the person's decision itself
is read from the approvals table, bound to the diff's sha256.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from storage.audit import UTCDateTime


class AgentRun(SQLModel, table=True):
    __tablename__ = "agent_runs"

    id: str = Field(primary_key=True)  # the run id, also the folder name of the run record
    goal_id: str = Field(foreign_key="goals.id", index=True)
    task_id: int = 0
    role: str = "manager"
    status: str = Field(default="running", index=True)  # running | paused | completed | failed
    state_json: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    context_json: str = Field(default="{}", sa_column=Column(Text, nullable=False))  # the run's plain context
    pending_tool: str | None = None
    artifact_sha256: str | None = None  # the diff a person is asked to approve
    final_output: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    error: str | None = None
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
