"""The outbox's vocabulary: one payload type per effect kind, and the table of kinds.

A service (or the procedure, which decides most of them) records an effect by handing the recorder
one of these payloads; the kind is the payload's type, so a kind cannot be misspelt and a field
cannot be forgotten or invented. The stored row keeps the JSON it always had (the fields that were
given, by name), and the handler table (`bot.effects.table`) reads it back through the same type,
so a row that does not match its kind fails loudly instead of half-running.

The types live with the procedure because the procedure records most effects and may import
nothing of the outbox; they are plain data, with no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError


class Payload(BaseModel):
    """What one effect carries; `KIND` names the handler that carries it out."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    KIND: ClassVar[str] = ""

    def data(self) -> dict[str, Any]:
        """The stored JSON: the fields given when it was made, as they always were stored."""
        return self.model_dump(mode="json", exclude_unset=True)


# -- Slack: the goal's card, artifacts and thread messages --------------------------------------


class PostCard(Payload):
    KIND = "slack.post_card"


class UpdateCard(Payload):
    KIND = "slack.update_card"


class PostArtifact(Payload):
    KIND = "slack.post_artifact"
    artifact_id: int


class MarkDecided(Payload):
    """The artifact's message once its gate is decided (`partial`: one of several approvals)."""

    KIND = "slack.mark_decided"
    artifact_id: int
    partial: bool = False


class ThreadNote(Payload):
    """A line in the goal's thread; `after_repo` posts it after the commits recorded before it,
    `retry` offers a Retry button (a refused merge of the pull request)."""

    KIND = "slack.thread_note"
    text: str
    after_repo: bool = False
    retry: bool = False


class Status(Payload):
    """The goal's progress message, refreshed (with a detail line and a live log)."""

    KIND = "slack.status"
    text: str | None = None
    lines: list[str] = []
    final: bool = False


class PostModeRequest(Payload):
    KIND = "slack.post_mode_request"
    request_id: int


class MarkModeDecided(Payload):
    KIND = "slack.mark_mode_decided"
    request_id: int


class MergeConflict(Payload):
    """A task's merge that conflicts; `ts` is added by its handler once the message is posted."""

    KIND = "slack.merge_conflict"
    task_id: int
    version: int
    title: str = ""
    files: list[str] = []
    ts: str | None = None


class MergeConflictDecided(Payload):
    KIND = "slack.merge_conflict_decided"
    conflict_key: str
    by: str
    choice: str


class WorkFailed(Payload):
    """A draft or build that failed for good: Retry / Request changes / Cancel."""

    KIND = "slack.work_failed"
    job_id: int | None
    job_kind: str
    what: str
    attempts: int
    error: str
    auto_retry: bool
    stopped_by: str | None = None


class WorkFailureSettled(Payload):
    KIND = "slack.work_failure_settled"
    failure_key: str
    actor: str
    what: str
    feedback: bool = False
    automatic: bool = False


class EmptyBuild(Payload):
    KIND = "slack.codex_empty_build"
    task_id: int
    version: int
    run_id: str | None = None
    failed_actions: list[Any] = []
    last_message: str = ""
    stopped_by: str | None = None


class CodexApprovalRequest(Payload):
    KIND = "slack.codex_approval"
    request_id: str


class BudgetReached(Payload):
    KIND = "slack.budget"
    cost: float
    budget: float


class FailureRetry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    what: str
    id: int | None = None


class FailureNote(Payload):
    """The one thread message of something that failed for good, with what a person can do."""

    KIND = "notify.failure"
    goal: str | None = None
    what: str
    todo: str
    error: str = ""
    retry: FailureRetry | None = None


class DirectMessage(Payload):
    KIND = "notify.dm"
    user: str
    blocks: list[dict[str, Any]] = []
    text: str = ""


class ChannelPost(Payload):
    KIND = "notify.post"
    channel: str
    thread_ts: str | None = None
    broadcast: bool = False
    blocks: list[dict[str, Any]] = []
    text: str = ""
    file_text: str | None = None
    filename: str | None = None
    file_title: str | None = None


