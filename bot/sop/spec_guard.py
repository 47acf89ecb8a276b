"""The spec guard: refuse a repository state whose approvals no longer hold.

Three rules, checked against `tasks/index.json` and the canonical files:

1. A goal at or past the Action Plan that needs a mini-spec must have an approved one (a
   recorded waiver counts as "not needed").
2. The latest version of each artifact of an active goal must have been reviewed within
   `max_age_days`.
3. An approved artifact's canonical file must exist and still hash to `approved_sha256`; an edit
   after approval re-opens the question, so it is reported.

Cancelled and rejected goals are not checked; done goals keep rule 3 only (their files must not
drift, but nobody re-reviews a finished goal). The pre-commit hook runs `orch spec-guard`.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import stat
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.repo.errors import GitError, NotARepositoryError, UnsafeInputError
from bot.repo.git import repo_top_level, run_in
from bot.repo.validate import safe_relpath
from bot.sop.index import INDEX_PATH, load_index, parse_index
from bot.sop.phases import ORDER, GoalState, Phase
from bot.sop.records import ArtifactRecord, GoalRecord, IndexFile

HOOK_MARKER = "# orch-spec-guard"
CHAINED_HOOK = "pre-commit.pre-orch"
HOOK_TEMPLATE = """#!/bin/sh
{marker}: installed by Codex-Orchestrator (orch install-hooks); keep this line.
# Refuses a commit whose staged content edits an approved artifact under tasks/ (or the index),
# lacks a required spec, or carries a review older than 30 days. A hook that was here before runs
# first. The interpreter that has Codex-Orchestrator installed was recorded when the hook was
# installed, so `orch` need not be on PATH; ORCH_PYTHON overrides it.
top="$(git rev-parse --show-toplevel)" || exit 1
chained="$(dirname "$0")/{chained}"
if [ -x "$chained" ]; then
    "$chained" "$@" || exit $?
fi
recorded={python}
python="${{ORCH_PYTHON:-$recorded}}"
if [ -x "$python" ]; then
    exec "$python" -m bot spec-guard --staged --allow-empty --repo "$top"
fi
if command -v orch >/dev/null 2>&1; then
    exec orch spec-guard --staged --allow-empty --repo "$top"
fi
echo "orch spec-guard: $python is gone and orch is not on PATH; run 'orch install-hooks' again" >&2
exit 1
"""


def hook_script(python: str) -> str:
    return HOOK_TEMPLATE.format(marker=HOOK_MARKER, chained=CHAINED_HOOK, python=shlex.quote(python))


@dataclass(frozen=True)
class Problem:
    goal: str
    artifact: str
    reason: str

    def __str__(self) -> str:
        return f"{self.goal} {self.artifact}: {self.reason}"


@dataclass(frozen=True)
class GuardReport:
    goals_checked: int
    artifacts_checked: int
    problems: list[Problem]


def _latest_per_phase(artifacts: list[ArtifactRecord], *, approved_only: bool) -> dict[str, ArtifactRecord]:
    latest: dict[str, ArtifactRecord] = {}
    for art in artifacts:
        if approved_only and not art.approved_sha256:
            continue
        if art.phase not in latest or art.version > latest[art.phase].version:
            latest[art.phase] = art
    return latest


def _spec_problem(goal: GoalRecord) -> Problem | None:
    try:
        at_or_past = ORDER.index(Phase(goal.phase)) >= ORDER.index(Phase.ACTION_PLAN)
    except ValueError:
        return None
    waived = goal.spec_waiver is not None and goal.spec_waiver.decision == "waived"
    if not at_or_past or not goal.spec_required or waived:
        return None
    if any(a.phase == Phase.SPEC.value and a.approved_sha256 for a in goal.artifacts):
        return None
    return Problem(
        goal.id, Phase.SPEC.value, f"a mini-spec is required but none is approved (phase {goal.phase})"
    )


class Tree:
    """Where the guard reads the index and the canonical files: the work tree, the git index (what
    is being committed) or a commit. The hook checks what is committed, not what is on disk."""

    def __init__(self, repo: Path, rev: str | None = None) -> None:
        self.repo, self.rev = repo, rev

    def describe(self) -> str:
        if self.rev is None:
            return "the work tree"
        return "the staged index" if self.rev == STAGED else f"commit {self.rev[:12]}"

    def read(self, rel: str) -> bytes | None:
        if self.rev is None:
            path = self.repo / rel
            return path.read_bytes() if path.is_file() else None
        spec = f":{rel}" if self.rev == STAGED else f"{self.rev}:{rel}"
        # Git's own environment is kept on purpose: in a pre-commit hook GIT_INDEX_FILE names the
        # index being committed (a temporary one for `git commit <paths>`), which is what is checked.
        env = {**os.environ, "LC_ALL": "C", "GIT_LITERAL_PATHSPECS": "1"}
        kind = subprocess.run(
            ["git", "cat-file", "-t", spec],
            cwd=self.repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if kind.returncode != 0 or kind.stdout.strip() != "blob":
            return None
        blob = subprocess.run(
            ["git", "cat-file", "blob", spec],
            cwd=self.repo,
            env=env,
            capture_output=True,
            check=True,
            timeout=60,
        )
        return blob.stdout

    def index(self) -> IndexFile | None:
        """The index in this tree; None when there is none."""
        if self.rev is None:
            return load_index(self.repo) if (self.repo / INDEX_PATH).is_file() else None
        raw = self.read(INDEX_PATH)
        return None if raw is None else parse_index(raw.decode("utf-8"))


STAGED = ":"  # `Tree(rev=STAGED)`: git's index, the content of the commit being made


def _file_problem(tree: Tree, goal: GoalRecord, art: ArtifactRecord) -> Problem | None:
    repo = tree.repo
    try:
        rel = safe_relpath(repo, art.path) if tree.rev is None else art.path
    except UnsafeInputError:
        return Problem(goal.id, art.phase, f"canonical path {art.path!r} leaves the repository")
    raw = tree.read(str(rel))
    if raw is None:
        return Problem(goal.id, art.phase, f"{rel} is missing (approved v{art.version})")
    digest = hashlib.sha256(raw).hexdigest()
    if digest != art.approved_sha256:
        return Problem(
            goal.id,
            art.phase,
            f"{rel} changed since v{art.version} was approved "
            f"(sha256 {digest[:12]}, approved {str(art.approved_sha256)[:12]}); get the change approved",
        )
    return None


def check_report(
    repo_path: str | Path,
    *,
    max_age_days: int = 30,
    now: datetime,
    rev: str | None = None,
    fresh: bool = True,
) -> GuardReport:
    """Check the work tree (`rev` None), the staged index (`STAGED`) or a commit.

    `fresh=False` leaves out review age (a past commit is judged by its own content, not by today)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    repo = Path(repo_path).resolve()
    tree = Tree(repo, rev)
    index = tree.index() or IndexFile()
    max_age = timedelta(days=max_age_days)
    problems: list[Problem] = []
    goals = artifacts = 0
    for goal in index.goals:
        if goal.state in (GoalState.CANCELLED.value, GoalState.REJECTED.value):
            continue
        goals += 1
        active = goal.state == GoalState.ACTIVE.value
        if active and (spec := _spec_problem(goal)):
            problems.append(spec)
        latest = _latest_per_phase(goal.artifacts, approved_only=False)
        artifacts += len(latest)
        if active and fresh:
            for art in latest.values():
                if art.last_review is None:
                    continue
                # SQLite hands back naive datetimes for what was stored as UTC.
                reviewed = art.last_review if art.last_review.tzinfo else art.last_review.replace(tzinfo=UTC)
                if now - reviewed > max_age:
                    days = (now - reviewed).days
                    problems.append(
                        Problem(goal.id, art.phase, f"last reviewed {days} days ago (limit {max_age_days})")
                    )
        for art in _latest_per_phase(goal.artifacts, approved_only=True).values():
            if problem := _file_problem(tree, goal, art):
                problems.append(problem)
    return GuardReport(goals_checked=goals, artifacts_checked=artifacts, problems=problems)


