"""A goal's tasks built on one replica and merged on another (two clones of one remote, real git).

Each replica has its own disk: the builder keeps its built change in its worktree when the other
replica merges the approved diff. Its next build must not carry that change again, and the merge of
that next task must land with its trailer, never be skipped as "nothing to merge".
"""

from __future__ import annotations

import asyncio
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.effects.dispatcher import EffectDispatcher
from bot.forge.clones import Clones, goal_branch
from bot.forge.delivery import DeliveryEffects
from bot.forge.handover import drop_merged_leftovers, hold_approved_diff
from bot.forge.targets import Target
from bot.redact import redact
from bot.repo.errors import GitError
from bot.repo.git import Identity, ensure_repo
from bot.sop.phases import Phase
from bot.sop.publish import sha256_text
from storage.db import transaction
from storage.models import Approval, Artifact, Effect, Goal

GOAL = "G-0001"


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


class RepoSettings(BaseModel):
    repo: Path


@dataclass
class Work:
    """Stands for the bot's work effects in one replica: a build writes the task's file in the goal's
    worktree and records its diff, approved; a merge commits the worktree and merges it as the bot's
    merge effect does, found again by its trailer."""

    settings: RepoSettings
    engine: Engine
    _dispatcher: Any = None

    def _git(self) -> Any:
        return ensure_repo(self.settings.repo, identity=Identity())

    async def build(self, effect: Effect) -> None:
        task_id = int(effect.payload["task_id"])
        repo = self._git()
        tree = repo.worktree_add(GOAL)
        (tree / "src").mkdir(exist_ok=True)
        (tree / "src" / f"task_{task_id}.py").write_text(f"TASK = {task_id}\n")
        content = redact(repo.diff(tree))
        with transaction(self.engine) as session:
            digest = sha256_text(content)
            session.add(
                Artifact(
                    goal_id=GOAL,
                    phase=Phase.IMPLEMENTATION.value,
                    version=1,
                    task_id=task_id,
                    content=content,
                    sha256=digest,
                    created_at=now(),
                )
            )
            session.add(
                Approval(
                    goal_id=GOAL,
                    phase=Phase.IMPLEMENTATION.value,
                    artifact_version=1,
                    artifact_sha256=digest,
                    decision="approve",
                    by="U_APP1",
                    at=now(),
                )
            )

    async def merge(self, effect: Effect) -> None:
        task_id = int(effect.payload["task_id"])
        repo = self._git()
        if repo.find_commit_by_trailer("Orch-Effect", effect.key):
            return
        repo.commit_in_worktree(GOAL, f"task {task_id}", {"Goal-Id": GOAL, "Task-Id": str(task_id)})
        repo.merge_worktree(GOAL, f"merge task {task_id}", {"Goal-Id": GOAL, "Orch-Effect": effect.key})


@dataclass
class Replica:
    delivery: DeliveryEffects
    work: Work

    def run(self, kind: str, key: str, task_id: int) -> None:
        handlers = {"build": self.work.build, "repo.merge": self.work.merge}
        wrapped = self.delivery.wrap(
            handlers, self.work, EffectDispatcher(engine=self.work.engine, clock=now)
        )[kind]
        payload: dict[str, Any] = {"task_id": task_id}
        if kind == "repo.merge":  # a merge names the approved diff, as the procedure records it
            with transaction(self.work.engine) as session:
                diff = session.exec(select(Artifact).where(Artifact.task_id == task_id)).first()
            payload["artifact_id"] = diff.id if diff is not None else 0
        effect = Effect(key=key, kind=kind, goal_id=GOAL, payload=payload, created_at=now())
        asyncio.run(wrapped(effect))


def make_remote(tmp_path: Path) -> Path:
    seed, bare = tmp_path / "seed", tmp_path / "remote.git"
    seed.mkdir()
    git("init", "--quiet", "-b", "main", cwd=seed)
    (seed / "README.md").write_text("hello\n")
    git("add", "README.md", cwd=seed)
    git("-c", "user.name=P", "-c", "user.email=p@example.com", "commit", "--quiet", "-m", "init", cwd=seed)
    git("clone", "--quiet", "--bare", str(seed), str(bare), cwd=tmp_path)
    return bare


def replica(engine: Engine, url: str, root: Path) -> Replica:
    clones = Clones(url=url, root=root, token=None, identity=Identity())
    target = Target(name=None, mode="push", clones=clones)
    delivery = DeliveryEffects(engine=engine, clock=now, targets={None: target})
    return Replica(delivery, Work(RepoSettings(repo=root), engine))


@pytest.fixture
def goal(engine: Engine) -> None:
    """The database (the shared `engine` fixture) with the goal whose tasks are built and merged."""
    with transaction(engine) as session:
        at = now()
        session.add(
            Goal(
                id=GOAL,
                title="Add an audit page",
                brief="Add an audit page.",
                requester="U_REQ",
                phase=Phase.IMPLEMENTATION.value,
                status="building",
                phase_started_at=at,
                created_at=at,
                updated_at=at,
            )
        )


