"""Publish approvals and state changes to the target repository, exactly once.

Each publish is one effect with a key. Under the branch lock it first looks for a commit on the
main branch with the trailer `Orch-Effect: <key>`; if there is one, the effect already happened
and its commit is returned. Otherwise every file write is idempotent on its own (canonical file
rewritten with the same bytes, mirror section skipped by marker, index upserted, events
deduplicated by id) and the commit that carries the key comes last. A crash anywhere therefore
leaves either no commit (and a re-run finishes the job) or the commit (and a re-run returns it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.faults import fault_point
from bot.repo.git import Git
from bot.repo.validate import one_line, validate_goal_id, validate_trailer
from bot.sop.index import (
    EVENTS_PATH,
    INDEX_PATH,
    SCHEMA_PATH,
    append_events,
    load_index,
    save_index,
    write_atomic,
    write_schema,
)
from bot.sop.mirrors import MirrorSection, append_section
from bot.sop.phases import CANONICAL_FILES, LABELS, MIRROR_FILES, Phase
from bot.sop.records import GoalRecord

EFFECT_TRAILER = "Orch-Effect"


@dataclass(frozen=True)
class PublishResult:
    commit: str
    already_done: bool


def canonical_path(goal_id: str, phase: Phase) -> str:
    return f"tasks/{validate_goal_id(goal_id)}/{CANONICAL_FILES[phase]}"


def sha256_text(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def _check_same_repo(repo_path: str | Path, git: Git) -> Path:
    root = Path(repo_path).resolve()
    if root != git.root:
        raise ValueError("repo_path and git point at different repositories")
    return root


def _with_mirror_path(goal: GoalRecord, phase: Phase, version: int, digest: str) -> GoalRecord:
    """Check the goal's record of this artifact against the content, filling in the mirror path."""
    artifacts = []
    for art in goal.artifacts:
        if art.phase == phase.value and art.version == version:
            if art.approved_sha256 not in (None, digest):
                raise ValueError(
                    f"{goal.id} {phase.value} v{version}: content sha256 {digest[:12]} differs from "
                    f"the approved {art.approved_sha256[:12]}"
                )
            if art.mirror_path is None and phase in MIRROR_FILES:
                art = art.model_copy(update={"mirror_path": MIRROR_FILES[phase]})
        artifacts.append(art)
    return goal.model_copy(update={"artifacts": artifacts})


STATE_PATHS = [INDEX_PATH, SCHEMA_PATH, EVENTS_PATH]


def _check_paths(git: Git, paths: Sequence[str]) -> None:
    """Refuse before writing anything if a path would leave the repository (say, via a symlink)."""
    for path in paths:
        git.relpath(path)


def _write_state(root: Path, goal: GoalRecord, events: Sequence[Mapping[str, Any]]) -> list[str]:
    index = load_index(root)
    index.upsert(goal)
    save_index(root, index)
    write_schema(root)
    append_events(root, events)
    return list(STATE_PATHS)


def _commit_effect(
    git: Git, paths: list[str], message: str, trailers: dict[str, str], effect_key: str
) -> PublishResult:
    fault_point("after_mirror_write")
    # allow_empty: even when the files already matched (another effect swept them into its
    # commit), the effect is recorded by a commit carrying its key, so it is never redone.
    sha = git.commit(paths, message, {**trailers, EFFECT_TRAILER: effect_key}, allow_empty=True)
    if sha is None:  # cannot happen with allow_empty; keeps the type honest
        raise RuntimeError(f"no commit was made for effect {effect_key}")
    fault_point("after_git_commit")
    return PublishResult(commit=sha, already_done=False)


def publish_approval(
    repo_path: str | Path,
    *,
    index_entry: GoalRecord,
    phase: Phase | str,
    version: int,
    content: str,
    approved_by: list[str],
    approved_at: datetime,
    events: list[dict[str, Any]],
    effect_key: str,
    git: Git,
) -> PublishResult:
    """Write the approved artifact, its mirror section, the index and events; commit once."""
    root = _check_same_repo(repo_path, git)
    phase = Phase(phase)
    if phase not in CANONICAL_FILES:
        raise ValueError(f"phase {phase.value} has no artifact to publish")
    goal_id = validate_goal_id(index_entry.id)
    validate_trailer(EFFECT_TRAILER, effect_key)
    digest = sha256_text(content)
    goal = _with_mirror_path(index_entry, phase, version, digest)
    canonical = canonical_path(goal_id, phase)
    approvers = [one_line(a, limit=80) for a in approved_by if one_line(a, limit=80)]
    title = one_line(goal.title, limit=72)
    message = f"orch({goal_id}): approve {LABELS[phase]} v{version} — {title}"
    trailers = {"Goal-Id": goal_id, "Phase": phase.value}
    if approvers:
        trailers["Approved-By"] = ", ".join(approvers)
    mirror = [MIRROR_FILES[phase]] if phase in MIRROR_FILES else []
    with git.lock():
        done = git.find_commit_by_trailer(EFFECT_TRAILER, effect_key)
        if done is not None:
            return PublishResult(commit=done, already_done=True)
        _check_paths(git, [canonical, *mirror, *STATE_PATHS])
        write_atomic(root / canonical, content)
        paths = [canonical]
        if phase in MIRROR_FILES:
            section = MirrorSection(
                goal_id=goal_id,
                title=goal.title,
                phase=phase,
                version=version,
                approved_at=approved_at,
                approved_by=approvers,
                canonical_path=canonical,
                content=content,
                sha256=digest,
            )
            append_section(root, section)
            paths.append(MIRROR_FILES[phase])
        paths += _write_state(root, goal, events)
        return _commit_effect(git, paths, message, trailers, effect_key)


def publish_state(
    repo_path: str | Path,
    *,
    index_entry: GoalRecord,
    events: list[dict[str, Any]],
    message: str,
    effect_key: str,
    git: Git,
) -> PublishResult:
    """Commit a change of the index and events only (goal started, rejected, cancelled, waived)."""
    root = _check_same_repo(repo_path, git)
    goal_id = validate_goal_id(index_entry.id)
    validate_trailer(EFFECT_TRAILER, effect_key)
    subject = one_line(message, limit=100) or f"orch({goal_id}): update state"
    with git.lock():
        done = git.find_commit_by_trailer(EFFECT_TRAILER, effect_key)
        if done is not None:
            return PublishResult(commit=done, already_done=True)
        _check_paths(git, STATE_PATHS)
        paths = _write_state(root, index_entry, events)
        return _commit_effect(git, paths, subject, {"Goal-Id": goal_id}, effect_key)
