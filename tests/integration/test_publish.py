"""Publishing approvals and state to the target repository: exactly once, even across crashes."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.faults import FAULT_EXIT_CODE
from bot.repo.git import Git, ensure_repo
from bot.sop.index import EVENTS_PATH, INDEX_PATH, SCHEMA_PATH, load_index, schema_text
from bot.sop.publish import publish_approval, publish_state
from bot.sop.records import ArtifactRecord, GoalRecord

PROJECT_ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2025, 3, 10, 14, 0, tzinfo=UTC)
PRD = "# PRD: Invoices\n\nCustomers get a PDF invoice by e-mail.\n"


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("ORCH_FAULT", raising=False)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def goal(goal_id: str = "G-0003", *, version: int = 2, content: str = PRD) -> GoalRecord:
    return GoalRecord(
        id=goal_id, title="Invoices", requester="U1", phase="task_list", status="drafting", created=T0, updated=T0,
        artifacts=[ArtifactRecord(phase="prd", path=f"tasks/{goal_id}/prd.md", version=version, sha256=sha(content),
                                  approved_sha256=sha(content), last_review=T0, reviewed_by=["U2"])],
    )  # fmt: skip


def publish(git: Git, record: GoalRecord | None = None, **kw: object) -> object:
    args: dict = {
        "index_entry": record or goal(), "phase": "prd", "version": 2, "content": PRD, "approved_by": ["U2"],
        "approved_at": T0, "events": [{"id": "audit-1", "action": "approve"}],
        "effect_key": "publish:G-0003:prd:v2", "git": git,
    }  # fmt: skip
    args.update(kw)
    return publish_approval(git.root, **args)


def count_commits(git: Git, effect_key: str) -> int:
    return sum(1 for c in git.log() if c.trailer("Orch-Effect") == effect_key)


def test_an_approval_writes_canonical_file_mirror_index_events_and_one_commit(git: Git) -> None:
    result = publish(git)
    assert result.already_done is False
    canonical = git.root / "tasks/G-0003/prd.md"
    assert canonical.read_bytes() == PRD.encode()
    assert hashlib.sha256(canonical.read_bytes()).hexdigest() == sha(PRD)
    mirror = (git.root / "docs/PRD.md").read_text(encoding="utf-8")
    assert "## G-0003 · Invoices — PRD v2 (2025-03-10)" in mirror and "Customers get a PDF" in mirror
    index = load_index(git.root)
    assert index.goal("G-0003").artifacts[0].mirror_path == "docs/PRD.md"
    assert (git.root / SCHEMA_PATH).read_text(encoding="utf-8") == schema_text()
    assert [json.loads(x)["id"] for x in (git.root / EVENTS_PATH).read_text().splitlines()] == ["audit-1"]
    head = git.log(max_count=1)[0]
    assert head.sha == result.commit
    assert head.subject == "orch(G-0003): approve PRD v2 — Invoices"
    assert dict(head.trailers) == {
        "Goal-Id": "G-0003", "Phase": "prd", "Approved-By": "U2", "Orch-Effect": "publish:G-0003:prd:v2",
    }  # fmt: skip
    changed = git.run("show", "--name-only", "--format=", "HEAD").split()
    assert sorted(changed) == sorted(
        ["tasks/G-0003/prd.md", "docs/PRD.md", INDEX_PATH, SCHEMA_PATH, EVENTS_PATH]
    )
    assert git.is_clean()


def test_publishing_the_same_effect_again_returns_the_first_commit(git: Git) -> None:
    first = publish(git)
    again = publish(git)
    assert again.already_done is True and again.commit == first.commit
    assert count_commits(git, "publish:G-0003:prd:v2") == 1


def test_content_that_is_not_the_approved_version_is_refused(git: Git) -> None:
    with pytest.raises(ValueError, match="differs from the approved"):
        publish(git, content=PRD + "sneaky edit\n")
    assert not (git.root / "tasks").exists()


def test_a_second_version_appends_a_new_mirror_section_and_keeps_the_first(git: Git) -> None:
    publish(git)
    before = (git.root / "docs/PRD.md").read_bytes()
    v3 = PRD + "\nAlso credit notes.\n"
    publish(git, goal(version=3, content=v3), version=3, content=v3, effect_key="publish:G-0003:prd:v3",
            events=[{"id": "audit-1"}, {"id": "audit-2"}])  # fmt: skip
    after = (git.root / "docs/PRD.md").read_bytes()
    assert after.startswith(before) and b"PRD v3" in after
    assert (git.root / "tasks/G-0003/prd.md").read_text(encoding="utf-8") == v3
    assert len((git.root / EVENTS_PATH).read_text().splitlines()) == 2


def test_the_scaffold_check_has_a_canonical_file_but_no_mirror(git: Git) -> None:
    publish(git, phase="scaffold_check", version=1, content="# Scaffold Check\n", effect_key="scaffold:1")
    assert (git.root / "tasks/G-0003/scaffold-check.md").exists()
    assert not (git.root / "docs").exists()


def test_publish_state_commits_the_index_and_events_once(git: Git) -> None:
    record = goal().model_copy(update={"state": "cancelled"})
    events = [{"id": "audit-9", "action": "cancel"}]
    kw = {"index_entry": record, "events": events, "effect_key": "publish:G-0003:cancelled", "git": git}
    first = publish_state(git.root, message="orch(G-0003): cancelled — Invoices\nsecond line", **kw)
    again = publish_state(git.root, message="ignored", **kw)
    assert (first.already_done, again.already_done) == (False, True)
    assert again.commit == first.commit
    assert git.log(max_count=1)[0].subject == "orch(G-0003): cancelled — Invoices second line"
    assert load_index(git.root).goal("G-0003").state == "cancelled"


def test_an_effect_whose_files_were_already_committed_is_still_recorded_once(git: Git) -> None:
    record = goal()
    publish_state(git.root, index_entry=record, events=[], message="m", effect_key="a", git=git)
    result = publish_state(git.root, index_entry=record, events=[], message="m", effect_key="b", git=git)
    assert result.already_done is False
    assert git.find_commit_by_trailer("Orch-Effect", "b") == result.commit


def test_concurrent_publishers_of_different_goals_lose_no_update(git: Git) -> None:
    errors: list[BaseException] = []

    def run(goal_id: str) -> None:
        try:
            own = Git(git.root)  # separate instance, as in another thread of the bot
            for n in range(3):
                record = goal(goal_id).model_copy(update={"title": f"{goal_id} #{n}"})
                publish_state(own.root, index_entry=record, events=[{"id": f"{goal_id}-{n}"}],
                              message=f"{goal_id} {n}", effect_key=f"{goal_id}:{n}", git=own)  # fmt: skip
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(f"G-000{i}",)) for i in range(1, 4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors and not any(t.is_alive() for t in threads)
    index = load_index(git.root)
    assert [g.title for g in index.goals] == ["G-0001 #2", "G-0002 #2", "G-0003 #2"]
    assert len((git.root / EVENTS_PATH).read_text().splitlines()) == 9
    # Publishes that waited for the lock together may share a commit; each effect is in exactly one.
    effects = [v for c in git.log() for k, v in c.trailers if k == "Orch-Effect"]
    assert sorted(effects) == sorted(f"G-000{i}:{n}" for i in range(1, 4) for n in range(3))
    assert 1 + 3 <= len(git.log()) <= 1 + 9
    assert git.is_clean()


# -- crash safety: a real process killed at the fault points, then run again ---------------------

CRASH_SCRIPT = """
import hashlib, json, sys
from datetime import UTC, datetime
from bot.repo.git import ensure_repo
from bot.sop.publish import publish_approval
from bot.sop.records import ArtifactRecord, GoalRecord