def check(repo_path: str | Path, *, max_age_days: int = 30, now: datetime) -> list[Problem]:
    """Every problem found; an empty list means the repository passes."""
    return check_report(repo_path, max_age_days=max_age_days, now=now).problems


# -- the pre-commit hook ---------------------------------------------------------------------


def hooks_dir(repo_path: str | Path) -> Path:
    """Where git looks for hooks: `core.hooksPath` if set, else the common git dir's `hooks/`."""
    top = repo_top_level(repo_path)
    if top is None:
        raise NotARepositoryError("not inside a git repository")
    configured = run_in(top, "config", "--get", "core.hooksPath", ok_codes=(0, 1)).stdout.strip()
    if configured:
        path = Path(os.path.expanduser(configured))
        return path if path.is_absolute() else (top / path)
    common = Path(run_in(top, "rev-parse", "--git-common-dir").stdout.strip())
    return (common if common.is_absolute() else top / common) / "hooks"


def hook_installed(repo_path: str | Path) -> bool:
    try:
        hook = hooks_dir(repo_path) / "pre-commit"
    except GitError:
        return False
    return hook.is_file() and HOOK_MARKER in hook.read_text(encoding="utf-8", errors="replace")


def install_hooks(repo_path: str | Path, *, python: str | None = None) -> Path:
    """Install the spec-guard pre-commit hook and return its path; idempotent.

    The hook runs the guard with `python` (default: this interpreter, which has the package).

    A pre-commit hook that is not ours is kept: it is renamed to `pre-commit.pre-orch` and run
    first by ours. If that name is taken too we refuse rather than guess.
    """
    directory = hooks_dir(repo_path)
    directory.mkdir(parents=True, exist_ok=True)
    hook = directory / "pre-commit"
    if hook.exists() or hook.is_symlink():
        current = hook.read_text(encoding="utf-8", errors="replace") if hook.is_file() else ""
        if HOOK_MARKER not in current:
            chained = directory / CHAINED_HOOK
            if chained.exists() or chained.is_symlink():
                raise FileExistsError(
                    f"both pre-commit and {CHAINED_HOOK} exist in {directory.name}/; merge them by hand, "
                    "then run install-hooks again"
                )
            hook.rename(chained)
    script = hook_script(python or sys.executable)
    if not hook.exists() or hook.read_text(encoding="utf-8") != script:
        hook.write_text(script, encoding="utf-8", newline="\n")
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return hook
