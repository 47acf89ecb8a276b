"""The stand-in's state: bare repositories on disk (the truth for branches and commits) and, beside
them, pull requests, commit statuses, check runs and branch protection.

Every public method takes the lock, so the HTTP routes and a test thread acting as CI never see a
half-made change. Merges are real: `git merge-tree` builds the merged tree in the bare repository and
`commit-tree` + `update-ref` (with the old value, a compare-and-swap) move the base branch.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


class GitHubError(Exception):
    """An API error: the HTTP status and GitHub's message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


_ENV = {
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "GitHub",
    "GIT_AUTHOR_EMAIL": "noreply@github.invalid",
    "GIT_COMMITTER_NAME": "GitHub",
    "GIT_COMMITTER_EMAIL": "noreply@github.invalid",
    "LC_ALL": "C",
}


def git(
    repo: Path, *args: str, ok: tuple[int, ...] = (0,), stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **_ENV, "GIT_CONFIG_GLOBAL": os.devnull}
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        env.pop(name, None)
    proc = subprocess.run(
        ["git", *args],
        cwd=repo,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if proc.returncode not in ok:
        raise RuntimeError(f"git {args[0]} failed: {proc.stderr.strip()}")
    return proc


@dataclass
class Repo:
    owner: str
    name: str
    path: Path
    id: int
    default_branch: str
    created_at: str
    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    check_runs: list[dict[str, Any]] = field(default_factory=list)
    required_contexts: dict[str, list[str]] = field(default_factory=dict)  # branch → contexts

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def sha(self, ref: str) -> str | None:
        proc = git(
            self.path,
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            f"{ref}^{{commit}}",
            ok=(0, 1, 128),
        )
        return proc.stdout.strip() or None

    def branch_sha(self, branch: str) -> str | None:
        return self.sha(f"refs/heads/{branch}")


@dataclass
class GitHubState:
    root: Path
    tokens: set[str] = field(default_factory=set)
    login: str = "orch-bot"
    # GitHub Apps: app id → public key (PEM) that verifies its JWTs; one installation per owner;
    # issued installation tokens → (expires at, owner). `clock` decides expiry.
    apps: dict[int, str] = field(default_factory=dict)
    installations: dict[str, int] = field(default_factory=dict)
    installation_tokens: dict[str, tuple[float, str]] = field(default_factory=dict)
    clock: Callable[[], float] = time.time
    lock: threading.RLock = field(default_factory=threading.RLock)
    repos: dict[str, Repo] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)  # what clients sent (tests read it)
    # Called with (event, repo, record) after a status or check run is stored: the webhooks.
    listeners: list[Callable[[str, Repo, dict[str, Any]], None]] = field(default_factory=list)
    _ids: int = 1000

    def authorized(self, token: str | None) -> bool:
        """A configured token, or an installation token that has not expired."""
        if token is None:
            return False
        if token in self.tokens:
            return True
        issued = self.installation_tokens.get(token)
        return issued is not None and self.clock() < issued[0]

    def next_id(self) -> int:
        with self.lock:
            self._ids += 1
            return self._ids

    # -- repositories ------------------------------------------------------------------------

    def create_repo(
        self, owner: str, name: str, *, seed: Path | None = None, default_branch: str = "main"
    ) -> Repo:
        """A bare repository `<root>/<owner>/<name>.git`, cloned from `seed` or with one README commit."""
        with self.lock:
            path = self.root / owner / f"{name}.git"
            path.parent.mkdir(parents=True, exist_ok=True)
            if seed is not None:
                git(self.root, "clone", "--quiet", "--bare", "--", str(seed), str(path))
            else:
                git(
                    self.root,
                    "init",
                    "--quiet",
                    "--bare",
                    f"--initial-branch={default_branch}",
                    "--",
                    str(path),
                )
                blob = git(path, "hash-object", "-w", "--stdin", stdin=f"# {name}\n").stdout.strip()
                tree = git(path, "mktree", stdin=f"100644 blob {blob}\tREADME.md\n").stdout.strip()
                commit = git(path, "commit-tree", tree, "-m", "Initial commit").stdout.strip()
                git(path, "update-ref", f"refs/heads/{default_branch}", commit)
            git(path, "symbolic-ref", "HEAD", f"refs/heads/{default_branch}")
            git(path, "config", "http.receivepack", "true")
            repo = Repo(owner, name, path, self.next_id(), default_branch, _now())
            self.repos[repo.full_name] = repo
            return repo

    def repo(self, owner: str, name: str) -> Repo:
        found = self.repos.get(f"{owner}/{name}")
        if found is None:
            raise GitHubError(404, "Not Found")
        return found

    def require_status(self, full_name: str, branch: str, context: str) -> None:
        """Branch protection: merging into `branch` needs `context` to be green on the head."""
        with self.lock:
            self.repos[full_name].required_contexts.setdefault(branch, []).append(context)

    # -- refs ------------------------------------------------------------------------------------

    def create_ref(self, repo: Repo, ref: str, sha: str) -> None:
        with self.lock:
            if not ref.startswith("refs/") or ref.count("/") < 2:
                raise GitHubError(
                    422, "Reference name must start with 'refs/' and have at least two slashes."
                )
            if repo.sha(sha) is None:
                raise GitHubError(422, "Object does not exist")
            if repo.sha(ref) is not None:
                raise GitHubError(422, "Reference already exists")
            git(repo.path, "update-ref", ref, sha, "0" * 40)

    def delete_ref(self, repo: Repo, ref: str) -> None:
        with self.lock:
            if repo.sha(f"refs/{ref}") is None:
                raise GitHubError(422, "Reference does not exist")
            git(repo.path, "update-ref", "-d", f"refs/{ref}")

    # -- pull requests ---------------------------------------------------------------------------

    def open_pull(
        self, repo: Repo, *, title: str, head: str, base: str, body: str, draft: bool
    ) -> dict[str, Any]:
        with self.lock:
            head = head.split(":", 1)[-1]
            head_sha, base_sha = repo.branch_sha(head), repo.branch_sha(base)
            if head_sha is None or base_sha is None:
                raise GitHubError(422, "Validation Failed")
            if any(
                p["head"] == head and p["base"] == base and p["state"] == "open" for p in repo.pulls.values()
            ):
                raise GitHubError(422, f"A pull request already exists for {repo.owner}:{head}.")
            if git(repo.path, "rev-list", "--count", f"{base_sha}..{head_sha}").stdout.strip() == "0":
                raise GitHubError(422, f"No commits between {base} and {head}")
            number = len(repo.pulls) + 1
            pid = self.next_id()
            at = _now()
            pr = {
                "number": number,
                "id": pid,
                "node_id": f"PR_{pid}",
                "title": title,
                "body": body,
                "head": head,
                "base": base,
                "head_sha": head_sha,
                "base_sha": base_sha,
                "draft": draft,
                "state": "open",
                "merged": False,
                "merged_at": None,
                "merged_by": None,
                "merge_commit_sha": None,
                "created_at": at,
                "updated_at": at,
                "closed_at": None,
                "user": self.login,
            }
            repo.pulls[number] = pr
            return self.refresh(repo, pr)

    def refresh(self, repo: Repo, pr: dict[str, Any]) -> dict[str, Any]:
        """An open pull request follows its branches, as on GitHub."""
        if pr["state"] == "open":
            pr["head_sha"] = repo.branch_sha(pr["head"]) or pr["head_sha"]
            pr["base_sha"] = repo.branch_sha(pr["base"]) or pr["base_sha"]
        count = git(
            repo.path, "rev-list", "--count", f"{pr['base_sha']}..{pr['head_sha']}", ok=(0, 128)
        ).stdout
        pr["commits"] = int(count.strip() or 0)
        return pr

    def pull(self, repo: Repo, number: int) -> dict[str, Any]:
        with self.lock:
            pr = repo.pulls.get(number)
            if pr is None:
                raise GitHubError(404, "Not Found")
            return self.refresh(repo, pr)

    def update_pull(self, repo: Repo, number: int, changes: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            pr = self.pull(repo, number)
            for key in ("title", "body"):
                if isinstance(changes.get(key), str):
                    pr[key] = changes[key]
            if changes.get("state") == "closed" and pr["state"] == "open":
                pr["state"], pr["closed_at"] = "closed", _now()
            elif changes.get("state") == "open" and pr["state"] == "closed" and not pr["merged"]:
                pr["state"], pr["closed_at"] = "open", None
            # `draft` in a PATCH is ignored, as GitHub does: only GraphQL marks a draft ready.
            pr["updated_at"] = _now()
            return pr

    def mark_ready(self, node_id: str) -> dict[str, Any]:
        with self.lock:
            for repo in self.repos.values():
                for pr in repo.pulls.values():
                    if pr["node_id"] == node_id:
                        pr["draft"] = False
                        pr["updated_at"] = _now()
                        return pr
            raise GitHubError(404, f"Could not resolve to a node with the global id of '{node_id}'")

    def merge(self, repo: Repo, number: int, *, sha: str | None, method: str, title: str | None) -> str:
        with self.lock:
            pr = self.pull(repo, number)
            if pr["merged"]:
                raise GitHubError(405, "Pull Request is not mergeable")
            if pr["state"] != "open":
                raise GitHubError(422, "Pull Request is not open")
            if pr["draft"]:
                raise GitHubError(405, "Pull Request is still a draft")
            if sha and sha != pr["head_sha"]:
                raise GitHubError(409, "Head branch was modified. Review and try the merge again.")
            for context in repo.required_contexts.get(pr["base"], []):
                state = self.context_state(repo, pr["head_sha"], context)
                if state is None:
                    raise GitHubError(405, f'Required status check "{context}" is expected.')
                if state != "success":
                    raise GitHubError(405, f'Required status check "{context}" is {state}.')
            base_sha, head_sha = pr["base_sha"], pr["head_sha"]
            tree = git(repo.path, "merge-tree", "--write-tree", base_sha, head_sha, ok=(0, 1))
            if tree.returncode != 0:
                raise GitHubError(405, "Pull Request is not mergeable")
            tree_sha = tree.stdout.split()[0]
            if method == "merge":
                message = (
                    f"Merge pull request #{number} from {repo.owner}/{pr['head']}\n\n{title or pr['title']}\n"
                )
                parents = ["-p", base_sha, "-p", head_sha]
            elif method == "squash":
                message = f"{title or pr['title']} (#{number})\n"
                parents = ["-p", base_sha]
            else:
                raise GitHubError(422, f"Merge method {method} is not allowed on this repository")
            commit = git(repo.path, "commit-tree", tree_sha, *parents, stdin=message).stdout.strip()
            moved = git(repo.path, "update-ref", f"refs/heads/{pr['base']}", commit, base_sha, ok=(0, 1, 128))
            if moved.returncode != 0:
                raise GitHubError(409, "Base branch was modified. Review and try the merge again.")
            at = _now()
            pr.update(
                state="closed",
                merged=True,
                merged_at=at,
                closed_at=at,
                updated_at=at,
                merge_commit_sha=commit,
                merged_by=self.login,
            )
            return commit

    # -- statuses and checks -----------------------------------------------------------------------

    def add_status(self, repo: Repo, sha: str, entry: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self.lock:
            full = repo.sha(sha)
            if full is None:
                raise GitHubError(422, f"No commit found for SHA: {sha}")
            if entry.get("state") not in ("error", "failure", "pending", "success"):
                raise GitHubError(422, "Validation Failed")
            record = {
                "sha": full,
                "state": entry["state"],
                "context": str(entry.get("context") or "default"),
                "description": entry.get("description"),
                "target_url": entry.get("target_url"),
                "at": _now(),
                "creator": self.login,
                "id": self.next_id(),
            }
            repo.statuses.append(record)
        self._emit("status", repo, record)
        return record["id"], record

    def latest_statuses(self, repo: Repo, sha: str) -> list[dict[str, Any]]:
        with self.lock:
            latest: dict[str, dict[str, Any]] = {}
            for record in repo.statuses:
                if record["sha"] == sha:
                    latest[record["context"]] = record
            return list(latest.values())

    def add_check_run(
        self,
        repo: Repo,
        *,
        name: str,
        head_sha: str,
        status: str = "completed",
        conclusion: str | None = None,
        details_url: str | None = None,
    ) -> dict[str, Any]:
        """CI reporting a check run (GitHub lets only Apps do this; tests act as the CI App)."""
        with self.lock:
            run = {
                "id": self.next_id(),
                "name": name,
                "head_sha": head_sha,
                "status": status,
                "conclusion": conclusion,
                "details_url": details_url,
                "at": _now(),
            }
            repo.check_runs.append(run)
        self._emit("check_run", repo, run)
        return run

    def branches_at(self, repo: Repo, sha: str) -> list[str]:
        out = git(repo.path, "for-each-ref", "--format=%(refname:short)", f"--points-at={sha}", "refs/heads/")
        return [line for line in out.stdout.splitlines() if line]

    def _emit(self, event: str, repo: Repo, record: dict[str, Any]) -> None:
        for listener in list(self.listeners):
            listener(event, repo, record)

    def context_state(self, repo: Repo, sha: str, context: str) -> str | None:
        """A required context is met by a commit status or a check run of that name."""
        for record in self.latest_statuses(repo, sha):
            if record["context"] == context:
                return str(record["state"])
        runs = [r for r in repo.check_runs if r["head_sha"] == sha and r["name"] == context]
        if runs:
            last = runs[-1]
            return (
                "pending"
                if last["status"] != "completed"
                else ("success" if last["conclusion"] == "success" else "failure")
            )
        return None
