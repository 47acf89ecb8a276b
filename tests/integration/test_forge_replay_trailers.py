"""A push replayed on another replica's commits keeps every effect's trailer, even when the rebase
drops a commit whose change is already on the branch (the same file written the same way twice)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from bot.forge.clones import LOCAL_BRANCH, Clones, goal_branch
from bot.repo.git import Identity


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def commit(path: Path, name: str, text: str, key: str) -> None:
    (path / name).write_text(text)
    git("add", name, cwd=path)
    git("commit", "--quiet", "-m", f"write {name}\n\nOrch-Effect: {key}", cwd=path)


def remote_keys(bare: Path, branch: str) -> list[str]:
    log = git("log", "--format=%B", branch, cwd=bare)
    return [line.split(": ", 1)[1] for line in log.splitlines() if line.startswith("Orch-Effect: ")]


def test_a_commit_the_rebase_drops_keeps_its_trailer(tmp_path: Path) -> None:
    seed, bare = tmp_path / "seed", tmp_path / "remote.git"
    seed.mkdir()
    git("init", "--quiet", "-b", "main", cwd=seed)
    (seed / "README.md").write_text("hello\n")
    git("add", "README.md", cwd=seed)
    git("-c", "user.name=P", "-c", "user.email=p@example.com", "commit", "--quiet", "-m", "init", cwd=seed)
    git("clone", "--quiet", "--bare", str(seed), str(bare), cwd=tmp_path)
    url, identity = bare.as_uri(), Identity()
    a = Clones(url=url, root=tmp_path / "a", token=None, identity=identity)
    b = Clones(url=url, root=tmp_path / "b", token=None, identity=identity)
    for clones in (a, b):  # the test's own commits are the bot's: same author
        path = clones.goal_clone("G-0001")
        git("config", "user.name", identity.name, cwd=path)
        git("config", "user.email", identity.email, cwd=path)

    first = a.goal_clone("G-0001")
    commit(first, "tasks.md", "one\n", "state:G-0001:1")
    a.push("G-0001")

    # Replica B catches up and writes the index; replica A, not caught up, writes the same index.
    other = b.goal_clone("G-0001")
    b.sync("G-0001")
    commit(other, "index.json", '{"same": true}\n', "state:G-0001:2")
    b.push("G-0001")
    commit(first, "index.json", '{"same": true}\n', "state:G-0001:3")
    a.push("G-0001")

    keys = remote_keys(bare, goal_branch("G-0001"))
    assert sorted(keys) == ["state:G-0001:1", "state:G-0001:2", "state:G-0001:3"]
    assert (
        git("rev-parse", LOCAL_BRANCH, cwd=first).strip()
        == git("rev-parse", goal_branch("G-0001"), cwd=bare).strip()
    )


def test_a_replay_that_clashes_only_in_files_of_record_is_merged_and_pushed(tmp_path: Path) -> None:
    seed, bare = tmp_path / "seed", tmp_path / "remote.git"
    seed.mkdir()
    git("init", "--quiet", "-b", "main", cwd=seed)
    (seed / "tasks").mkdir()
    (seed / "tasks" / "events.jsonl").write_text('{"n": 0}\n')
    git("add", ".", cwd=seed)
    git("-c", "user.name=P", "-c", "user.email=p@example.com", "commit", "--quiet", "-m", "init", cwd=seed)
    git("clone", "--quiet", "--bare", str(seed), str(bare), cwd=tmp_path)
    url, identity = bare.as_uri(), Identity()
    a = Clones(url=url, root=tmp_path / "a", token=None, identity=identity)
    b = Clones(url=url, root=tmp_path / "b", token=None, identity=identity)
    for clones in (a, b):
        path = clones.goal_clone("G-0001")
        git("config", "user.name", identity.name, cwd=path)
        git("config", "user.email", identity.email, cwd=path)
    first, other = a.goal_clone("G-0001"), b.goal_clone("G-0001")

    # Each replica appends its own event line: the rebase clashes, the union resolves it.
    commit(other, "tasks/events.jsonl", '{"n": 0}\n{"n": "b"}\n', "merge:G-0001:2:1")
    b.push("G-0001")
    commit(first, "tasks/events.jsonl", '{"n": 0}\n{"n": "a"}\n', "state:G-0001:3")
    a.push("G-0001")

    assert sorted(remote_keys(bare, goal_branch("G-0001"))) == ["merge:G-0001:2:1", "state:G-0001:3"]
    events = git("show", f"{goal_branch('G-0001')}:tasks/events.jsonl", cwd=bare).splitlines()
    assert sorted(events) == sorted(['{"n": 0}', '{"n": "a"}', '{"n": "b"}'])
