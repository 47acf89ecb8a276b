"""Records of the state of record (`tasks/index.json`) and of the Task Master-compatible task list.

These pydantic models are the contract between the services (which build them from the database)
and the repository side (which renders canonical files, mirrors and the index from them).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

TaskStatus = Literal["pending", "in-progress", "done", "review", "deferred", "cancelled", "blocked"]
TaskPriority = Literal["high", "medium", "low"]


class Subtask(BaseModel):
    """A Task Master subtask; unknown keys are kept so import/export is lossless."""

    model_config = ConfigDict(extra="allow")

    id: int
    title: str
    description: str = ""
    status: TaskStatus = "pending"
    dependencies: list[int | str] = Field(default_factory=list)
    details: str = ""
    testStrategy: str = ""


class Evidence(BaseModel):
    commits: list[str] = Field(default_factory=list)
    files_changed: list[str] = Field(default_factory=list)
    test_result: str | None = None
    verified_at: datetime | None = None


class TaskRecord(BaseModel):
    """A Task Master task (`id, title, description, status, dependencies, priority, details,
    testStrategy, subtasks`) plus our evidence; unknown keys are kept for a lossless round trip."""

    model_config = ConfigDict(extra="allow")

    id: int
    title: str
    description: str = ""
    status: TaskStatus = "pending"
    dependencies: list[int | str] = Field(default_factory=list)
    priority: TaskPriority = "medium"
    details: str = ""
    testStrategy: str = ""
    subtasks: list[Subtask] = Field(default_factory=list)
    files: list[str] = Field(default_factory=list, description="paths the task expects to touch")
    acceptance_criteria: list[str] = Field(default_factory=list)
    evidence: Evidence | None = None


class ApprovalRecord(BaseModel):
    """A decision on one artifact version. `reaffirm` is a re-review that left an approved version
    unchanged ("Re-approve unchanged"): it records a new review date and moves no gate."""

    phase: str
    decision: Literal["approve", "request_changes", "reject", "reaffirm"]
    by: str
    at: datetime
    artifact_version: int
    artifact_sha256: str
    reason: str | None = None
    slack_channel: str | None = None
    slack_ts: str | None = None


class ArtifactRecord(BaseModel):
    phase: str
    path: str  # canonical file, relative to the repo root (tasks/G-0001/prd.md)
    version: int
    sha256: str
    approved_sha256: str | None = None
    last_review: datetime | None = None
    reviewed_by: list[str] = Field(default_factory=list)
    mirror_path: str | None = None


class SpecWaiver(BaseModel):
    by: str
    at: datetime
    justification: str
    decision: Literal["required", "waived"]


class GoalRecord(BaseModel):
    id: str
    title: str
    requester: str
    channel: str | None = None
    thread_ts: str | None = None
    phase: str
    status: str
    state: str = "active"
    mode: str = "read-only"
    spec_required: bool | None = None
    spec_triggers: list[str] = Field(default_factory=list)
    spec_waiver: SpecWaiver | None = None
    created: datetime
    updated: datetime
    artifacts: list[ArtifactRecord] = Field(default_factory=list)
    approvals: list[ApprovalRecord] = Field(default_factory=list)
    tasks: list[TaskRecord] = Field(default_factory=list)


class IndexFile(BaseModel):
    """The whole of `tasks/index.json`."""

    schema_version: int = 1
    goals: list[GoalRecord] = Field(default_factory=list)

    def goal(self, goal_id: str) -> GoalRecord | None:
        return next((g for g in self.goals if g.id == goal_id), None)

    def upsert(self, goal: GoalRecord) -> None:
        self.goals = [g for g in self.goals if g.id != goal.id] + [goal]
        self.goals.sort(key=lambda g: g.id)


def to_json_dict(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_none=False)
