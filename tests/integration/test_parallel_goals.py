"""`orch goals run-parallel`: ten goals at once, every gate approved concurrently, nothing lost.

The real CLI in a subprocess, the real SQLite database, the real git repository: ten worker
threads publish into the same `tasks/index.json` and `docs/*` mirrors, serialised only by the
branch lock.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from sqlmodel import Session, select

from bot.sop.index import schema_text
from storage.db import make_engine
from storage.models import Goal

SUBJECTS = [
    "invoices",
    "refunds",
    "payouts",
    "coupons",
    "receipts",
    "ledgers",
    "budgets",
    "quotes",
    "orders",
    "tariffs",
]
HEADING = re.compile(r"^## (G-\d{4}) · ", re.MULTILINE)
MARKER = re.compile(r"^<!-- orch:section (G-\d{4}) (\w+) v(\d+) sha=[0-9a-f]{64} -->$", re.MULTILINE)


def sections(text: str) -> list[tuple[str, str]]:
    """(heading goal, marker goal) per section, in file order; a section runs from its heading
    to the next one, and must hold exactly one end marker."""
    starts = [m.start() for m in HEADING.finditer(text)] + [len(text)]
    found = []
    for begin, end in itertools.pairwise(starts):
        chunk = text[begin:end]
        markers = MARKER.findall(chunk)
        assert len(markers) == 1, f"a section without exactly one end marker:\n{chunk[:400]}"
        found.append((HEADING.match(chunk).group(1), markers[0][0]))  # type: ignore[union-attr]
    return found


@pytest.mark.slow
def test_ten_goals_run_in_parallel_and_every_shared_file_stays_consistent(
    tmp_path: Path, target_repo: Path
) -> None:
    briefs = tmp_path / "briefs.yaml"
    # Every sentence differs, so no two goals scaffold the same file (which would merge as no change).
    briefs.write_text(
        "".join(
            f"- Add a CSV export of {s}. Finance opens the {s} file in a spreadsheet.\n" for s in SUBJECTS
        )
    )
    env = {
        **os.environ,
        "ORCH_DATABASE_URL": f"sqlite:///{tmp_path / 'orch.db'}",
        "ORCH_REPO": str(target_repo),
        "ORCH_APPROVERS": "U_APP1",
        "ORCH_AGENT_BACKEND": "offline",
        "ORCH_RUNS_DIR": str(tmp_path / "runs"),
        "ORCH_MAX_PARALLEL_JOBS": "10",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "goals", "run-parallel", str(briefs), "--approve-as", "U_APP1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "10 goals: 10 done, 0 waiting, 0 failed" in proc.stdout
    # Progress is reported as it happens, interleaved across goals.
    assert proc.stdout.count(" started: ") == 10 and proc.stdout.count(" approved by U_APP1") >= 60

    engine = make_engine(env["ORCH_DATABASE_URL"])
    with Session(engine) as session:
        goals = {g.id: g for g in session.exec(select(Goal)).all()}
    engine.dispose()
    assert len(goals) == 10 and {g.state for g in goals.values()} == {"done"}
    assert all(t["status"] == "done" for g in goals.values() for t in g.tasks)
    assert sorted(g.title for g in goals.values()) == sorted(f"Add a CSV export of {s}" for s in SUBJECTS)

    index = json.loads((target_repo / "tasks" / "index.json").read_text())
    assert not list(Draft202012Validator(json.loads(schema_text())).iter_errors(index))
    assert {g["id"]: g["phase"] for g in index["goals"]} == {gid: "done" for gid in goals}

    for mirror in ("PRD.md", "TASKS.md", "ACTION_PLAN.md"):
        found = sections((target_repo / "docs" / mirror).read_text())
        assert [h for h, m in found if h != m] == [], f"{mirror} has interleaved sections"
        assert sorted(h for h, _ in found) == sorted(goals), f"{mirror} lost or doubled a section"

    git = ["git", "-C", str(target_repo)]
    # Whole messages: publishes of several goals at once share a commit that lists each of them.
    log = subprocess.run([*git, "log", "--format=%B"], capture_output=True, text=True, check=True).stdout
    assert log.count("goal done") == 10
    merges = sum(len(g.tasks) for g in goals.values())
    assert len(re.findall(r": merge task \d+ ", log)) == merges
    assert subprocess.run([*git, "status", "--porcelain"], capture_output=True, text=True).stdout == ""
    worktrees = subprocess.run([*git, "worktree", "list"], capture_output=True, text=True).stdout
    assert len(worktrees.splitlines()) == 1  # each goal had its own worktree, removed when done
