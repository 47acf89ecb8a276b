"""Hostile titles, briefs, file names and repository paths stay data: nothing is written outside the
repository's own places, no git option is injected, no command runs."""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from bot.agents import sdk
from bot.agents.drafting import Draft, Drafter, DraftRequest
from bot.sop.phases import Phase
from storage.audit import AuditEntry
from storage.models import Goal
from tests.conftest import Live, init_repo, start_live

pytestmark = pytest.mark.slow

CANARY = "ZZ-CANARY-1"  # the file a command would create; slugs of it read zz_canary_1
SHELL = f"$(touch {CANARY}) `touch {CANARY}` | touch {CANARY} && touch {CANARY}; touch {CANARY}"
TITLE = f"../../../etc/passwd {SHELL} --upload-pack=touch {CANARY} -rf /"
BRIEF = f"{TITLE}\x00. --exec=touch {CANARY} builds the export in ../../outside and /tmp/{CANARY}."
MODAL_TITLE = f"--output=../../{CANARY} -C .. -c core.hooksPath=/tmp"
HOSTILE_FILES = [
    "../../escape.py",
    f"/tmp/{CANARY}.py",
    "-rf.py",
    f"src/$(touch {CANARY}).py",
    f"src/a;touch {CANARY}.py",
    "src/x\x00y.py",
    ".git/hooks/post-commit",
    "src/--exec=x.py",
]
# Where the bot may write in a target repository: the SOP files, the goal's folder, and the builder's slugs.
ALLOWED = re.compile(
    r"^(README\.md|docs/[A-Z_]+\.md|tasks/(index\.json|index\.schema\.json|events\.jsonl)"
    r"|tasks/G-\d{4}/[a-z\-]+\.md|src/[a-z][a-z0-9_]*\.py|tests/test_[a-z0-9_]+\.py)$"
)


class HostileFiles:
    """A drafter (a model's stand-in) whose task list names hostile files; everything else is the real draft."""

    def __init__(self, real: Drafter) -> None:
        self.real = real

    async def draft(self, req: DraftRequest) -> Draft:
        draft = await self.real.draft(req)
        if req.goal_id != "G-0002" or req.phase is not Phase.TASK_LIST or not draft.tasks:
            return draft
        tasks = [t.model_copy(update={"files": HOSTILE_FILES, "title": MODAL_TITLE}) for t in draft.tasks]
        return draft.model_copy(update={"tasks": tasks})


@pytest.fixture
def hostile_live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    """The bot on a repository whose folder name is itself hostile, run from a folder we watch."""
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)  # a command run anywhere relative would land here
    real = sdk.make_drafter
    monkeypatch.setattr(sdk, "make_drafter", lambda settings: HostileFiles(real(settings)))
    repo = init_repo(tmp_path / f"-repo {SHELL}")
    live = start_live(tmp_path, repo, runs_dir=tmp_path / ".runs")
    try:
        yield live
    finally:
        live.bot.stop()
        live.sb.stop()


def phase_of(live: Live, goal_id: str) -> tuple[str, str]:
    with Session(live.container.engine) as session:
        goal = session.get(Goal, goal_id)
        assert goal is not None
        return goal.phase, goal.state


def approve_until(live: Live, card_ts: str, goal_id: str, phase: str) -> None:
    """Approve each gate as it comes until the goal reaches `phase`."""
    sb = live.sb
    for _ in range(12):
        found = sb.wait_for(
            lambda: (
                "reached"
                if phase_of(live, goal_id)[0] == phase
                else sb.find_message("C_DEV", thread_ts=card_ts, button="Approve")
            ),
            timeout=30,
            what=f"a gate, or {goal_id} in {phase}",
        )
        if found == "reached":
            return
        sb.click("U_APP1", found, "Approve")
        sb.wait_for(
            lambda m=found: "Approve" not in sb.message("C_DEV", m.ts).buttons,
            timeout=30,
            what="the decision",
        )
    raise AssertionError(f"{goal_id} never reached {phase}")


