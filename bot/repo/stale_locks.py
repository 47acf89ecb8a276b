"""Git's own lock files left behind by a process that died, found and removed safely.

git guards the index, HEAD and every ref with a `<name>.lock` file it creates exclusively and
renames or deletes when done. A git process killed half-way (the bot's process group killed, a
timeout) leaves the file behind, and every later git command that needs it fails with
"Unable to create '…/index.lock': File exists." until someone deletes it.

The rule for deleting one (all three must hold):
1. it is a `*.lock` file inside the repository's git directory (the common one, so the goal
   worktrees' `worktrees/<id>/index.lock` and `HEAD.lock` count too), and not the bot's own
   branch lock, which is an OS-level lock released by the kernel when its holder dies;
2. it is older than `max_age` seconds (by its modification time): git holds these locks for the
   length of one command, so an old one is either stale or held by a command still running;
3. no running git process has its working directory inside the repository (read from `/proc`:
   any git of ours, or a person's `git commit` waiting in an editor). A git process whose
   working directory cannot be read (another user's) counts as holding it. Where `/proc` is not
   available, the age alone decides.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
from pathlib import Path

log = logging.getLogger(__name__)

_EXISTS_RE = re.compile(r"Unable to create '(?P<path>[^'\n]+\.lock)': File exists")
_PROC = Path("/proc")
OWN_LOCKS = frozenset({"orch-main.lock"})


def lock_in_error(stderr: str) -> Path | None:
    """The lock file git reported as existing in its error output, if that is why it failed."""
    found = _EXISTS_RE.search(stderr or "")
    return Path(found.group("path")) if found else None


def _inside(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def git_processes_in(root: Path, *, proc: Path = _PROC) -> list[int] | None:
    """Pids of running git processes working inside `root`; None when processes cannot be listed."""
    if not proc.is_dir():
        return None
    found: list[int] = []
    me = os.getpid()
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            name = (entry / "comm").read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            continue  # the process ended while we looked
        if name != "git" and not name.startswith("git-"):
            continue
        try:
            cwd = Path(os.readlink(entry / "cwd"))
        except FileNotFoundError:
            continue
        except OSError:
            found.append(int(entry.name))  # not ours to read: it may hold the lock
            continue
        if _inside(cwd, root):
            found.append(int(entry.name))
    return found


def stale_reason(
    lock: Path, *, git_dir: Path, root: Path, max_age: float, now: float | None = None
) -> str | None:
    """Why `lock` may be deleted (see the module's rule), or None when it must be left alone."""
    try:
        resolved = lock.resolve()
    except OSError:
        return None
    if resolved.suffix != ".lock" or resolved.name in OWN_LOCKS or not _inside(resolved, git_dir.resolve()):
        return None
    try:
        age = (time.time() if now is None else now) - resolved.stat().st_mtime
    except FileNotFoundError:
        return None
    if age < max_age:
        return None
    holders = git_processes_in(root.resolve())
    if holders:
        return None
    checked = "no git process runs in the repository" if holders is not None else "processes not visible"
    return f"{resolved.name} is {age:.0f}s old and {checked}"


def remove_if_stale(lock: Path, *, git_dir: Path, root: Path, max_age: float) -> bool:
    """Delete `lock` when the rule allows it; True when it is gone (deleted now or meanwhile)."""
    reason = stale_reason(lock, git_dir=git_dir, root=root, max_age=max_age)
    if reason is None:
        return not lock.exists()
    with contextlib.suppress(FileNotFoundError):
        lock.unlink()
    log.warning("removed a stale git lock: %s", reason)
    return True
