"""A codemod harvested from one repository is applied by a build on another: its diff is exactly the
codemod's output, the run record says so, and a codemod whose fixture does not hold is left out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.agents.implement import implement_task
from bot.codemods import ast_grep_binary
from bot.config import Settings
from bot.observability.runs import load_run
from bot.repo.git import ensure_repo
from bot.sop.records import TaskRecord
from tests.integration.test_learn import env, git, learn  # noqa: F401 - the fixture is used by name

RULE = """\
id: use-logging
language: python
message: Log through the module logger instead of printing.
rule:
  pattern: print($$$ARGS)
fix: logger.info($$$ARGS)
"""
BROKEN = RULE.replace("use-logging", "bad-fixture")
APP = 'import logging\n\nlogger = logging.getLogger(__name__)\n\n\ndef run(x):\n    print(x)\n    print("done", x)\n    return x\n'
APP_AFTER = APP.replace("print(", "logger.info(")

pytestmark = pytest.mark.skipif(ast_grep_binary() is None, reason="ast-grep-cli is not installed")


def add_codemod(repo: Path, rule: str, before: str, after: str) -> None:
    name = rule.split("\n", 1)[0].removeprefix("id: ")
    folder = repo / "patterns" / "codemods" / name
    (folder / "fixture").mkdir(parents=True)
    (folder / "rule.yml").write_text(rule)
    (folder / "fixture" / "before.py").write_text(before)
    (folder / "fixture" / "after.py").write_text(after)


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=T", "-c", "user.email=t@example.invalid", "commit", "-qm", message)


def test_a_harvested_codemod_is_the_build_of_a_task_that_names_it(
    env: dict[str, Path],  # noqa: F811
    tmp_path: Path,
) -> None:
    sample, target = env["sample"], env["target"]
    add_codemod(sample, RULE, "print('hi')\n", "logger.info('hi')\n")
    add_codemod(sample, BROKEN, "print('hi')\n", "print('unchanged')\n")  # its fixture does not hold
    commit_all(sample, "codemods")
    out = json.loads(learn(str(sample), "--json", "--as", "U_APP1"))
    files = out["proposal"]["files"]
    assert {
        "patterns/codemods/use-logging/rule.yml",
        "patterns/codemods/use-logging/fixture/before.py",
        "patterns/codemods/use-logging/fixture/after.py",
    } <= set(files)
    assert not any("bad-fixture" in f for f in files)
    assert any("bad-fixture" in note and "fixture does not hold" in note for note in out["notes"])
    learn("approve", out["proposal"]["id"], "--as", "U_APP2")
    assert "`use-logging` (python): Log through the module logger" in (target / "AGENTS.md").read_text()

    (target / "src").mkdir()
    (target / "src" / "app.py").write_text(APP)
    commit_all(target, "app")
    worktree = Path(ensure_repo(target).worktree_add("G-0001"))
    settings = Settings(repo=target, builder="offline", runs_dir=tmp_path / "runs", test_command="true")
    result = implement_task(
        settings=settings,
        goal_id="G-0001",
        task=TaskRecord(id=1, title="Apply the use-logging codemod to the app", files=["src/app.py"]),
        worktree=worktree,
        feedback=None,
        mode="workspace-write",
    )
    assert (worktree / "src" / "app.py").read_text() == APP_AFTER
    changed = [line for line in result.diff.splitlines() if line.startswith(("+", "-"))]
    assert changed == [
        "--- a/src/app.py",
        "+++ b/src/app.py",
        "-    print(x)",
        '-    print("done", x)',
        "+    logger.info(x)",
        '+    logger.info("done", x)',
    ]
    assert result.drafted_by == "codemod:use-logging" and "deterministic step, no model" in result.summary
    meta = load_run(tmp_path / "runs", result.run_id)["meta"]
    assert (meta["codemod"], meta["codemod_paths"], meta.get("stub")) == ("use-logging", ["src/app.py"], None)
