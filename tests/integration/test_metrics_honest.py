"""Honest metrics: what makes a run clean, who approved a gate, and whose runs are counted.

Each history is small and its numbers are worked out by hand in the test. Times in UTC from
T0 = 1 May 2024 09:00; audit entries in a real SQLite file, run records on disk.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from bot.cli import app
from bot.observability.metrics import collect, collect_for
from bot.observability.metrics_report import human_duration, summary_lines
from bot.observability.runs import LEGACY_MARKER, RunRecorder
from storage.db import make_engine
from storage.deployment import deployment_id
from storage.migrate import upgrade
from tests.integration.test_metrics import D1, D2, D4, History, at


def fresh(path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    return engine


def walk_gates(h: History, goal: str, day: int, *, approver: str = "U_APP1") -> None:
    """goal.started, then PRD, Task List and Action Plan approved by `approver` (no spec)."""
    h.audit(at(day, 9, 0), "goal.started", goal, "scaffold_check")
    for i, phase in enumerate(("prd", "task_list", "action_plan")):
        h.audit(at(day, 9, 10 * i + 1), "artifact.drafted", goal, phase, f"{goal}-{phase}", version=1)
        with_actor(h, at(day, 9, 10 * i + 5), "artifact.approved", goal, phase, f"{goal}-{phase}", approver)
    h.audit(at(day, 9, 40), "phase.entered", goal, "implementation")


def with_actor(h: History, when, action: str, goal: str, phase: str, sha: str, actor: str) -> None:  # type: ignore[no-untyped-def]
    from storage.audit import append_audit
    from storage.db import transaction

    with transaction(h.engine) as session:
        append_audit(
            session, actor=actor, action=action, goal_id=goal, phase=phase, artifact_sha256=sha, at=when
        )


def test_a_stub_an_empty_diff_and_failed_tests_are_not_clean_and_only_the_real_approved_run_is(
    tmp_path: Path,
) -> None:
    engine = fresh(tmp_path / "orch.db")
    h = History(engine, tmp_path / ".runs")
    walk_gates(h, "G-0001", 0)
    # Task 1: an offline scaffold (stub), approved. Task 2: an empty diff, approved.
    h.build("G-0001", 1, "i1", at(0, 10, 0), at(0, 10, 5), at(0, 10, 10), "approved", D1, backend="offline")
    h.build("G-0001", 2, "i2", at(0, 10, 11), at(0, 10, 12), at(0, 10, 20), "approved", "")
    # Task 3: its tests failed, approved anyway. Task 4: tests never ran.
    h.build("G-0001", 3, "i3", at(0, 10, 21), at(0, 10, 25), at(0, 10, 30), "approved", D2, tests="failed")
    h.build("G-0001", 4, "i4", at(0, 10, 31), at(0, 10, 35), at(0, 10, 40), "approved", D4, tests=None)
    # Task 5: a model call was retried. Task 6: clean. Task 7: rejected. Task 8: waits for its decision.
    h.build("G-0001", 5, "i5", at(0, 11, 0), at(0, 11, 5), at(0, 11, 10), "approved", D4, retries=2)
    clean = h.build("G-0001", 6, "i6", at(0, 11, 11), at(0, 11, 15), at(0, 11, 20), "approved", D1)
    h.build("G-0001", 7, "i7", at(0, 11, 21), at(0, 11, 25), at(0, 11, 30), "rejected", D2)
    pending = h.run("G-0001", 8, at(0, 12, 0), at(0, 12, 5), "completed", patch=D2)
    h.audit(at(0, 12, 5), "artifact.drafted", "G-0001", "implementation", "i8", run_id=pending, task_id=8)

    fixups = collect(engine, runs_dir=tmp_path / ".runs").runs_without_fixups
    # Seven decided runs, one clean (task 6); task 8 is not counted until it is decided.
    assert (fixups.count, fixups.total) == (1, 7)
    by_task = {d.split(" task ")[1].split(")")[0]: d.split(": ", 1)[1] for d in fixups.details}
    assert by_task == {
        "1": "offline scaffold (a stub, not the work)",
        "2": "empty diff",
        "3": "its tests failed",
        "4": "no tests ran",
        "5": "model call retried 2x",
        "7": "diff rejected",
    }
    assert any(line.startswith(f"{clean} (G-0001 task 6): clean") for line in fixups.evidence)
    assert any(pending in line and "waits for a decision" in line for line in fixups.evidence)
    engine.dispose()


def test_gate_approvals_from_the_cli_or_mcp_are_reported_apart_from_people(tmp_path: Path) -> None:
    engine = fresh(tmp_path / "orch.db")
    h = History(engine, tmp_path / ".runs")
    walk_gates(h, "G-0001", 0, approver="U_LEAD")
    walk_gates(h, "G-0002", 1, approver="cli:local")
    walk_gates(h, "G-0003", 2, approver="mcp")
    m = collect(engine, runs_dir=None)
    gates = m.gates_before_implementation
    assert (gates.count, gates.total, gates.by_people, gates.by_automation) == (3, 3, 1, 2)
    assert summary_lines(m)[0] == (
        "Gates approved before implementation: 3/3 (100.0%) — by people 1, with CLI/MCP approvals 2"
    )
    assert gates.evidence[1] == (
        "G-0002: first build 2024-05-02 09:40 UTC; approved before it: prd by cli:local, task_list by cli:local"
    )
    engine.dispose()


def test_two_deployments_sharing_a_working_directory_each_report_only_their_own_g_0001(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "work"
    shared.mkdir()
    monkeypatch.chdir(shared)
    runs = shared / ".runs"  # one folder for both, as the old default made it
    one, two = fresh(tmp_path / "one.db"), fresh(tmp_path / "two.db")
    assert deployment_id(one) != deployment_id(two) and deployment_id(one) == deployment_id(one)
    a, b = History(one, runs), History(two, runs)
    # Deployment one: G-0001 walked through every gate, then one clean build.
    walk_gates(a, "G-0001", 1)
    a.build("G-0001", 1, "a1", at(1, 10, 0), at(1, 10, 5), at(1, 10, 10), "approved", D1)
    # Deployment two: its own G-0001, built (and failed) before deployment one approved anything,
    # and a build with changes requested.
    b.audit(at(0, 9, 0), "goal.started", "G-0001", "scaffold_check")
    b.run("G-0001", 1, at(0, 9, 30), at(0, 9, 35), "failed")
    b.build("G-0001", 2, "b2", at(0, 10, 0), at(0, 10, 5), at(0, 10, 10), "changes_requested", D2)

    mine, theirs = collect(one, runs_dir=runs), collect(two, runs_dir=runs)
    assert summary_lines(mine)[0].startswith("Gates approved before implementation: 1/1 (100.0%)")
    assert (mine.runs_without_fixups.count, mine.runs_without_fixups.total) == (1, 1)
    assert mine.duplication.changed_lines == 4
    assert theirs.gates_before_implementation.details == [
        "G-0001: prd, task_list not approved before implementation"
    ]
    assert (theirs.runs_without_fixups.count, theirs.runs_without_fixups.total) == (0, 2)
    one.dispose()
    two.dispose()


def test_untagged_records_of_the_old_default_are_read_once_when_the_audit_log_names_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work, repo = tmp_path / "work", tmp_path / "repo"
    work.mkdir()
    (repo / ".git" / "info").mkdir(parents=True)
    monkeypatch.chdir(work)
    engine = fresh(tmp_path / "orch.db")
    h = History(engine, work / ".runs")
    h.deployment = None  # type: ignore[assignment]  # written by an older version: no tag
    walk_gates(h, "G-0001", 0)
    ours = h.build("G-0001", 1, "i1", at(0, 10, 0), at(0, 10, 5), at(0, 10, 10), "approved", D1)
    stranger = h.run("G-0001", 2, at(0, 8, 0), at(0, 8, 5), "failed")  # no audit entry names it

    from bot.config import Settings

    settings = Settings(repo=repo, runs_dir=None)
    m = collect_for(engine, settings, since=None)
    assert (m.runs_without_fixups.count, m.runs_without_fixups.total) == (1, 1)
    assert m.gates_before_implementation.count == 1  # the stranger's early build is not ours
    copied = json.loads((repo / ".runs" / ours / "run.json").read_text(encoding="utf-8"))
    assert copied["deployment_id"] == deployment_id(engine)
    assert not (repo / ".runs" / stranger).exists()
    assert (repo / ".runs" / LEGACY_MARKER).is_file()
    assert "/.runs/" in (repo / ".git" / "info" / "exclude").read_text(encoding="utf-8")
    # Once: a record added to the old folder afterwards is not read.
    later = h.build("G-0001", 2, "i2", at(0, 11, 0), at(0, 11, 5), at(0, 11, 10), "approved", D2)
    assert collect_for(engine, settings).runs_without_fixups.total == 1
    assert not (repo / ".runs" / later).exists()
    engine.dispose()


def test_a_run_record_is_tagged_and_its_folder_is_kept_out_of_git(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git" / "info").mkdir(parents=True)
    rec = RunRecorder(
        root=repo / ".runs",
        goal_id="G-0001",
        phase="implementation",
        role="builder",
        backend="codex",
        deployment_id="dep-0123456789abcdef",
    ).start()
    meta = json.loads((rec.path / "run.json").read_text(encoding="utf-8"))
    assert meta["deployment_id"] == "dep-0123456789abcdef"
    assert "/.runs/" in (repo / ".git" / "info" / "exclude").read_text(encoding="utf-8").splitlines()
    RunRecorder(root=repo / ".runs", goal_id=None, phase="x", role="y", backend="z").start()
    assert (repo / ".git" / "info" / "exclude").read_text(encoding="utf-8").count("/.runs/") == 1


def test_settings_put_run_records_in_the_target_repository_not_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.config import Settings
    from bot.observability.runs import runs_dir_for

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ORCH_RUNS_DIR", raising=False)
    repo = tmp_path / "repo"
    assert runs_dir_for(Settings(repo=repo)) == repo / ".runs"
    assert runs_dir_for(Settings(repo=repo, runs_dir=Path("records"))) == repo / "records"
    assert runs_dir_for(Settings(repo=repo, runs_dir=tmp_path / "abs")) == tmp_path / "abs"
    assert os.getcwd() == str(tmp_path)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "—"),
        (0, "0 s"),
        (0.2, "<1 s"),
        (45, "45 s"),
        (60, "1 min"),
        (200, "3 min 20 s"),
        (3900, "1 h 5 min"),
        (7200, "2 h"),
        (12810, "3 h 33 min"),
        (97200, "1 d 3 h"),
    ],
)
def test_durations_read_in_units_and_never_say_zero_minutes(seconds: float | None, text: str) -> None:
    assert human_duration(seconds) == text


def test_orch_metrics_explain_lists_the_goals_and_runs_behind_each_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = fresh(tmp_path / "orch.db")
    repo = tmp_path / "repo"
    h = History(engine, repo / ".runs")
    walk_gates(h, "G-0001", 0)
    run = h.build("G-0001", 1, "i1", at(0, 10, 0), at(0, 10, 5), at(0, 10, 10), "approved", D1)
    monkeypatch.setenv("ORCH_DATABASE_URL", str(engine.url))
    monkeypatch.setenv("ORCH_REPO", str(repo))
    monkeypatch.delenv("ORCH_RUNS_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    plain = runner.invoke(app, ["metrics"])
    assert plain.exit_code == 0, plain.output
    assert "Automation runs without manual fix-ups: 1/1 (100.0%)" in plain.output
    assert "How each is computed:" in plain.output and "had their tests pass" in plain.output
    out = runner.invoke(app, ["metrics", "--explain"])
    assert out.exit_code == 0, out.output
    assert "G-0001: first build 2024-05-01 09:40 UTC; approved before it: prd by U_APP1" in out.output
    assert f"· {run} (G-0001 task 1): clean" in out.output
    assert "· G-0001: 25 min" in out.output  # bootstrap: started 09:00, action plan approved 09:25
    data = json.loads(runner.invoke(app, ["metrics", "--json", "--explain"]).output)
    # The fields `orch metrics --json` always had are still there; new ones are added beside them.
    for key in (
        "gates_before_implementation",
        "runs_without_fixups",
        "duplication",
        "bootstrap",
        "approval_wait",
    ):
        assert key in data
    assert {"count", "total", "details", "percent"} <= set(data["gates_before_implementation"])
    assert {"count", "median_s", "p90_s"} <= set(data["bootstrap"])
    assert data["gates_before_implementation"]["by_people"] == 1
    assert data["explain"]["runs_without_fixups"] == [f"{run} (G-0001 task 1): clean"]
    assert "how" in data
    engine.dispose()


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_the_deployment_id_is_made_once_per_database_and_read_without_writing(
    request: pytest.FixtureRequest, tmp_path: Path, kind: str
) -> None:
    from storage.deployment import known_deployment_id
    from tests.support.databases import migrated_database

    with migrated_database(request, tmp_path, kind) as (engine, _url):
        assert known_deployment_id(engine) is None
        made = deployment_id(engine)
        assert made.startswith("dep-") and deployment_id(engine) == made == known_deployment_id(engine)
