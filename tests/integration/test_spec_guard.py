"""The spec guard: its three rules, the pre-commit hook and the CLI commands."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bot.cli import repo_cmd as cli_repo
from bot.repo.git import Git
from bot.sop.index import save_index
from bot.sop.records import ArtifactRecord, GoalRecord, IndexFile, SpecWaiver
from bot.sop.spec_guard import CHAINED_HOOK, HOOK_MARKER, Problem, check, hook_installed, install_hooks

PROJECT_ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
PRD = "# PRD\n\nApproved words.\n"


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def prd_artifact(goal_id: str, *, reviewed: datetime = NOW, version: int = 1) -> ArtifactRecord:
    return ArtifactRecord(phase="prd", path=f"tasks/{goal_id}/prd.md", version=version, sha256=sha(PRD),
                          approved_sha256=sha(PRD), last_review=reviewed)  # fmt: skip


def make_goal(goal_id: str, **kw: object) -> GoalRecord:
    fields: dict = {"id": goal_id, "title": "T", "requester": "U1", "phase": "task_list", "status": "drafting",
                    "created": NOW, "updated": NOW, "artifacts": [prd_artifact(goal_id)]}  # fmt: skip
    fields.update(kw)
    return GoalRecord(**fields)


def setup_repo(root: Path, *goals: GoalRecord) -> None:
    save_index(root, IndexFile(goals=list(goals)))
    for g in goals:
        for art in g.artifacts:
            if art.approved_sha256:
                (root / art.path).parent.mkdir(parents=True, exist_ok=True)
                (root / art.path).write_text(PRD, encoding="utf-8")


def test_a_consistent_repository_has_no_problems(git: Git) -> None:
    setup_repo(git.root, make_goal("G-0001"), make_goal("G-0002"))
    assert check(git.root, now=NOW) == []


def test_an_approved_file_edited_afterwards_is_a_problem(git: Git) -> None:
    setup_repo(git.root, make_goal("G-0001"))
    (git.root / "tasks/G-0001/prd.md").write_text(PRD + "edited\n", encoding="utf-8")
    [problem] = check(git.root, now=NOW)
    assert (problem.goal, problem.artifact) == ("G-0001", "prd")
    assert "changed since v1 was approved" in problem.reason


def test_a_missing_canonical_file_is_a_problem(git: Git) -> None:
    setup_repo(git.root, make_goal("G-0001"))
    (git.root / "tasks/G-0001/prd.md").unlink()
    assert [str(p) for p in check(git.root, now=NOW)] == [
        "G-0001 prd: tasks/G-0001/prd.md is missing (approved v1)"
    ]


def test_a_review_older_than_the_limit_is_a_problem_for_active_goals_only(git: Git) -> None:
    old = NOW - timedelta(days=31)
    setup_repo(
        git.root,
        make_goal("G-0001", artifacts=[prd_artifact("G-0001", reviewed=old)]),
        make_goal("G-0002", artifacts=[prd_artifact("G-0002", reviewed=old)], state="done", phase="done"),
        make_goal("G-0003", artifacts=[prd_artifact("G-0003", reviewed=NOW - timedelta(days=30))]),
    )
    assert check(git.root, now=NOW) == [Problem("G-0001", "prd", "last reviewed 31 days ago (limit 30)")]
    assert check(git.root, now=NOW, max_age_days=40) == []


def test_a_naive_review_time_is_read_as_utc(git: Git) -> None:
    naive = (NOW - timedelta(days=31)).replace(tzinfo=None)
    setup_repo(git.root, make_goal("G-0001", artifacts=[prd_artifact("G-0001", reviewed=naive)]))
    assert [p.reason for p in check(git.root, now=NOW)] == ["last reviewed 31 days ago (limit 30)"]


def test_only_the_latest_approved_version_is_compared_with_the_file(git: Git) -> None:
    v1 = ArtifactRecord(
        phase="prd", path="tasks/G-0001/prd.md", version=1, sha256="b" * 64, approved_sha256="b" * 64
    )
    v2 = prd_artifact("G-0001", version=2)
    draft_v3 = ArtifactRecord(phase="prd", path="tasks/G-0001/prd.md", version=3, sha256="c" * 64)
    setup_repo(git.root, make_goal("G-0001", artifacts=[v1, v2, draft_v3]))
    assert check(git.root, now=NOW) == []


@pytest.mark.parametrize(
    ("phase", "spec_required", "waiver", "problem"),
    [
        ("action_plan", True, None, True),
        ("implementation", True, None, True),
        ("task_list", True, None, False),
        ("action_plan", False, None, False),
        ("action_plan", None, None, False),
        ("action_plan", True, SpecWaiver(by="U2", at=NOW, justification="tiny", decision="waived"), False),
    ],
)
def test_a_required_spec_must_be_approved_by_the_action_plan(
    git: Git, phase: str, spec_required: bool | None, waiver: SpecWaiver | None, problem: bool
) -> None:
    setup_repo(git.root, make_goal("G-0001", phase=phase, spec_required=spec_required, spec_waiver=waiver))
    found = check(git.root, now=NOW)
    assert [(p.goal, p.artifact) for p in found] == ([("G-0001", "spec")] if problem else [])


def test_an_approved_spec_satisfies_the_rule(git: Git) -> None:
    spec = ArtifactRecord(phase="spec", path="tasks/G-0001/spec.md", version=1, sha256=sha(PRD),
                          approved_sha256=sha(PRD))  # fmt: skip
    setup_repo(git.root, make_goal("G-0001", phase="action_plan", spec_required=True,
                                   artifacts=[prd_artifact("G-0001"), spec]))  # fmt: skip
    assert check(git.root, now=NOW) == []


def test_cancelled_goals_are_not_checked(git: Git) -> None:
    setup_repo(git.root, make_goal("G-0001", state="cancelled"))
    (git.root / "tasks/G-0001/prd.md").unlink()
    assert check(git.root, now=NOW) == []


def test_a_path_in_the_index_that_leaves_the_repository_is_reported_not_read(git: Git) -> None:
    setup_repo(git.root, make_goal("G-0001"))
    (git.root / "tasks/G-0001").rename(git.root / "tasks/real")
    (git.root / "tasks/G-0001").symlink_to(git.root.parent, target_is_directory=True)
    [problem] = check(git.root, now=NOW)
    assert "leaves the repository" in problem.reason


# -- hooks ----------------------------------------------------------------------------------------


def test_install_hooks_writes_an_executable_hook_once(git: Git) -> None:
    hook = install_hooks(git.root)
    assert hook == git.git_dir / "hooks" / "pre-commit"
    assert os.access(hook, os.X_OK) and HOOK_MARKER in hook.read_text(encoding="utf-8")
    assert install_hooks(git.root) == hook
    assert hook_installed(git.root)
    assert not (hook.parent / CHAINED_HOOK).exists()


def test_an_existing_hook_is_kept_and_chained(git: Git) -> None:
    hooks = git.git_dir / "hooks"
    hooks.mkdir(exist_ok=True)
    (hooks / "pre-commit").write_text("#!/bin/sh\necho theirs\n", encoding="utf-8")
    install_hooks(git.root)
    assert (hooks / CHAINED_HOOK).read_text(encoding="utf-8") == "#!/bin/sh\necho theirs\n"
    assert CHAINED_HOOK in (hooks / "pre-commit").read_text(encoding="utf-8")


def test_install_refuses_when_it_cannot_keep_the_existing_hook(git: Git) -> None:
    hooks = git.git_dir / "hooks"
    hooks.mkdir(exist_ok=True)
    (hooks / "pre-commit").write_text("#!/bin/sh\necho theirs\n", encoding="utf-8")
    (hooks / CHAINED_HOOK).write_text("#!/bin/sh\necho older\n", encoding="utf-8")
    with pytest.raises(FileExistsError, match="merge them by hand"):
        install_hooks(git.root)
    assert (hooks / "pre-commit").read_text(encoding="utf-8") == "#!/bin/sh\necho theirs\n"


def test_core_hooks_path_is_respected(git: Git) -> None:
    git.run("config", "core.hooksPath", ".githooks")
    hook = install_hooks(git.root)
    assert hook == git.root / ".githooks" / "pre-commit"
    assert hook_installed(git.root)


def hook_env(tmp_path: Path) -> dict[str, str]:
    """PATH with an `orch` that runs only this package's commands, as an installed orch would."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    shim = bin_dir / "orch"
    shim.write_text(
        '#!/bin/sh\nexec "$ORCH_PYTHON" -c "import typer; from bot.cli import repo_cmd as cli_repo; app = typer.Typer(); '
        'cli_repo.register(app); app()" "$@"\n',
        encoding="utf-8",
    )
    shim.chmod(0o755)
    env = dict(os.environ)
    env.update({"PATH": f"{bin_dir}{os.pathsep}{env['PATH']}", "ORCH_PYTHON": sys.executable,
                "PYTHONPATH": str(PROJECT_ROOT), "GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.com",
                "GIT_COMMITTER_NAME": "Dev", "GIT_COMMITTER_EMAIL": "dev@example.com"})  # fmt: skip
    return env


