"""A goal is done when its merges have landed, not when its last diff is approved; a conflict stops it."""

from __future__ import annotations

import asyncio
import re
import subprocess
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from bot.app import Container, build_container
from bot.services.merges import rebuild_after_conflict
from bot.services.unit import Actor
from storage.audit import AuditEntry
from storage.jobs_models import Job
from storage.models import Artifact, Effect
from tests.conftest import make_settings

BRIEF = "Add a CSV export of monthly invoices. Finance downloads it from the admin page."


def drain(c: Container) -> None:
    asyncio.run(c.dispatcher.drain(timeout=60))


def approve(c: Container, goal_id: str) -> None:
    c.goals.decide(goal_id=goal_id, phase=None, sha256=None, decision="approve", actor=Actor("U_APP1"))


def walk_to_diff(c: Container, goal_id: str, *, last: bool) -> None:
    for _ in range(12):
        drain(c)
        goal = c.goals.get(goal_id)
        open_tasks = [t for t in goal.tasks if t.get("status") != "done"]
        if (
            goal.phase == "implementation"
            and goal.status == "awaiting_approval"
            and (not last or len(open_tasks) == 1)
        ):
            return
        approve(c, goal_id)
    raise AssertionError("the goal never reached the diff")


def subjects(repo: Path) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), "log", "--format=%B"], capture_output=True, text=True
    ).stdout


def test_the_goal_is_done_only_once_every_merge_has_landed(tmp_path: Path, target_repo: Path) -> None:
    c = build_container(make_settings(tmp_path, target_repo))
    goal = c.goals.start_goal(brief=BRIEF, actor=Actor("U_REQ"))
    walk_to_diff(c, goal.id, last=True)
    approve(c, goal.id)
    approved = c.goals.get(goal.id)
    assert approved.state == "active" and approved.status == "approved"  # approved, not merged yet
    drain(c)
    done = c.goals.get(goal.id)
    assert done.state == "done"
    commits = [t["merge_commit"] for t in done.tasks]
    log = subprocess.run(
        ["git", "-C", str(target_repo), "log", "--format=%H"], capture_output=True, text=True
    ).stdout
    assert all(sha in log.split() for sha in commits) and len(set(commits)) == len(done.tasks)
    with Session(c.engine) as session:
        actions = [e.action for e in session.exec(select(AuditEntry).order_by(col(AuditEntry.seq)))]
    assert actions.index("goal.done") > max(i for i, a in enumerate(actions) if a == "task.merged")


def test_a_conflicting_merge_stops_the_goal_at_its_task_and_a_rebuild_carries_it_to_done(
    tmp_path: Path, target_repo: Path
) -> None:
    c = build_container(make_settings(tmp_path, target_repo))
    goal = c.goals.start_goal(brief=BRIEF, actor=Actor("U_REQ"))
    walk_to_diff(c, goal.id, last=False)
    with Session(c.engine) as session:
        diff = session.exec(select(Artifact).where(Artifact.phase == "implementation")).one()
    found = re.search(r"^\+\+\+ b/(src/\S+\.py)$", diff.content, re.M)
    assert found is not None
    person = target_repo / found.group(1)
    person.parent.mkdir(parents=True, exist_ok=True)
    person.write_text("VALUE = 42\n")
    git = ["git", "-C", str(target_repo), "-c", "user.name=P", "-c", "user.email=p@example.invalid"]
    subprocess.run([*git, "add", found.group(1)], check=True)
    subprocess.run([*git, "commit", "-q", "--no-verify", "-m", "by hand"], check=True)

    approve(c, goal.id)
    drain(c)
    blocked = c.goals.get(goal.id)
    assert blocked.state == "active" and blocked.status == "blocked"
    assert [t["status"] for t in blocked.tasks][:2] == ["blocked", "pending"]
    assert blocked.tasks[0]["conflict"]["files"] == [found.group(1)]
    assert "merge task 1" not in subjects(target_repo)
    with Session(c.engine) as session:
        asked = session.exec(select(Effect).where(Effect.kind == "slack.merge_conflict")).one()
    assert asked.payload["files"] == [found.group(1)]

    version = rebuild_after_conflict(c.goals, goal_id=goal.id, task_id=1, actor=Actor("U_APP2"))
    assert version == 2
    for _ in range(12):
        drain(c)
        if c.goals.get(goal.id).state == "done":
            break
        approve(c, goal.id)
    assert c.goals.get(goal.id).state == "done"
    assert "merge task 1" in subjects(target_repo) and person.read_text() == "VALUE = 42\n"


def test_who_may_choose_after_a_conflict_and_what_request_changes_and_cancel_do(
    tmp_path: Path, target_repo: Path
) -> None:
    from bot.services.errors import GoalClosed, InvalidInput
    from bot.services.merges import cancel_after_conflict, record_conflict

    c = build_container(make_settings(tmp_path, target_repo))
    goal = c.goals.start_goal(brief=BRIEF, actor=Actor("U_REQ"))
    walk_to_diff(c, goal.id, last=False)
    with pytest.raises(InvalidInput, match="not waiting on a merge conflict"):
        rebuild_after_conflict(c.goals, goal_id=goal.id, task_id=1, actor=Actor("U_APP1"))
    record_conflict(c.goals, goal_id=goal.id, task_id=1, version=1, files=["src/a.py"], base=None)
    with pytest.raises(InvalidInput, match="Only the requester or an approver"):
        rebuild_after_conflict(c.goals, goal_id=goal.id, task_id=1, actor=Actor("U_STRANGER"))

    version = rebuild_after_conflict(
        c.goals, goal_id=goal.id, task_id=1, actor=Actor("U_APP2"), feedback="Keep the hand-written VALUE"
    )
    with Session(c.engine) as session:
        build = session.exec(  # the rebuild is agent work: a job
            select(Job).where(Job.key == f"build:{goal.id}:implementation:1:{version}")
        ).one()
        decided = session.exec(select(Effect).where(Effect.key == f"conflict:{goal.id}:1:1:decided")).one()
        actions = [e.action for e in session.exec(select(AuditEntry).order_by(col(AuditEntry.seq)))]
    assert build.payload["rebase"] is True and "Keep the hand-written VALUE" in build.payload["feedback"]
    assert "src/a.py" in build.payload["feedback"]
    assert decided.payload == {
        "conflict_key": f"conflict:{goal.id}:1:1", "by": "U_APP2", "choice": "changes",
    }  # fmt: skip
    assert "task.rebuild_requested" in actions and c.goals.get(goal.id).status == "changes_requested"

    record_conflict(c.goals, goal_id=goal.id, task_id=1, version=version, files=["src/a.py"], base=None)
    cancel_after_conflict(c.goals, goal_id=goal.id, task_id=1, actor=Actor("U_REQ"))
    assert c.goals.get(goal.id).state == "cancelled"
    with pytest.raises(GoalClosed):
        rebuild_after_conflict(c.goals, goal_id=goal.id, task_id=1, actor=Actor("U_APP1"))