repo = sys.argv[1]
content = "# PRD\\n\\nCrash-safe invoices.\\n"
digest = hashlib.sha256(content.encode()).hexdigest()
t0 = datetime(2025, 3, 10, tzinfo=UTC)
record = GoalRecord(
    id="G-0007", title="Crash test", requester="U1", phase="task_list", status="drafting", created=t0, updated=t0,
    artifacts=[ArtifactRecord(phase="prd", path="tasks/G-0007/prd.md", version=1, sha256=digest,
                              approved_sha256=digest)],
)
result = publish_approval(
    repo, index_entry=record, phase="prd", version=1, content=content, approved_by=["U2"], approved_at=t0,
    events=[{"id": "audit-1", "action": "approve"}, {"id": "audit-2", "action": "publish"}],
    effect_key="publish:G-0007:prd:v1", git=ensure_repo(repo),
)
print(json.dumps({"commit": result.commit, "already_done": result.already_done}))
"""


def run_script(script: Path, repo: Path, fault: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "ORCH_FAULT"}
    env["PYTHONPATH"] = str(PROJECT_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    if fault:
        env["ORCH_FAULT"] = fault
    return subprocess.run(
        [sys.executable, str(script), str(repo)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("fault", ["after_mirror_write", "after_git_commit"])
def test_a_crash_at_a_fault_point_then_a_rerun_leaves_exactly_one_commit_and_section(
    git: Git, tmp_path: Path, fault: str
) -> None:
    script = tmp_path / "publish_once.py"
    script.write_text(CRASH_SCRIPT, encoding="utf-8")

    crashed = run_script(script, git.root, fault)
    assert crashed.returncode == FAULT_EXIT_CODE, crashed.stderr
    assert crashed.stdout == ""
    assert count_commits(git, "publish:G-0007:prd:v1") == (1 if fault == "after_git_commit" else 0)

    rerun = run_script(script, git.root, None)
    assert rerun.returncode == 0, rerun.stderr
    assert json.loads(rerun.stdout)["already_done"] is (fault == "after_git_commit")
    third = run_script(script, git.root, None)
    assert json.loads(third.stdout)["already_done"] is True

    assert count_commits(git, "publish:G-0007:prd:v1") == 1
    assert len(git.log()) == 2  # the initial commit and the publish
    mirror = (git.root / "docs/PRD.md").read_text(encoding="utf-8")
    assert mirror.count("<!-- orch:section G-0007 prd v1 ") == 1
    assert mirror.count("Crash-safe invoices.") == 1
    events = [json.loads(x)["id"] for x in (git.root / EVENTS_PATH).read_text().splitlines()]
    assert events == ["audit-1", "audit-2"]
    assert git.is_clean()


def test_attempts_that_could_not_take_the_branch_lock_leave_nothing_queued_and_the_key_is_committed_once(
    tmp_path: Path,
) -> None:
    """A repository nobody can lock for a while (another process holds it, a read-only disk) fails
    each attempt; when it is back, the effect's commit carries its key once, not once per attempt."""
    from bot.repo.lock import LockTimeoutError

    repo = tmp_path / "locked"
    ensure_repo(repo, init_if_missing=True)
    impatient = ensure_repo(repo, lock_timeout=0.05)
    holder = ensure_repo(repo)
    with holder.lock():
        for _ in range(3):
            with pytest.raises(LockTimeoutError):
                publish(impatient)
    publish(impatient)
    messages = subprocess.run(
        ["git", "-C", str(repo), "log", "--format=%B"], capture_output=True, text=True, check=True
    ).stdout
    assert messages.count("Orch-Effect: publish:G-0003:prd:v2") == 1
    assert count_commits(impatient, "publish:G-0003:prd:v2") == 1
