"""Bring the base branch into a goal branch before its pull request is merged.

Every goal writes the same few files of record: `tasks/index.json`, `tasks/events.jsonl` and the
append-only mirrors under `docs/`. Two goals that ran side by side therefore always "conflict" there
though nothing really clashes, and the host would refuse the second pull request. This merge resolves
exactly those files the way their writers mean them (the index: the base's goals plus this goal's
record; events and mirrors: both sides' lines), and leaves any other conflict (code) to a person.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from bot.sop.index import EVENTS_PATH, INDEX_PATH, SCHEMA_PATH, dump_index, parse_index
from bot.sop.phases import MIRROR_FILES

Run = Callable[..., subprocess.CompletedProcess[str]]  # (args..., cwd=, ok=), as Clones.run
UNION_FILES = {EVENTS_PATH, *MIRROR_FILES.values()}


def _stage(run: Run, path: Path, stage: int, name: str) -> str:
    proc = run("show", f":{stage}:{name}", cwd=path, ok=(0, 128))
    return proc.stdout if proc.returncode == 0 else ""  # no stage 1: added on both sides


def merged_index(ours: str, theirs: str, goal_id: str) -> str:
    """The base's index with this goal's record (and any goal only we know) put in."""
    base = parse_index(theirs)
    mine = parse_index(ours)
    for goal in mine.goals:
        if goal.id == goal_id or base.goal(goal.id) is None:
            base.upsert(goal)
    return dump_index(base)


def merge_base_into(run: Run, path: Path, *, base_ref: str, goal_id: str, message: str) -> list[str]:
    """Merge `base_ref` into the checked-out branch; return the files left in conflict (merge aborted)."""
    if run("merge-base", "--is-ancestor", base_ref, "HEAD", cwd=path, ok=(0, 1)).returncode == 0:
        return []  # the base is in already
    run("merge", "--no-ff", "--no-verify", "-m", message, base_ref, cwd=path, ok=(0, 1))
    conflicted = [f for f in run("diff", "--name-only", "--diff-filter=U", cwd=path).stdout.splitlines() if f]
    if not conflicted:
        return []
    unresolved = []
    for name in conflicted:
        target = path / name
        if name == INDEX_PATH:
            ours, theirs = _stage(run, path, 2, name), _stage(run, path, 3, name)
            target.write_text(merged_index(ours, theirs, goal_id), encoding="utf-8")
        elif name == SCHEMA_PATH:
            run("checkout", "--theirs", "--", name, cwd=path)
        elif name in UNION_FILES:
            files = [path / ".git" / f"orch-merge-{n}" for n in (1, 2, 3)]  # base, ours, theirs
            for stage, file in zip((1, 2, 3), files, strict=True):
                file.write_text(_stage(run, path, stage, name), encoding="utf-8")
            # --union keeps both sides' lines of a clash: what append-only files mean.
            union = run(
                "merge-file",
                "--union",
                "-p",
                str(files[1]),
                str(files[0]),
                str(files[2]),
                cwd=path,
                ok=tuple(range(128)),
            )
            target.write_text(union.stdout, encoding="utf-8")
            for file in files:
                file.unlink(missing_ok=True)
        else:
            unresolved.append(name)
            continue
        run("add", "--", name, cwd=path)
    if unresolved:
        run("merge", "--abort", cwd=path)
        return unresolved
    run("commit", "--no-verify", "--no-edit", cwd=path)
    return []
