"""Publish approvals and state changes to the target repository, exactly once.

Each publish is one effect with a key. Under the branch lock it first looks for a commit on the
main branch with the trailer `Orch-Effect: <key>`; if there is one, the effect already happened
and its commit is returned. Otherwise every file write is idempotent on its own (canonical file
rewritten with the same bytes, mirror section skipped by marker, index upserted, events
deduplicated by id) and the commit that carries the key comes last. A crash anywhere therefore
leaves either no commit (and a re-run finishes the job) or the commit (and a re-run returns it).

Publishes that wait for the branch lock at the same time share one commit (a group commit): each
caller queues its request and takes the lock; whoever holds it carries out every queued request,
and the others find theirs done. A commit of one request is exactly that effect's commit (its
subject and trailers). A commit of several is a batch: the subject `orch: publish N changes`, one
body line per effect (its own subject and approvers), then one `Goal-Id` trailer per goal and one
`Orch-Effect` trailer per effect, so every lookup by trailer finds each effect in it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.faults import fault_point
from bot.repo.git import Git
from bot.repo.port import EFFECT_TRAILER
from bot.repo.validate import one_line, validate_goal_id, validate_trailer
from bot.sop.ids import sha256_text
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


@dataclass(frozen=True)
class PublishResult:
    commit: str
    already_done: bool


def canonical_path(goal_id: str, phase: Phase) -> str:
    return f"tasks/{validate_goal_id(goal_id)}/{CANONICAL_FILES[phase]}"


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
MAX_BATCH = 64  # effects per commit at most: keeps one commit (and one failure) bounded


def _check_paths(git: Git, paths: Sequence[str]) -> None:
    """Refuse before writing anything if a path would leave the repository (say, via a symlink)."""
    for path in paths:
        git.relpath(path)


@dataclass
class _Request:
    """One effect's publish: its own files, its goal's index entry and events, its commit text."""

    effect_key: str
    goal: GoalRecord
    events: Sequence[Mapping[str, Any]]
    subject: str
    trailers: dict[str, str]
    write_files: Callable[[Path], list[str]] = lambda _root: []
    note: str = ""  # what a batch commit's body says besides the subject (the approvers)
    done: threading.Event = field(default_factory=threading.Event)
    result: PublishResult | None = None
    error: BaseException | None = None

    def finish(self, result: PublishResult | None = None, error: BaseException | None = None) -> None:
        self.result, self.error = result, error
        self.done.set()


@dataclass
class _Queue:
    guard: threading.Lock = field(default_factory=threading.Lock)
    items: list[_Request] = field(default_factory=list)


_QUEUES: dict[tuple[Path, str, str], _Queue] = {}
_QUEUES_GUARD = threading.Lock()


def _queue_for(git: Git) -> _Queue:
    key = (git.git_dir, git.identity.name, git.identity.email)
    with _QUEUES_GUARD:
        return _QUEUES.setdefault(key, _Queue())


def _submit(git: Git, request: _Request) -> PublishResult:
    """Queue the request, then publish every queued request under the branch lock (see above)."""
    queue = _queue_for(git)
    with queue.guard:
        queue.items.append(request)
    try:
        while not request.done.is_set():
            with git.lock():
                with queue.guard:
                    batch, queue.items = queue.items[:MAX_BATCH], queue.items[MAX_BATCH:]
                if batch:
                    _publish_batch(git, batch)
    except BaseException:
        # The lock was not had (a timeout, an unwritable lock file): this attempt fails and its
        # request leaves the queue with it. Left there, each failed attempt would add one more copy
        # of the effect to a later batch commit, while the effect's row said it failed.
        with queue.guard:
            if request in queue.items:
                queue.items.remove(request)
        if not request.done.is_set():
            raise
    if request.error is not None:
        raise request.error
    assert request.result is not None
    return request.result


def _publish_batch(git: Git, batch: list[_Request]) -> None:
    """Under the branch lock: skip the effects already committed, write the others' files, commit once.

    Every request of the batch is finished here, with its result or an error; nothing is raised,
    since the thread running the batch may be one whose own request is not in it.
    """
    unique, copies = _one_per_effect(batch)
    try:
        _publish(git, unique)
    except Exception as exc:
        for request in unique:
            if not request.done.is_set():
                request.finish(error=exc)
    finally:  # interrupted by a BaseException: no waiter may be left waiting for ever
        for request in unique:
            if not request.done.is_set():
                request.finish(error=RuntimeError(f"publishing effect {request.effect_key} was interrupted"))
        for copy, original in copies:
            copy.finish(original.result, original.error)


def _publish(git: Git, batch: list[_Request]) -> None:
    done = git.find_effect_commits([r.effect_key for r in batch])
    todo: list[_Request] = []
    twins: list[_Request] = []  # the same effect queued twice (two replicas' threads): one commit
    paths: list[str] = []
    for request in batch:
        if request.effect_key in done:
            request.finish(PublishResult(commit=done[request.effect_key], already_done=True))
            continue
        if any(r.effect_key == request.effect_key for r in todo):
            twins.append(request)
            continue
        try:
            _check_paths(git, STATE_PATHS)
            paths += request.write_files(git.root)
        except Exception as exc:  # this effect fails (and is retried); the others go on
            request.finish(error=exc)
            continue
        todo.append(request)
    if not todo:
        return
    paths += _write_state(git.root, [r.goal for r in todo], [e for r in todo for e in r.events])
    message, trailers = _batch_message(todo)
    fault_point("after_mirror_write")
    # allow_empty: even when the files already matched (another effect swept them into its
    # commit), the effect is recorded by a commit carrying its key, so it is never redone.
    sha = git.commit(paths, message, trailers, allow_empty=True)
    if sha is None:  # cannot happen with allow_empty; keeps the type honest
        raise RuntimeError(f"no commit was made for effect {todo[0].effect_key}")
    fault_point("after_git_commit")
    for request in todo:
        request.finish(PublishResult(commit=sha, already_done=False))
    for request in twins:
        request.finish(PublishResult(commit=sha, already_done=True))


def _one_per_effect(batch: list[_Request]) -> tuple[list[_Request], list[tuple[_Request, _Request]]]:
    """One request per effect key, and the (copy, original) pairs left out: two attempts of one
    effect waiting at once share the first one's outcome, and the commit names the effect once."""
    first: dict[str, _Request] = {}
    copies: list[tuple[_Request, _Request]] = []
    for request in batch:
        if request.effect_key in first:
            copies.append((request, first[request.effect_key]))
        else:
            first[request.effect_key] = request
    return list(first.values()), copies