def wait_for_job_refusal(live: Live, goal_id: str, timeout: float = 30.0) -> str:
    """The error of the first failed agent job of the goal, from the audit log; woken by each job's end."""
    ended = threading.Condition()

    def notify() -> None:
        with ended:
            ended.notify_all()

    live.container.jobs.worker.on_done.append(notify)
    deadline = time.monotonic() + timeout
    with ended:
        while True:
            with Session(live.container.engine) as session:
                entry = session.exec(
                    select(AuditEntry).where(
                        AuditEntry.goal_id == goal_id,
                        col(AuditEntry.action).in_(["job.attempt_failed", "job.failed"]),
                    )
                ).first()
            if entry is not None:
                return json.dumps(entry.payload_dict())
            if time.monotonic() > deadline:
                raise AssertionError(f"no agent job of {goal_id} failed within {timeout}s")
            ended.wait(deadline - time.monotonic())


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


def test_hostile_titles_briefs_files_and_repo_paths_stay_inside_the_repo(
    hostile_live: Live, tmp_path: Path
) -> None:
    live, sb, repo = hostile_live, hostile_live.sb, hostile_live.repo
    before = {p.name for p in tmp_path.iterdir()}

    # A hostile title and brief through /orch start, walked to done: builds, merges, mirrors, commits.
    sb.slash("U_REQ", "C_DEV", f"start {BRIEF}")
    card = sb.wait_for_message("C_DEV", text_contains="G-0001")
    approve_until(live, card.ts, "G-0001", "done")

    # A hostile title through the modal, and a task list naming hostile files, as a model might.
    sb.slash("U_REQ", "C_DEV", "start")
    sb.wait_for_view("U_REQ", "orch_start_modal")
    sb.submit_view("U_REQ", {"Title": MODAL_TITLE, "Brief": "Export invoices as CSV for finance."})
    card2 = sb.wait_for_message("C_DEV", text_contains="G-0002")
    approve_until(live, card2.ts, "G-0002", "implementation")  # the build starts, refuses, retries later

    refusal = wait_for_job_refusal(live, "G-0002")
    with Session(live.container.engine) as session:
        titles = {g.id: g.title for g in session.exec(select(Goal)).all()}
    live.bot.stop()
    assert "unsafe path" in refusal

    # Nothing ran: no canary anywhere, nothing new beside the repository but our own database and runs.
    assert not [p for p in tmp_path.rglob("*") if p.name in (CANARY, f"{CANARY}.py", "escape.py")]
    assert not list(Path("/tmp").glob(f"{CANARY}*"))
    assert {p.name for p in tmp_path.iterdir()} - before <= {"orch.db", "orch.db-wal", "orch.db-shm", ".runs"}
    assert list((tmp_path / "cwd").iterdir()) == []
    # In the repository, every committed file sits where the procedure puts files.
    committed = git(repo, "ls-tree", "-r", "--name-only", "main").splitlines()
    assert committed and [f for f in committed if not ALLOWED.match(f)] == []
    # The goal's own files are under tasks/G-xxxx/, named by the procedure, never by the title.
    assert {f.split("/")[1] for f in committed if f.startswith("tasks/G-")} <= {"G-0001", "G-0002"}
    # Branches and worktrees are named by goal id only; hooks and config were not touched.
    assert set(git(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads").split()) <= {
        "main",
        "orch/G-0001",
        "orch/G-0002",
    }
    assert {p.name for p in (repo / ".orch" / "worktrees").iterdir()} <= {"G-0001", "G-0002"}
    hooks = [h for h in (repo / ".git" / "hooks").iterdir() if not h.name.endswith(".sample")]
    assert [h.name for h in hooks] == ["pre-commit"]  # the spec guard, from the approved scaffold check
    assert "spec" in hooks[0].read_text().lower() and CANARY not in hooks[0].read_text()
    assert "hooksPath" not in (repo / ".git" / "config").read_text()
    # The titles were kept as data: NUL gone, the words intact, in the commit subjects too.
    assert f"etc/passwd $(touch {CANARY})" in titles["G-0001"] and "\x00" not in titles["G-0001"]
    assert titles["G-0002"] == MODAL_TITLE
    # Whole messages: publishes queued at once share a commit with a "- <subject>" line per step.
    subjects = [line.removeprefix("- ") for line in git(repo, "log", "--format=%B", "main").splitlines()]
    assert any(
        s.startswith(f"orch(G-0001): start goal — /../../etc/passwd $(touch {CANARY})") for s in subjects
    )
    assert any(s.startswith(f"orch(G-0002): approve Action Plan v1 — {MODAL_TITLE}") for s in subjects)
