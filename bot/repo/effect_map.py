"""Which commit on the main branch carries each `Orch-Effect` key, remembered beside the repository.

Before every commit a publish asks whether its effect was committed already (a crash may have come
between the commit and marking the effect done). `git log --grep` over the whole history answers,
but its cost grows with the repository. This map answers from a file in the git directory instead
and reads only the commits made since it last looked: usually none or one.

`<git-dir>/orch-effects` is append-only text: `<sha> <key>` lines, and `scanned <sha>` lines that
say every commit reachable from `<sha>` carrying a key is listed above them. A lookup reads what was
appended since its last visit, lists the commits of `scanned..main` with their keys (commits from
outside the bot included), appends them and a new `scanned` line in one write, and answers:

- a key the map does not know was committed nowhere on main: a commit reachable from main is either
  reachable from `scanned` (so listed) or in the range just read;
- a key it knows is checked to be still on main (`merge-base --is-ancestor`: the branch may have been
  rewritten); if it is not, the full search decides.

A torn last line (a crash while appending) is ignored, and losing the file only costs one full scan.
Callers hold the branch lock, so one writer appends at a time.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bot.repo.port import EFFECT_TRAILER

if TYPE_CHECKING:
    from bot.repo.port import GitPort as Git

MAP_NAME = "orch-effects"
_SCANNED = "scanned"


@dataclass
class _EffectMap:
    path: Path
    offset: int = 0
    scanned: str | None = None
    commits: dict[str, str] = field(default_factory=dict)

    def refresh(self) -> None:
        """Read what was appended since the last visit (all of it if the file was replaced)."""
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            size = 0
        if size < self.offset:  # truncated or replaced: start over
            self.offset, self.scanned, self.commits = 0, None, {}
        if size == self.offset:
            return
        with self.path.open("rb") as fh:
            fh.seek(self.offset)
            data = fh.read(size - self.offset)
        end = data.rfind(b"\n") + 1  # a torn last line is left for later (or forever)
        for raw in data[:end].decode("utf-8", errors="replace").splitlines():
            first, _, rest = raw.partition(" ")
            if not rest:
                continue
            if first == _SCANNED:
                self.scanned = rest
            else:
                self.commits[rest] = first
        self.offset += end

    def append(self, lines: list[str]) -> None:
        if not lines:
            return
        data = "".join(f"{line}\n" for line in lines).encode("utf-8")
        if self.path.exists() and self.path.stat().st_size > self.offset:
            data = b"\n" + data  # end a torn line first, or our first line would be glued to it
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        # Read our own lines back through refresh(), so the offset and the contents always agree.
        self.refresh()


_MAPS: dict[Path, _EffectMap] = {}
_MAPS_GUARD = threading.Lock()


def _map_for(git: Git) -> _EffectMap:
    path = git.git_dir / MAP_NAME
    with _MAPS_GUARD:
        return _MAPS.setdefault(path, _EffectMap(path))


def _new_commits(git: Git, since: str | None) -> list[tuple[str, list[str]]]:
    """(sha, effect keys) of the commits on main not reachable from `since`, the tip first."""
    fmt = f"--format=%H%x1f%(trailers:key={EFFECT_TRAILER},valueonly,unfold,separator=%x1d)%x1e"
    branch = f"refs/heads/{git.main_branch}"
    args = ["log", "--topo-order", fmt, branch]
    if since is not None:
        args += ["--not", since]
    proc = git.run_full(*args, "--", ok_codes=(0, 128))
    if proc.returncode != 0:
        if since is None:
            return []  # no commits on main yet
        return _new_commits(git, None)  # `since` is gone (a pruned, rewritten branch): scan it all
    out = []
    for record in proc.stdout.split("\x1e"):
        record = record.strip("\n")
        if not record:
            continue
        sha, _, keys = record.partition("\x1f")
        out.append((sha, [k.strip() for k in keys.split("\x1d") if k.strip()]))
    return out


def _on_main(git: Git, sha: str) -> bool:
    branch = f"refs/heads/{git.main_branch}"
    proc = git.run_full("merge-base", "--is-ancestor", sha, branch, ok_codes=(0, 1, 128))
    return proc.returncode == 0


def effect_commits(git: Git, keys: list[str]) -> dict[str, str]:
    """key → the commit on main carrying `Orch-Effect: key`, for the keys committed. Call under the
    branch lock."""
    emap = _map_for(git)
    emap.refresh()
    new = _new_commits(git, emap.scanned)
    if new:
        lines = []
        # Oldest first, so that for a key committed twice the newest commit is the one kept.
        for sha, carried in reversed(new):
            lines += [f"{sha} {k}" for k in carried if "\n" not in k]
        lines.append(f"{_SCANNED} {new[0][0]}")
        emap.append(lines)
    out: dict[str, str] = {}
    for key in keys:
        found = emap.commits.get(key)
        if found is not None and not _on_main(git, found):
            found = git.search_trailer(EFFECT_TRAILER, key)
        if found is not None:
            out[key] = found
    return out
