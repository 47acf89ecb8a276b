"""The spec guard checks what is committed, refuses a mis-pointed run, and is easy to adopt.

Each way round the guard found from outside has a test here: an edit staged with the file on disk
put back, a commit of the push undone by a later one, a path that is no repository or has no
index, a hook run where `orch` is not on PATH, and the guard driven by the pre-commit framework
from this project's `.pre-commit-hooks.yaml`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from bot.repo.git import Git, ensure_repo
from bot.sop.ci_workflow import WORKFLOW_PATH, workflow_text
from bot.sop.spec_guard import install_hooks
from tests.integration.test_spec_guard import PRD, PROJECT_ROOT, make_goal, setup_repo


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))


@pytest.fixture
def git(tmp_path: Path) -> Git:
    repo = ensure_repo(tmp_path / "repo", init_if_missing=True)
    # A done goal: review age does not matter on the real clock the hook runs with.
    setup_repo(repo.root, make_goal("G-0001", state="done", phase="done"))
    repo.commit(["tasks"], "state")
    return repo


def guard(*args: str) -> tuple[int, str]:
    from bot.cli import app

    result = CliRunner().invoke(app, ["spec-guard", *args])
    return result.exit_code, result.output


def person_env(tmp_path: Path, *, path: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.com",
                "GIT_COMMITTER_NAME": "Dev", "GIT_COMMITTER_EMAIL": "dev@example.com"})  # fmt: skip
    env.pop("ORCH_PYTHON", None)
    if path is not None:
        env["PATH"] = path
    return env


def sh(repo: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), cwd=repo, env=env, capture_output=True, text=True, timeout=120)


def path_without_orch() -> str:
    """PATH with git but without any `orch` (nor this project's virtualenv)."""
    keep = [d for d in os.environ["PATH"].split(os.pathsep) if d and not (Path(d) / "orch").exists()]
    return os.pathsep.join(keep)


def test_a_staged_edit_with_the_file_put_back_on_disk_is_refused(git: Git, tmp_path: Path) -> None:
    env = person_env(tmp_path, path=path_without_orch())
    assert shutil.which("orch", path=env["PATH"]) is None
    install_hooks(git.root)
    prd = git.root / "tasks/G-0001/prd.md"
    prd.write_text(PRD + "slipped in\n", encoding="utf-8")
    sh(git.root, env, "git", "add", "tasks/G-0001/prd.md")
    prd.write_text(PRD, encoding="utf-8")  # the work tree looks approved, the index does not

    blocked = sh(git.root, env, "git", "commit", "-m", "sneak")

    assert blocked.returncode != 0
    assert "G-0001 prd: tasks/G-0001/prd.md changed since v1 was approved" in blocked.stdout + blocked.stderr
    code, out = guard("--repo", str(git.root))
    assert code == 0, out  # the work tree alone would have passed: what is committed is what counts
    sh(git.root, env, "git", "reset", "-q")
    (git.root / "README.md").write_text("honest change\n", encoding="utf-8")
    sh(git.root, env, "git", "add", "README.md")
    ok = sh(git.root, env, "git", "commit", "-m", "readme")
    assert ok.returncode == 0, ok.stdout + ok.stderr


def test_a_commit_of_the_push_that_a_later_commit_undoes_is_still_refused(git: Git, tmp_path: Path) -> None:
    env = person_env(tmp_path)
    base = git.head()
    assert base is not None
    prd = git.root / "tasks/G-0001/prd.md"
    prd.write_text(PRD + "edited\n", encoding="utf-8")
    sh(git.root, env, "git", "commit", "-qam", "edit the approved PRD")
    prd.write_text(PRD, encoding="utf-8")
    sh(git.root, env, "git", "commit", "-qam", "put it back")

    code, out = guard("--repo", str(git.root), "--range", f"{base}..HEAD")

    assert code == 1
    [line] = [x for x in out.splitlines() if "changed since" in x]
    edit = git.run("rev-parse", "HEAD~1").strip()
    assert line.startswith(f"{edit[:12]}: G-0001 prd: tasks/G-0001/prd.md changed since v1 was approved")
    assert guard("--repo", str(git.root))[0] == 0  # HEAD alone passes
    code, out = guard("--repo", str(git.root), "--range", "HEAD~0..HEAD")
    assert code == 0 and "0 commit(s)" in out
    assert guard("--repo", str(git.root), "--range", "nope..HEAD")[0] == 2
    assert guard("--repo", str(git.root), "--range", "HEAD")[0] == 2


def test_a_path_that_is_not_a_repository_or_has_no_index_fails_unless_allowed(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    code, out = guard("--repo", str(plain))
    assert code == 2 and "is not inside a git repository" in out

    empty = ensure_repo(tmp_path / "empty", init_if_missing=True).root
    code, out = guard("--repo", str(empty))
    assert code == 2 and "no tasks/index.json" in out and "--allow-empty" in out
    code, out = guard("--repo", str(empty), "--allow-empty")
    assert code == 0 and "nothing to check" in out

    (empty / "sub").mkdir()
    code, out = guard("--repo", str(empty / "sub"))
    assert code == 2 and "not the top level" in out


def test_the_pre_commit_framework_runs_the_guard_from_this_projects_hooks_file(
    git: Git, tmp_path: Path
) -> None:
    pre_commit = Path(sys.executable).parent / "pre-commit"
    assert pre_commit.exists(), "pre-commit is in the dev extras"
    hooks = yaml.safe_load((PROJECT_ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert {h["id"] for h in hooks} == {"orch-spec-guard", "orch-spec-guard-system"}
    # A local clone of this project, as `repo:` in a team's config points at (its committed files).
    source = tmp_path / "orch-src"
    source.mkdir()
    (source / ".pre-commit-hooks.yaml").write_text(
        (PROJECT_ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    env = person_env(tmp_path)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"  # `orch` of this checkout
    env["PRE_COMMIT_HOME"] = str(tmp_path / "pre-commit-cache")
    for args in (("init", "-q"), ("add", "."), ("commit", "-qm", "hooks")):
        assert sh(source, env, "git", *args).returncode == 0
    rev = sh(source, env, "git", "rev-parse", "HEAD").stdout.strip()
    config = {"repos": [{"repo": str(source), "rev": rev, "hooks": [{"id": "orch-spec-guard-system"}]}]}
    (git.root / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    sh(git.root, env, "git", "add", ".pre-commit-config.yaml")
    installed = sh(git.root, env, str(pre_commit), "install")
    assert installed.returncode == 0, installed.stdout + installed.stderr

    (git.root / "tasks/G-0001/prd.md").write_text(PRD + "unapproved\n", encoding="utf-8")
    sh(git.root, env, "git", "add", "-A")
    blocked = sh(git.root, env, "git", "commit", "-m", "edit")
    assert blocked.returncode != 0
    assert "tasks/G-0001/prd.md changed since v1 was approved" in blocked.stdout + blocked.stderr

    (git.root / "tasks/G-0001/prd.md").write_text(PRD, encoding="utf-8")
    (git.root / "NOTES.md").write_text("fine\n", encoding="utf-8")
    sh(git.root, env, "git", "add", "-A")
    ok = sh(git.root, env, "git", "commit", "-m", "notes")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "orch spec-guard" in ok.stdout + ok.stderr and "Passed" in ok.stdout + ok.stderr


def test_install_ci_writes_a_workflow_that_checks_the_push_range(git: Git, tmp_path: Path) -> None:
    from bot.cli import app

    result = CliRunner().invoke(app, ["install-ci", "--repo", str(git.root)])
    assert result.exit_code == 0, result.output
    text = (git.root / WORKFLOW_PATH).read_text(encoding="utf-8")
    assert text == workflow_text()
    steps = yaml.safe_load(text)["jobs"]["spec-guard"]["steps"]
    assert 'orch spec-guard --repo . --range "$BASE..HEAD"' in steps[-1]["run"]
    (git.root / WORKFLOW_PATH).write_text("# ours\n", encoding="utf-8")
    refused = CliRunner().invoke(app, ["install-ci", "--repo", str(git.root)])
    assert refused.exit_code == 2 and "--force" in refused.output
    forced = CliRunner().invoke(app, ["install-ci", "--repo", str(git.root), "--force", "--package", "x==1"])
    assert forced.exit_code == 0 and 'pip install "x==1"' in (git.root / WORKFLOW_PATH).read_text()
