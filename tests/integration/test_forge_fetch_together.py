"""Threads of one process that fetch into one goal clone at once (a goal's draft job and its repo
effect) all succeed: the remote-tracking refs are written by one fetch at a time."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bot.forge.clones import Clones
from bot.repo.git import Identity

BRANCHES = 40


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def test_fetches_into_one_clone_at_once_all_succeed(tmp_path: Path) -> None:
    seed, bare = tmp_path / "seed", tmp_path / "remote.git"
    seed.mkdir()
    git("init", "--quiet", "-b", "main", cwd=seed)
    git("commit", "--quiet", "--allow-empty", "-m", "init", cwd=seed)
    git("clone", "--quiet", "--bare", str(seed), str(bare), cwd=tmp_path)
    clones = Clones(url=bare.as_uri(), root=tmp_path / "a", token=None, identity=Identity())
    clones.goal_clone("G-0001")
    for round_ in range(3):
        # Other replicas moved many goal branches: every fetch below updates all of them.
        for n in range(BRANCHES):
            git("commit", "--quiet", "--allow-empty", "-m", f"{round_}-{n}", cwd=seed)
            git("push", "--quiet", "--force", str(bare), f"HEAD:refs/heads/orch/G-{n + 2:04d}", cwd=seed)
        with ThreadPoolExecutor(max_workers=4) as pool:
            for future in [pool.submit(clones.sync, "G-0001") for _ in range(4)]:
                future.result()  # raises GitError ("cannot lock ref") when two fetches clash
