"""`orch goal approve` killed between the database commit and the git commit, then run again.

The approval is committed to the database and its publish effect waits in the outbox; the process
dies (`ORCH_FAULT`, exit 86) after writing the files but before the commit, or after the commit
but before the effect is marked done. The next `orch` command of any kind finishes the effect at
once (no back-off for an attempt that died), and the repo ends with exactly one commit and one
mirror section for that approval.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import Session, select

from bot.faults import FAULT_EXIT_CODE
from storage.models import Effect
from tests.support.sop_cli import OrchCli, RepoWatch, git, git_log, setup_env

PROJECT_ROOT = Path(__file__).resolve().parents[2]
KEY = "publish:G-0001:prd:0:1"


def orch_process(*args: str, fault: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "ORCH_FAULT"}
    if fault:
        env["ORCH_FAULT"] = fault
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def raw_effect(url: str) -> tuple[str, int, object]:
    """Read the effect without building the CLI's container (which would drain the outbox)."""
    from storage.db import make_engine

    with Session(make_engine(url)) as session:
        row = session.exec(select(Effect).where(Effect.key == KEY)).one()
        return row.status, row.attempts, row.not_before


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fault", "restart"),
    [
        ("after_mirror_write", ("goal", "list")),
        ("after_git_commit", ("goal", "approve", "G-0001", "--as", "U_QA")),
    ],
)
def test_a_crashed_approval_ends_with_one_commit_and_one_mirror_section(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, target_repo: Path, fault: str, restart: tuple[str, ...]
) -> None:
    url = setup_env(monkeypatch, tmp_path, target_repo)
    orch, watch = OrchCli(), RepoWatch(target_repo)
    orch("goal", "start", "Add CSV export of invoices", "--as", "U_REQ")
    orch("goal", "approve", "G-0001", "--as", "U_LEAD")
    watch.check()
    commits_before = len(git_log(target_repo))

    died = orch_process("goal", "approve", "G-0001", "--as", "U_LEAD", fault=fault)
    assert died.returncode == FAULT_EXIT_CODE, died.stderr
    assert "approved" not in died.stdout  # it never got to say so
    # The decision is in the database; its publish effect is still pending after one attempt.
    assert raw_effect(url) == ("pending", 1, None)
    committed = [c for c in git_log(target_repo) if c.trailers.get("Orch-Effect") == KEY]
    if fault == "after_mirror_write":
        assert committed == []
        assert "docs/PRD.md" in git(target_repo, "status", "--porcelain")
    else:
        assert len(committed) == 1

    again = orch_process(*restart)
    assert again.returncode == 0, again.stderr
    assert "Traceback" not in again.stderr

    status, attempts, _ = raw_effect(url)
    assert (status, attempts) == ("done", 2)
    snap = watch.check()  # index valid, mirrors and events appended only, tree clean
    assert [c.subject for c in snap.log if c.trailers.get("Orch-Effect") == KEY] == [
        "orch(G-0001): approve PRD v1 — Add CSV export of invoices"
    ]
    assert [s for s in snap.subjects() if "approve PRD" in s] == [
        "orch(G-0001): approve PRD v1 — Add CSV export of invoices"
    ]
    assert snap.sections["docs/PRD.md"] == [("G-0001", "prd", 1)]
    assert (target_repo / "docs/PRD.md").read_text(encoding="utf-8").count("## G-0001 ·") == 1
    prd = next(a for a in snap.goal("G-0001").artifacts if a.phase == "prd")
    assert prd.approved_sha256 == prd.sha256
    assert snap.actions("G-0001").count("artifact.approved") == (3 if restart[1] == "approve" else 2)
    if restart[1] == "approve":
        # The re-run first finished the old effect, then decided what is current now: the Task List.
        assert "approved task_list v1" in again.stdout
        assert len(snap.log) == commits_before + 2
    else:
        assert len(snap.log) == commits_before + 1
    assert "chain intact" in orch("audit", "verify").stdout