# -- the repository ------------------------------------------------------------------------------


class PublishArtifact(Payload):
    """Commit an approved artifact and its mirror; `record`/`events_until` are the goal as the
    approving transaction left it (added by the recorder when the procedure asks for a snapshot)."""

    KIND = "repo.publish_artifact"
    artifact_id: int
    record: dict[str, Any] | None = None
    events_until: int | None = None


class PublishState(Payload):
    KIND = "repo.publish_state"
    message: str | None = None
    trailers: dict[str, str] | None = None


class ApplyScaffold(Payload):
    KIND = "repo.apply_scaffold"
    artifact_id: int


class Merge(Payload):
    KIND = "repo.merge"
    artifact_id: int
    task_id: int
    version: int | None = None


class RemoveWorktree(Payload):
    KIND = "repo.remove_worktree"


class Deliver(Payload):
    """Bring the goal's branch and pull request in line with the goal (a reconciliation)."""

    KIND = "repo.deliver"


# -- agent work (run as jobs) ----------------------------------------------------------------------


class _Work(Payload):
    """What a draft or build job needs; a retried job carries its rounds and its first key."""

    version: int = 1
    task_id: int = 0
    feedback: str | None = None
    retries: int | None = None
    auto_retries: int | None = None
    retry_of: str | None = None


class Draft(_Work):
    KIND = "draft"
    phase: str


class Build(_Work):
    KIND = "build"
    phase: str | None = None
    rebase: bool = False


KINDS: dict[str, type[Payload]] = {
    t.KIND: t
    for t in (
        PostCard,
        UpdateCard,
        PostArtifact,
        MarkDecided,
        ThreadNote,
        Status,
        PostModeRequest,
        MarkModeDecided,
        MergeConflict,
        MergeConflictDecided,
        WorkFailed,
        WorkFailureSettled,
        EmptyBuild,
        CodexApprovalRequest,
        BudgetReached,
        FailureNote,
        DirectMessage,
        ChannelPost,
        PublishArtifact,
        PublishState,
        ApplyScaffold,
        Merge,
        RemoveWorktree,
        Deliver,
        Draft,
        Build,
    )
}
# Agent work: recorded like an effect, but kept as a row of the jobs table (a worker runs it, in
# its goal's order); the outbox's handler table covers the other kinds.
AGENT_KINDS = (Draft.KIND, Build.KIND)
OUTBOX_KINDS: dict[str, type[Payload]] = {k: t for k, t in KINDS.items() if k not in AGENT_KINDS}

P = TypeVar("P", bound=Payload)


class MalformedPayload(ValueError):
    """A payload that does not fit its kind, or a kind that does not exist: retrying cannot help."""


def payload_type(kind: str) -> type[Payload]:
    found = KINDS.get(kind)
    if found is None:
        raise MalformedPayload(f"no effect kind {kind!r}")
    return found


def parse(kind: str, data: Mapping[str, Any]) -> Payload:
    """A payload about to be recorded, as its kind's type: every field known, the required ones
    there (MalformedPayload when not)."""
    try:
        return payload_type(kind).model_validate(dict(data))
    except ValidationError as exc:
        raise MalformedPayload(f"a {kind} effect's payload does not fit its kind: {exc}") from exc


def read_back(kind: str, data: Mapping[str, Any]) -> Payload:
    """A stored payload read back as its kind's type. Fields this version does not know (a row
    written by another version) are left aside; a required field missing or of the wrong type
    is MalformedPayload."""
    return read(payload_type(kind), data)


def read(kind: type[P], data: Mapping[str, Any]) -> P:
    """A stored payload read back as `kind`, as `read_back` reads it: unknown fields left aside,
    MalformedPayload when a required field is missing or of the wrong type."""
    known = kind.model_fields
    try:
        return kind.model_validate({name: value for name, value in data.items() if name in known})
    except ValidationError as exc:
        raise MalformedPayload(f"a {kind.KIND} effect's payload does not fit its kind: {exc}") from exc
