"""Hostile titles, briefs, file names and repository paths stay data: nothing is written outside the
repository's own places, no git option is injected, no command runs."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.agents import sdk
from bot.agents.drafting import Draft, Drafter, DraftRequest
from bot.sop.phases import Phase
from storage.models import Effect, Goal
from tests.conftest import Live, init_repo, start_live

pytestmark = pytest.mark.slow

SHELL = "$(touch pwned) `touch pwned` | touch pwned && touch pwned; touch pwned"
TITLE = f"../../../etc/passwd {SHELL} --upload-pack=touch pwned -rf /"
BRIEF = f"{TITLE}\x00. --exec=touch pwned builds the export in ../../outside and /tmp/pwned."
MODAL_TITLE = "--output=../../pwned -C .. -c core.hooksPath=/tmp"
HOSTILE_FILES = ["../../escape.py", "/tmp/pwned.py", "-rf.py", "src/$(touch pwned).py", "src/a;touch pwned.py",
                 "src/x\x00y.py", ".git/hooks/post-commit", "src/--exec=pwned.py"]
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
    monkeypatch.chdir(cwd)  # a `touch pwned` run anywhere relative would land here
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
            lambda: "reached" if phase_of(live, goal_id)[0] == phase
            else sb.find_message("C_DEV", thread_ts=card_ts, button="Approve"),
            timeout=30, what=f"a gate, or {goal_id} in {phase}")
        if found == "reached":
            return
        sb.click("U_APP1", found, "Approve")
        sb.wait_for(lambda m=found: "Approve" not in sb.message("C_DEV", m.ts).buttons, timeout=30,
                    what="the decision")
    raise AssertionError(f"{goal_id} never reached {phase}")


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


def test_hostile_titles_briefs_files_and_repo_paths_stay_inside_the_repo(hostile_live: Live,
                                                                        tmp_path: Path) -> None:
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

    with Session(live.container.engine) as session:
        sb.wait_for(lambda: session.exec(select(Effect).where(
            Effect.key == "build:G-0002:1:1", Effect.last_error.is_not(None))).first(),  # type: ignore[union-attr]
            timeout=30, what="the build of the hostile task to be refused")
        build = session.exec(select(Effect).where(Effect.key == "build:G-0002:1:1")).one()
        titles = {g.id: g.title for g in session.exec(select(Goal)).all()}
    live.bot.stop()
    assert "unsafe path" in (build.last_error or "")

    # Nothing ran: no `pwned` anywhere, nothing new beside the repository but our own database and runs.
    assert not [p for p in tmp_path.rglob("*pwned*") if repo not in p.parents and p != repo]
    assert not [p for p in repo.rglob("*") if "pwned" in p.name and ".git" not in p.parts]
    assert {p.name for p in tmp_path.iterdir()} - before <= {"orch.db", "orch.db-wal", "orch.db-shm", ".runs"}
    assert list((tmp_path / "cwd").iterdir()) == []
    # In the repository, every committed file sits where the procedure puts files.
    committed = git(repo, "ls-tree", "-r", "--name-only", "main").splitlines()
    assert committed and [f for f in committed if not ALLOWED.match(f)] == []
    # The goal's own files are under tasks/G-xxxx/, named by the procedure, never by the title.
    assert {f.split("/")[1] for f in committed if f.startswith("tasks/G-")} <= {"G-0001", "G-0002"}
    # Branches and worktrees are named by goal id only; hooks and config were not touched.
    assert set(git(repo, "for-each-ref", "--format=%(refname:short)", "refs/heads").split()) <= {
        "main", "orch/G-0001", "orch/G-0002"}
    assert sorted(p.name for p in (repo / ".orch" / "worktrees").iterdir()) <= ["G-0001", "G-0002"]
    assert not [h for h in (repo / ".git" / "hooks").iterdir() if not h.name.endswith(".sample")]
    assert "hooksPath" not in (repo / ".git" / "config").read_text()
    # The titles were kept as data: NUL gone, the words intact, in the commit subjects too.
    assert titles["G-0001"].startswith("../../../etc/passwd $(touch pwned)") and "\x00" not in titles["G-0001"]
    assert titles["G-0002"] == MODAL_TITLE
    subjects = git(repo, "log", "--format=%s", "main").splitlines()
    assert f"orch(G-0001): start goal — {titles['G-0001']}" in subjects
