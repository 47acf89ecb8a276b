"""The forge port: what delivery needs from a Git host, small enough for a second host to follow.

Everything is keyed by the repository's `owner/name` and by branch names, never by host objects, so
an adapter for another host (GitLab, Gitea) can answer the same calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

StatusState = Literal["pending", "success", "failure", "error"]
MergeMethod = Literal["merge", "squash", "rebase"]


class ForgeError(Exception):
    """The host refused or failed a call; `status` is the HTTP status, `message` what it said."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class MergeRefused(ForgeError):
    """The host will not merge now (branch protection, a draft, a conflict): a person can act."""


@dataclass(frozen=True)
class PullRequest:
    number: int
    url: str  # the page a person opens
    node_id: str  # GraphQL id (marking a draft ready goes through GraphQL)
    state: Literal["open", "closed"]
    draft: bool
    merged: bool
    head: str  # branch name
    head_sha: str
    base: str
    title: str
    body: str
    merge_sha: str | None = None


@dataclass(frozen=True)
class Check:
    """One CI result on a commit: a check run or a commit status, reduced to what the thread shows."""

    name: str
    state: Literal["passed", "failed", "pending"]
    url: str | None = None


class Forge(Protocol):
    def default_branch(self, repo: str) -> str: ...

    def branch_head(self, repo: str, branch: str) -> str | None: ...

    def create_branch(self, repo: str, branch: str, sha: str) -> None: ...

    def find_pull_request(self, repo: str, head: str) -> PullRequest | None:
        """The newest pull request (open or not) whose head is `head` in the same repository."""
        ...

    def open_pull_request(
        self, repo: str, *, head: str, base: str, title: str, body: str, draft: bool = True
    ) -> PullRequest: ...

    def update_pull_request(
        self, repo: str, number: int, *, title: str | None = None, body: str | None = None
    ) -> PullRequest: ...

    def set_status(
        self,
        repo: str,
        sha: str,
        *,
        state: StatusState,
        context: str,
        description: str,
        target_url: str | None,
    ) -> None: ...

    def status_of(self, repo: str, sha: str, context: str) -> StatusState | None: ...

    def checks_of(self, repo: str, sha: str, *, ignore: str | None = None) -> list[Check]:
        """The commit's check runs and latest statuses (leaving out the context `ignore`)."""
        ...

    def mark_ready(self, pr: PullRequest) -> None: ...

    def merge(self, repo: str, number: int, *, sha: str | None, method: MergeMethod = "merge") -> str:
        """Merge; return the merge commit's sha. Raise `MergeRefused` when the host says no."""
        ...

    def close(self, repo: str, number: int) -> None: ...