def remote_branch(bare: Path) -> tuple[list[str], list[str]]:
    """The goal branch's effect keys and files on the remote."""
    branch = goal_branch(GOAL)
    log = git("log", "--format=%B", branch, cwd=bare)
    keys = [line.split(": ", 1)[1] for line in log.splitlines() if line.startswith("Orch-Effect: ")]
    files = git("ls-tree", "-r", "--name-only", branch, cwd=bare).split()
    return sorted(keys), files


@pytest.mark.usefixtures("goal")
def test_tasks_built_on_one_replica_and_merged_on_the_other_all_land(engine: Engine, tmp_path: Path) -> None:
    bare = make_remote(tmp_path)
    a = replica(engine, bare.as_uri(), tmp_path / "a")
    b = replica(engine, bare.as_uri(), tmp_path / "b")

    a.run("build", "build:G-0001:1:1", 1)
    b.run("repo.merge", "merge:G-0001:1:1", 1)
    a.run("build", "build:G-0001:2:1", 2)  # replica A still holds task 1's change in its worktree
    b.run("repo.merge", "merge:G-0001:2:1", 2)

    keys, files = remote_branch(bare)
    assert keys == ["merge:G-0001:1:1", "merge:G-0001:2:1"]
    assert {"src/task_1.py", "src/task_2.py"} <= set(files)
    with transaction(engine) as session:
        second = session.exec(select(Artifact).where(Artifact.task_id == 2)).one()
        assert "src/task_1.py" not in second.content  # the diff posted for task 2 is task 2's only


@pytest.mark.usefixtures("goal")
def test_the_builder_merges_its_own_task_after_the_other_merged_the_first(
    engine: Engine, tmp_path: Path
) -> None:
    bare = make_remote(tmp_path)
    a = replica(engine, bare.as_uri(), tmp_path / "a")
    b = replica(engine, bare.as_uri(), tmp_path / "b")

    a.run("build", "build:G-0001:1:1", 1)
    b.run("repo.merge", "merge:G-0001:1:1", 1)
    a.run("build", "build:G-0001:2:1", 2)
    a.run("repo.merge", "merge:G-0001:2:1", 2)
    b.run("build", "build:G-0001:3:1", 3)
    a.run("repo.merge", "merge:G-0001:3:1", 3)

    keys, files = remote_branch(bare)
    assert keys == ["merge:G-0001:1:1", "merge:G-0001:2:1", "merge:G-0001:3:1"]
    assert {"src/task_1.py", "src/task_2.py", "src/task_3.py"} <= set(files)


@pytest.mark.usefixtures("goal")
def test_a_build_handler_installed_after_the_delivery_starts_clean_too(
    engine: Engine, tmp_path: Path
) -> None:
    """The implementation manager's `build` opens the goal's clone itself; wrapped by the delivery,
    it also starts from the remote without what another replica merged."""
    bare = make_remote(tmp_path)
    a = replica(engine, bare.as_uri(), tmp_path / "a")
    b = replica(engine, bare.as_uri(), tmp_path / "b")
    a.run("build", "build:G-0001:1:1", 1)
    b.run("repo.merge", "merge:G-0001:1:1", 1)

    clones = a.delivery.target(GOAL).clones
    assert clones is not None
    manager = Work(RepoSettings(repo=clones.goal_clone(GOAL)), engine)  # builds in the clone as it is
    build = a.delivery.wrap_build(manager.build)
    effect = Effect(
        key="build:G-0001:2:1", kind="build", goal_id=GOAL, payload={"task_id": 2}, created_at=now()
    )
    asyncio.run(build(effect))

    with transaction(engine) as session:
        second = session.exec(select(Artifact).where(Artifact.task_id == 2)).one()
    assert "src/task_2.py" in second.content and "src/task_1.py" not in second.content


def test_a_build_keeps_work_of_its_own_that_is_not_merged(tmp_path: Path) -> None:
    repo = ensure_repo(tmp_path / "repo", init_if_missing=True, identity=Identity())
    tree = repo.worktree_add(GOAL)
    (tree / "half.py").write_text("HALF = True\n")  # a build paused at its budget, say

    assert drop_merged_leftovers(repo, GOAL) is False
    assert (tree / "half.py").read_text() == "HALF = True\n"


def test_an_approved_diff_that_does_not_apply_is_an_error_not_an_empty_merge(tmp_path: Path) -> None:
    repo = ensure_repo(tmp_path / "repo", init_if_missing=True, identity=Identity())
    (tmp_path / "repo" / "app.py").write_text("A = 1\n")
    git("add", "app.py", cwd=tmp_path / "repo")
    git(
        "-c",
        "user.name=P",
        "-c",
        "user.email=p@example.com",
        "commit",
        "-q",
        "-m",
        "app",
        cwd=tmp_path / "repo",
    )
    diff = "--- a/app.py\n+++ b/app.py\n@@ -1 +1 @@\n-A = 2\n+A = 3\n"  # made on another A than ours

    with pytest.raises(GitError, match="does not apply"):
        hold_approved_diff(repo, GOAL, diff, sha256_text(diff), task_id=1)