def _batch_message(batch: list[_Request]) -> tuple[str, list[tuple[str, str]]]:
    if len(batch) == 1:
        only = batch[0]
        return only.subject, [*only.trailers.items(), (EFFECT_TRAILER, only.effect_key)]
    lines = [f"- {r.subject}{f' ({r.note})' if r.note else ''}" for r in batch]
    goals = list(dict.fromkeys(r.goal.id for r in batch))
    message = f"orch: publish {len(batch)} changes\n\n" + "\n".join(lines)
    trailers = [("Goal-Id", g) for g in goals] + [(EFFECT_TRAILER, r.effect_key) for r in batch]
    return message, trailers


def _write_state(root: Path, goals: Sequence[GoalRecord], events: Sequence[Mapping[str, Any]]) -> list[str]:
    index = load_index(root)
    for goal in goals:
        index.upsert(goal)
    save_index(root, index)
    write_schema(root)
    append_events(root, events)
    return list(STATE_PATHS)


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
    _check_same_repo(repo_path, git)
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

    def write_files(root: Path) -> list[str]:
        _check_paths(git, [canonical, *mirror])
        write_atomic(root / canonical, content)
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
        return [canonical, *mirror]

    request = _Request(
        effect_key=effect_key,
        goal=goal,
        events=events,
        subject=message,
        trailers=trailers,
        write_files=write_files,
        note=f"Approved-By: {trailers['Approved-By']}" if approvers else "",
    )
    return _submit(git, request)


def publish_state(
    repo_path: str | Path,
    *,
    index_entry: GoalRecord,
    events: list[dict[str, Any]],
    message: str,
    effect_key: str,
    git: Git,
    trailers: Mapping[str, str] | None = None,
) -> PublishResult:
    """Commit a change of the index and events only (goal started, rejected, cancelled, waived,
    re-reviewed); `trailers` (say `Approved-By` of a re-review) follow `Goal-Id`."""
    _check_same_repo(repo_path, git)
    goal_id = validate_goal_id(index_entry.id)
    validate_trailer(EFFECT_TRAILER, effect_key)
    subject = one_line(message, limit=100) or f"orch({goal_id}): update state"
    extra = dict(
        validate_trailer(k, v) for k, v in (trailers or {}).items() if k not in ("Goal-Id", EFFECT_TRAILER)
    )
    request = _Request(
        effect_key=effect_key,
        goal=index_entry,
        events=events,
        subject=subject,
        trailers={"Goal-Id": goal_id, **extra},
        note=f"Approved-By: {extra['Approved-By']}" if "Approved-By" in extra else "",
    )
    return _submit(git, request)