def test_the_hook_blocks_a_human_commit_of_an_edited_approved_file(git: Git, tmp_path: Path) -> None:
    # A done goal: the hook runs on the real clock, so review age must not matter here.
    setup_repo(git.root, make_goal("G-0001", state="done", phase="done"))
    git.commit(["tasks"], "state")
    install_hooks(git.root)
    env = hook_env(tmp_path)
    (git.root / "tasks/G-0001/prd.md").write_text(PRD + "unapproved\n", encoding="utf-8")
    subprocess.run(["git", "add", "-A"], cwd=git.root, env=env, check=True)
    blocked = subprocess.run(
        ["git", "commit", "-m", "edit"], cwd=git.root, env=env, capture_output=True, text=True
    )
    assert blocked.returncode != 0
    assert "G-0001 prd: tasks/G-0001/prd.md changed since v1 was approved" in blocked.stdout + blocked.stderr
    (git.root / "tasks/G-0001/prd.md").write_text(PRD, encoding="utf-8")
    (git.root / "README.md").write_text("hello\n", encoding="utf-8")
    subprocess.run(["git", "add", "-A"], cwd=git.root, env=env, check=True)
    ok = subprocess.run(
        ["git", "commit", "-m", "readme"], cwd=git.root, env=env, capture_output=True, text=True
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr


# -- CLI --------------------------------------------------------------------------------------------


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    cli_repo.register(app)
    return app


def test_cli_spec_guard_summarises_a_clean_repository(git: Git, cli: typer.Typer) -> None:
    setup_repo(git.root, make_goal("G-0001"), make_goal("G-0002"))
    result = CliRunner().invoke(cli, ["spec-guard", "--repo", str(git.root), "--max-age-days", "36500"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "spec-guard: 2 goals, 2 artifacts checked, no problems"


def test_cli_spec_guard_lists_problems_and_exits_1(git: Git, cli: typer.Typer) -> None:
    setup_repo(git.root, make_goal("G-0003", phase="action_plan", spec_required=True))
    result = CliRunner().invoke(cli, ["spec-guard", "--repo", str(git.root), "--max-age-days", "36500"])
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0].startswith("G-0003 spec: a mini-spec is required")


def test_cli_spec_guard_reports_a_broken_index_without_a_traceback(git: Git, cli: typer.Typer) -> None:
    (git.root / "tasks").mkdir()
    (git.root / "tasks/index.json").write_text("{oops", encoding="utf-8")
    result = CliRunner().invoke(cli, ["spec-guard", "--repo", str(git.root)])
    assert result.exit_code == 2
    assert "not valid JSON" in result.stderr and "Traceback" not in result.output


def test_cli_install_hooks(git: Git, cli: typer.Typer, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["install-hooks", "--repo", str(git.root)])
    assert result.exit_code == 0 and hook_installed(git.root)
    plain = tmp_path / "plain"
    plain.mkdir()
    result = CliRunner().invoke(cli, ["install-hooks", "--repo", str(plain)])
    assert result.exit_code == 2 and "not inside a git repository" in result.stderr


def test_the_wrapper_script_runs_the_guard(git: Git, tmp_path: Path) -> None:
    setup_repo(git.root, make_goal("G-0001", state="done", phase="done"))
    result = subprocess.run(
        ["sh", str(PROJECT_ROOT / "scripts/spec-guard.sh"), "--repo", str(git.root), "--max-age-days", "36500"],
        env=hook_env(tmp_path), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "no problems" in result.stdout
