"""Success metrics from a seeded history: audit entries in a real SQLite file, run records on disk.

The history (times in UTC, T0 = 1 May 2024 09:00):

- G-0001 (no spec): scaffold 10 min wait, PRD v1 changes requested after 30 min, v2 approved
  after 60, task list 20, action plan 60 → bootstrap 3 h 07 min. Runs R1 (task 1, clean),
  R2 (task 2, changes requested), R3 (task 2 again, repeats R2's three lines, clean).
- Patterns adopted (learn.approved) on day 2 at 12:30.
- G-0002 (spec required): PRD 15 min, task list 60, spec 120, action plan 37 → bootstrap 4 h.
  Runs R4 (re-adds two of R1's lines: duplicated across goals) and R5 (a human commit).
- G-0003: a build run R6 started before the task list was approved, and failed.
- G-0004: PRD drafted, no decision yet. Plus a manager run on G-0002 still running, and an eval
  run (no goal).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from bot.cli import app
from bot.observability.metrics import collect, nearest_rank
from bot.observability.metrics_report import metrics_home_blocks, metrics_summary
from bot.observability.runs import RunRecorder
from storage.audit import append_audit
from storage.db import make_engine, transaction
from storage.deployment import deployment_id
from storage.migrate import upgrade

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def at(day: int, hh: int, mm: int) -> datetime:
    return T0.replace(hour=hh, minute=mm) + day * DAY


def diff(path: str, lines: list[str], *, removed: list[str] = ()) -> str:
    body = [f"-{line}" for line in removed] + [f"+{line}" for line in lines]
    return (
        f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n"
        f"@@ -1,{len(removed)} +1,{len(lines)} @@\n" + "\n".join(body) + "\n"
    )


D1 = diff(
    "src/export.py",
    [
        "def export_csv(rows):",
        "    header = ['id', 'amount']",
        "",
        "    return render(header, rows)",
        "EXPORT_LIMIT = 10_000",
    ],
)
D2 = diff("src/report.py", ["def monthly(report):", "    totals = sum_rows(report)", "    return totals"])
D3 = diff(
    "src/report.py",
    [
        "def monthly(report):",
        "    totals = sum_rows(report)",
        "    return totals",
        "    # totals match the page",
    ],
)
D4 = diff(
    "src/export.py",
    [
        "def export_csv(rows):",
        "    header = ['id', 'amount']",
        "def export_pdf(rows):",
        "    return pdf(rows)",
    ],
)
D5 = diff("src/notify.py", ["def notify(user):", "    send(user)", "NOTIFY = True"]) + diff(
    "src/export.py", [], removed=["def export_pdf(rows):"]
)


class History:
    def __init__(self, engine: Engine, runs: Path) -> None:
        self.engine, self.runs = engine, runs
        self.deployment = deployment_id(engine)

    def audit(
        self,
        when: datetime,
        action: str,
        goal: str | None,
        phase: str | None = None,
        sha: str | None = None,
        run_id: str | None = None,
        **payload: object,
    ) -> None:
        with transaction(self.engine) as session:
            append_audit(
                session,
                actor="bot" if action.startswith(("artifact.drafted", "phase", "spec.")) else "U_APP1",
                action=action,
                goal_id=goal,
                phase=phase,
                artifact_sha256=sha,
                run_id=run_id,
                payload=payload or None,
                at=when,
            )

    def gate(
        self,
        goal: str,
        phase: str,
        sha: str,
        drafted: datetime,
        decided: datetime,
        decision: str = "approved",
    ) -> None:
        self.audit(drafted, "artifact.drafted", goal, phase, sha, version=1)
        self.audit(decided, f"artifact.{decision}", goal, phase, sha, version=1)

    def run(
        self,
        goal: str | None,
        task: int | None,
        start: datetime,
        end: datetime,
        status: str,
        *,
        patch: str = "",
        role: str = "builder",
        backend: str = "codex",
        tests: str | None = "passed",
        **extra: object,
    ) -> str:
        now = [start]
        rec = RunRecorder(
            root=self.runs,
            goal_id=goal,
            phase="implementation" if goal else "eval",
            role=role,
            backend=backend,
            task_id=task,
            clock=lambda: now[0],
            deployment_id=self.deployment,
        ).start()
        if patch:
            rec.write_diff(patch)
        now[0] = end
        if tests is not None and status != "running":
            extra["tests"] = tests
        if status != "running":
            rec.finish(status, **extra)
        return rec.run_id

    def build(
        self,
        goal: str,
        task: int,
        sha: str,
        start: datetime,
        end: datetime,
        decided: datetime,
        decision: str,
        patch: str,
        **extra: object,
    ) -> str:
        run_id = self.run(goal, task, start, end, "completed", patch=patch, **extra)
        self.audit(
            end, "artifact.drafted", goal, "implementation", sha, run_id=run_id, task_id=task, version=1
        )
        self.audit(decided, f"artifact.{decision}", goal, "implementation", sha, task_id=task, version=1)
        return run_id


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[tuple[Engine, Path]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'orch.db'}")
    upgrade(engine)
    runs = tmp_path / ".runs"
    h = History(engine, runs)
    # G-0001
    h.audit(at(0, 9, 0), "goal.started", "G-0001", "scaffold_check")
    h.gate("G-0001", "scaffold_check", "s1", at(0, 9, 1), at(0, 9, 11))
    h.gate("G-0001", "prd", "p1", at(0, 9, 12), at(0, 9, 42), "changes_requested")
    h.gate("G-0001", "prd", "p1v2", at(0, 9, 45), at(0, 10, 45))
    h.gate("G-0001", "task_list", "t1", at(0, 10, 46), at(0, 11, 6))
    h.audit(at(0, 11, 6), "spec.assessed", "G-0001", "task_list", required=False, triggers=[])
    h.gate("G-0001", "action_plan", "a1", at(0, 11, 7), at(0, 12, 7))
    h.audit(at(0, 12, 7), "phase.entered", "G-0001", "implementation")
    h.build("G-0001", 1, "i1", at(0, 12, 8), at(0, 12, 15), at(0, 12, 45), "approved", D1)
    h.build("G-0001", 2, "i2", at(0, 12, 46), at(0, 12, 50), at(0, 13, 50), "changes_requested", D2)
    h.build("G-0001", 2, "i3", at(0, 13, 51), at(0, 13, 55), at(0, 14, 5), "approved", D3)
    # G-0002, with patterns adopted on the same day
    h.audit(at(1, 9, 0), "goal.started", "G-0002", "scaffold_check")
    h.gate("G-0002", "prd", "p2", at(1, 9, 5), at(1, 9, 20))
    h.gate("G-0002", "task_list", "t2", at(1, 9, 21), at(1, 10, 21))
    h.audit(at(1, 10, 21), "spec.assessed", "G-0002", "task_list", required=True, triggers=["security"])
    h.gate("G-0002", "spec", "sp2", at(1, 10, 22), at(1, 12, 22))
    h.audit(at(1, 12, 30), "learn.approved", None, proposal="L-0000abcd", files=["adapters/tests.toml"])
    h.gate("G-0002", "action_plan", "a2", at(1, 12, 23), at(1, 13, 0))
    h.audit(at(1, 13, 0), "phase.entered", "G-0002", "implementation")
    h.build("G-0002", 1, "i4", at(1, 13, 1), at(1, 13, 10), at(1, 13, 30), "approved", D4)
    h.build(
        "G-0002",
        2,
        "i5",
        at(1, 13, 31),
        at(1, 13, 40),
        at(1, 14, 0),
        "approved",
        D5,
        human_commits=["c0ffee1"],
    )
    # G-0003: a build before the task list was approved
    h.audit(at(2, 9, 0), "goal.started", "G-0003", "scaffold_check")
    h.gate("G-0003", "prd", "p3", at(2, 9, 10), at(2, 9, 40))
    h.audit(at(2, 9, 41), "artifact.drafted", "G-0003", "task_list", "t3", version=1)
    h.run("G-0003", 1, at(2, 10, 0), at(2, 10, 5), "failed")
    h.audit(at(2, 11, 41), "artifact.approved", "G-0003", "task_list", "t3", version=1)
    # G-0004: waiting on its PRD; a manager run still going; an eval run without a goal
    h.audit(at(3, 9, 0), "goal.started", "G-0004", "scaffold_check")
    h.audit(at(3, 9, 5), "artifact.drafted", "G-0004", "prd", "p4", version=1)
    h.run("G-0002", 3, at(3, 9, 6), at(3, 9, 7), "running", role="manager", patch=D1)
    h.run(None, None, at(3, 10, 0), at(3, 10, 1), "completed", role="eval")
    yield engine, runs
    engine.dispose()


def test_each_metric_matches_the_hand_computed_value(seeded: tuple[Engine, Path]) -> None:
    engine, runs = seeded
    m = collect(engine, runs_dir=runs)

    gates = m.gates_before_implementation
    assert (gates.count, gates.total, gates.percent) == (2, 3, 66.7)
    assert gates.details == ["G-0003: task_list not approved before implementation"]

    fixups = m.runs_without_fixups
    # R1, R3, R4 clean; R2 changes requested, R5 human commit, R6 failed; the running run is out.
    assert (fixups.count, fixups.total, fixups.percent) == (3, 6, 50.0)
    reasons = " | ".join(fixups.details)
    assert (
        "changes requested on its diff" in reasons
        and "human commit" in reasons
        and "status failed" in reasons
    )

    dup = m.duplication
    # 4 + 3 + 4 + 4 + 4 changed lines (the blank one is not counted); R3 repeats R2's 3, R4 repeats R1's 2.
    assert (dup.changed_lines, dup.same_goal, dup.across_goals) == (19, 3, 2)
    assert (dup.percent(5), dup.percent(dup.same_goal), dup.percent(dup.across_goals)) == (26.3, 15.8, 10.5)
    assert (dup.before_percent, dup.after_percent) == (27.3, 25.0)  # 3 of 11, then 2 of 8
    assert dup.adopted_at == at(1, 12, 30)

    assert (m.bootstrap.count, m.bootstrap.median_s, m.bootstrap.p90_s) == (2, 12810.0, 14400.0)

    waits = {phase: (d.count, d.median_s, d.p90_s) for phase, d in m.approval_wait.items()}
    assert waits == {
        "scaffold_check": (1, 600.0, 600.0),
        "prd": (4, 1800.0, 3600.0),
        "task_list": (3, 3600.0, 7200.0),
        "spec": (1, 7200.0, 7200.0),
        "action_plan": (2, 2910.0, 3600.0),
        "implementation": (5, 1200.0, 3600.0),
    }
    assert list(waits) == ["scaffold_check", "prd", "task_list", "spec", "action_plan", "implementation"]


def test_since_keeps_only_goals_and_runs_that_started_after_it(seeded: tuple[Engine, Path]) -> None:
    engine, runs = seeded
    m = collect(engine, runs_dir=runs, since=at(1, 0, 0))
    assert (m.gates_before_implementation.count, m.gates_before_implementation.total) == (1, 2)
    assert (m.runs_without_fixups.count, m.runs_without_fixups.total) == (1, 3)
    # R1 is outside the window, so R4's lines are new within it.
    assert (m.duplication.changed_lines, m.duplication.same_goal, m.duplication.across_goals) == (8, 0, 0)
    assert (m.bootstrap.count, m.bootstrap.median_s) == (1, 14400.0)
    assert m.approval_wait["prd"].count == 2


def test_a_spec_required_by_a_person_is_a_gate_too(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'orch.db'}")
    upgrade(engine)
    h = History(engine, tmp_path / ".runs")
    for goal, day in (("G-0001", 0), ("G-0002", 1)):
        h.audit(at(day, 9, 0), "goal.started", goal, "scaffold_check")
        h.gate(goal, "prd", f"p-{goal}", at(day, 9, 1), at(day, 9, 2))
        h.gate(goal, "task_list", f"t-{goal}", at(day, 9, 3), at(day, 9, 4))
        h.audit(at(day, 9, 4), "spec.assessed", goal, "task_list", required=False)
    # Only G-0002's spec is asked for by a person; neither goal drafts one.
    h.audit(at(1, 9, 5), "spec.required", "G-0002", "action_plan")
    for goal, day in (("G-0001", 0), ("G-0002", 1)):
        h.gate(goal, "action_plan", f"a-{goal}", at(day, 9, 6), at(day, 9, 7))
        h.audit(at(day, 9, 8), "phase.entered", goal, "implementation")
    gates = collect(engine, runs_dir=tmp_path / ".runs").gates_before_implementation
    assert (gates.count, gates.total) == (1, 2)
    assert gates.details == ["G-0002: spec not approved before implementation"]
    assert collect(engine, runs_dir=None, since=at(0, 0, 0)).gates_before_implementation.total == 2
    assert collect(engine, runs_dir=None, since=at(0, 10, 0)).gates_before_implementation.details == [
        "G-0002: spec not approved before implementation"
    ]
    engine.dispose()


def test_nearest_rank_p90_is_a_value_that_happened() -> None:
    assert nearest_rank([5.0, 1.0, 3.0], 0.9) == 5.0
    assert nearest_rank(list(map(float, range(1, 11))), 0.9) == 9.0
    assert nearest_rank([], 0.9) is None


def test_summary_lines_for_the_digest_and_the_home_blocks(seeded: tuple[Engine, Path]) -> None:
    engine, runs = seeded
    lines = metrics_summary(engine, None, runs_dir=runs)
    assert lines[0] == (
        "Gates approved before implementation: 2/3 (66.7%) — by people 2, with CLI/MCP approvals 0"
    )
    assert lines[1] == "Automation runs without manual fix-ups: 3/6 (50.0%)"
    assert lines[2] == (
        "Duplicated edits: 26.3% of 19 changed lines (same goal 15.8%, across goals 10.5%); "
        "before patterns 27.3%, after 25.0%"
    )
    assert lines[3] == (
        "Time to bootstrap (start → approved action plan): median 3 h 33 min, p90 4 h, "
        "range 3 h 7 min – 4 h over 2 goal(s)"
    )
    assert lines[4].startswith("Approval wait (median): Scaffold Check 10 min (p90 10 min, n=1) · PRD 30 min")

    # The App Home: the last 7 and the last 30 days (G-0004 started on day 3; G-0001 30 days before).
    blocks = metrics_home_blocks(engine, runs_dir=runs, now=at(5, 9, 0))
    assert [b["type"] for b in blocks] == ["divider", "section", "section", "context"]
    week, month = blocks[1]["text"]["text"], blocks[2]["text"]["text"]
    assert "Last 7 days" in week and "Last 30 days" in month
    assert "Gates approved before implementation: 2/3 (66.7%)" in week
    month_blocks = metrics_home_blocks(engine, runs_dir=runs, now=at(31, 9, 0))
    assert "Gates approved before implementation: 1/2 (50.0%)" in month_blocks[2]["text"]["text"]
    assert "Gates approved before implementation: no data yet" in month_blocks[1]["text"]["text"]


def test_orch_metrics_prints_and_exports_json(
    seeded: tuple[Engine, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, runs = seeded
    monkeypatch.setenv("ORCH_DATABASE_URL", str(engine.url))
    monkeypatch.setenv("ORCH_RUNS_DIR", str(runs))
    monkeypatch.setenv("ORCH_REPO", str(tmp_path))
    runner = CliRunner()
    result = runner.invoke(app, ["metrics", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["gates_before_implementation"]["percent"] == 66.7
    assert data["runs_without_fixups"]["percent"] == 50.0
    assert data["duplication"]["percent"] == 26.3
    assert data["bootstrap"]["median_s"] == 12810.0
    assert data["approval_wait"]["spec"]["median_s"] == 7200.0

    since = runner.invoke(app, ["metrics", "--since", "2024-05-02"])
    assert since.exit_code == 0, since.output
    assert "Gates approved before implementation: 1/2 (50.0%)" in since.output
    assert "G-0003: task_list not approved before implementation" in since.output
    bad = runner.invoke(app, ["metrics", "--since", "last tuesday"])
    assert bad.exit_code == 2
