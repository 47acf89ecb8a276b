"""`orch learn` on a sample repository: the harvest becomes an approvable diff on a branch, real git."""

from __future__ import annotations

import json
import subprocess
import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import Session
from typer.testing import CliRunner

from bot.cli import app
from bot.learn.source import SourceError, check_url, open_source
from bot.sop.scaffold import detect_test_command, inspect_scaffold
from storage.audit import iter_entries
from storage.db import make_engine
from tests.conftest import init_repo

PYPROJECT = """\
[project]
name = "upstream"
dependencies = ["pytest>=8"]

[tool.ruff]
line-length = 100
target-version = "py311"

[tool.ruff.lint]
select = ["E", "F", "I", "UP"]
ignore = ["E501"]

[tool.pytest.ini_options]
testpaths = ["tests"]
"""
PRE_COMMIT = """\
repos:
  - repo: https://github.com/astral-sh/ruff-pre-commit
    rev: v0.6.9
    hooks:
      - id: ruff
      - id: ruff-format
  - repo: https://github.com/pre-commit/pre-commit-hooks
    rev: v4.6.0
    hooks:
      - id: end-of-file-fixer
"""
EDITORCONFIG = "root = true\n\n[*]\nindent_style = space\nindent_size = 4\nend_of_line = lf\n\n[Makefile]\nindent_style = tab\n"
WORKFLOW = """\
name: CI
on: [push, pull_request]
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      - name: Install
        run: pip install -e .[dev]
      - name: Lint
        run: ruff check .
      - name: Test
        run: pytest -q
"""
EXPECTED_FILES = [
    "AGENTS.md",  # the harvested conventions, where coding agents read them
    "adapters/ci.toml",
    "adapters/ci/github/ci.yml",
    "adapters/editor/editorconfig",
    "adapters/linters/ruff.toml",
    "adapters/pre-commit.yaml",
    "adapters/tests.toml",
    "patterns/README.md",
    "patterns/conventions/ci.md",
    "patterns/conventions/editor.md",
    "patterns/conventions/pre-commit.md",
    "patterns/conventions/python-style.md",
    "patterns/conventions/tests.md",
    "patterns/index.json",
]


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout


def make_sample(path: Path, outside: Path) -> Path:
    init_repo(path)
    (path / "pyproject.toml").write_text(PYPROJECT)
    (path / ".pre-commit-config.yaml").write_text(PRE_COMMIT)
    (path / ".editorconfig").write_text(EDITORCONFIG)
    (path / ".github" / "workflows").mkdir(parents=True)
    (path / ".github" / "workflows" / "ci.yml").write_text(WORKFLOW)
    # A config file that is a link out of the repository must not be read.
    outside.write_text('{"rules": {"token": "xoxb-1111-2222-outsidesecret"}}')
    (path / ".eslintrc.json").symlink_to(outside)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "conventions")
    return path


@pytest.fixture
def env(tmp_path: Path, target_repo: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    monkeypatch.setenv("ORCH_DATABASE_URL", f"sqlite:///{tmp_path / 'orch.db'}")
    monkeypatch.setenv("ORCH_REPO", str(target_repo))
    monkeypatch.setenv("ORCH_APPROVERS", "U_APP1,U_APP2")
    monkeypatch.setenv("ORCH_RUNS_DIR", str(tmp_path / ".runs"))
    sample = make_sample(tmp_path / "upstream", tmp_path / "outside.json")
    return {"target": target_repo, "sample": sample, "db": tmp_path / "orch.db"}


runner = CliRunner()


def learn(*args: str) -> str:
    result = runner.invoke(app, ["learn", *args])
    assert result.exit_code == 0, result.output
    return result.output


def audit_actions(db: Path) -> list[tuple[str, str, dict]]:
    engine = make_engine(f"sqlite:///{db}")
    with Session(engine) as session:
        rows = [
            (e.action, e.actor, e.payload_dict())
            for e in iter_entries(session)
            if e.action.startswith("learn.")
        ]
    engine.dispose()
    return rows


def test_learn_proposes_the_expected_patterns_and_adapters_as_a_diff_on_a_branch(
    env: dict[str, Path],
) -> None:
    target, sample = env["target"], env["sample"]
    main_before = git(target, "rev-parse", "main")
    data = json.loads(learn(str(sample), "--json"))
    proposal = data["proposal"]
    assert proposal["files"] == EXPECTED_FILES
    assert proposal["source"] == f"upstream@{git(sample, 'rev-parse', '--short=7', 'HEAD').strip()}"
    assert any(".eslintrc.json: skipped, it points outside the repository" in n for n in data["notes"])

    # Nothing has touched main or the working tree: the harvest lives on its own branch.
    assert git(target, "rev-parse", "main") == main_before
    assert not (target / "patterns").exists() and not (target / "adapters").exists()
    branch = proposal["branch"]
    assert branch == f"orch/learn-{proposal['id']}"

    def show(path: str) -> str:
        return git(target, "show", f"{branch}:{path}")

    ruff = tomllib.loads(show("adapters/linters/ruff.toml"))
    assert ruff == {
        "line-length": 100,
        "target-version": "py311",
        "lint": {"select": ["E", "F", "I", "UP"], "ignore": ["E501"]},
    }
    assert tomllib.loads(show("adapters/tests.toml"))["tests"] == {
        "command": "pytest -q",
        "source": ".github/workflows/ci.yml",
        "alternatives": ["pytest"],
    }
    steps = tomllib.loads(show("adapters/ci.toml"))["steps"]
    assert [s.get("run") or s.get("uses") for s in steps] == [
        "actions/checkout@v4",
        "actions/setup-python@v5",
        "pip install -e .[dev]",
        "ruff check .",
        "pytest -q",
    ]
    assert show("adapters/pre-commit.yaml") == PRE_COMMIT
    assert show("adapters/editor/editorconfig") == EDITORCONFIG
    assert show("adapters/ci/github/ci.yml") == WORKFLOW
    assert "- `https://github.com/astral-sh/ruff-pre-commit` @ v0.6.9: ruff, ruff-format." in show(
        "patterns/conventions/pre-commit.md"
    )
    assert "Lint with ruff (line length 100; target py311; rules E, F, I, UP; ignored E501)" in show(
        "patterns/conventions/python-style.md"
    )
    assert "- `*`: indent_style space, indent_size 4, end_of_line lf." in show(
        "patterns/conventions/editor.md"
    )
    assert "## Layout" in show("patterns/README.md")
    assert "outsidesecret" not in git(target, "log", "-p", branch)

    index = json.loads(show("patterns/index.json"))
    entries = {a["path"]: a for a in index["assets"]}
    assert sorted(entries) == [f for f in EXPECTED_FILES if f != "patterns/index.json"]
    ruff_entry = entries["adapters/linters/ruff.toml"]
    assert ruff_entry["origin"] == {"source": proposal["source"], "file": "pyproject.toml [tool.ruff]"}
    assert (ruff_entry["version"], ruff_entry["last_used"], ruff_entry["kind"]) == (1, None, "linter")

    # The human-readable form shows the diff and how to approve it.
    text = learn(str(sample))
    assert f"{proposal['id']} already open" in text
    assert "+line-length = 100" in text and f"orch learn approve {proposal['id']} --as <approver>" in text
    assert [a for a, _, _ in audit_actions(env["db"])] == ["learn.proposed"]


@pytest.mark.slow
def test_approving_merges_the_proposal_and_the_builder_reads_the_adapter(env: dict[str, Path]) -> None:
    target, sample = env["target"], env["sample"]
    assert detect_test_command(target)[0] is None
    pid = json.loads(learn(str(sample), "--json", "--as", "U_APP1"))["proposal"]["id"]

    refused = runner.invoke(app, ["learn", "approve", pid, "--as", "U_APP1"])
    assert refused.exit_code == 1 and "another approver must approve it" in refused.output
    outsider = runner.invoke(app, ["learn", "approve", pid, "--as", "U_RANDOM"])
    assert outsider.exit_code == 1 and "Only an approver" in outsider.output
    assert "1 file(s)" not in learn("list") and pid in learn("list")

    out = learn("approve", pid, "--as", "U_APP2")
    assert f"{pid} merged into main" in out
    assert git(target, "log", "-1", "--format=%(trailers:key=Learn-Approved,valueonly)").strip() == pid
    assert git(target, "branch", "--list", f"orch/learn-{pid}").strip() == ""
    assert (target / "adapters" / "tests.toml").is_file() and git(target, "status", "--porcelain") == ""
    assert learn("approve", pid, "--as", "U_APP2").startswith(f"{pid} merged")  # idempotent

    # The adapter now decides the test command (falling back to detection without it).
    assert detect_test_command(target) == ("pytest -q", "adapters/tests.toml", [])
    assert inspect_scaffold(target).test_command_source == "adapters/tests.toml"
    (target / "adapters" / "tests.toml").write_text('[tests]\ncommand = "make\\ntest"\n')  # two lines
    assert detect_test_command(target)[0] is None

    actions = audit_actions(env["db"])
    assert [(a, actor) for a, actor, _ in actions] == [
        ("learn.proposed", "U_APP1"),
        ("learn.refused", "U_APP1"),
        ("learn.refused", "U_RANDOM"),
        ("learn.approved", "U_APP2"),
    ]
    assert actions[-1][2]["files"] == EXPECTED_FILES

    # The same source again: nothing new. A changed source: only what changed, version 2.
    git(target, "checkout", "-q", "--", "adapters/tests.toml")
    assert "nothing new to learn" in learn(str(sample))
    (sample / "pyproject.toml").write_text(PYPROJECT.replace("line-length = 100", "line-length = 120"))
    git(sample, "commit", "-qam", "wider lines")
    second = json.loads(learn(str(sample), "--json"))["proposal"]
    assert second["files"] == [
        "AGENTS.md",  # its python-style part names the line length
        "adapters/linters/ruff.toml",
        "patterns/conventions/python-style.md",
        "patterns/index.json",
    ]
    index = json.loads(git(target, "show", f"{second['branch']}:patterns/index.json"))
    versions = {a["path"]: a["version"] for a in index["assets"]}
    assert versions["adapters/linters/ruff.toml"] == 2 and versions["adapters/tests.toml"] == 1
    learn("discard", second["id"])
    assert learn("list").strip() == "no open learn proposals"


def test_last_use_comes_from_the_audit_log(env: dict[str, Path], tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from storage.audit import append_audit
    from storage.db import transaction

    target, sample = env["target"], env["sample"]
    (sample / "patterns" / "templates").mkdir(parents=True)
    (sample / "patterns" / "templates" / "prd.md").write_text("# PRD: {title}\n\n## Why\n\n## What\n")
    git(sample, "add", "-A")
    git(sample, "commit", "-qm", "template")
    pid = json.loads(learn(str(sample), "--json"))["proposal"]["id"]
    learn("approve", pid, "--as", "U_APP1")
    assert (target / "patterns" / "templates" / "prd.md").is_file()
    engine = make_engine(f"sqlite:///{env['db']}")
    with transaction(engine) as session:
        later = datetime(2999, 1, 1, 12, 0, tzinfo=UTC)
        append_audit(session, actor="bot", action="artifact.drafted", goal_id="G-0001", phase="prd", at=later)
    engine.dispose()
    assets = {a["path"]: a for a in json.loads(learn("assets", "--json"))}
    assert assets["patterns/templates/prd.md"]["last_used"] == "2999-01-01T12:00:00Z"
    assert assets["adapters/tests.toml"]["last_used"] is None
    assert assets["adapters/linters/ruff.toml"]["origin"]["file"] == "pyproject.toml [tool.ruff]"


def test_a_file_url_is_cloned_shallow_and_labelled_without_local_paths(env: dict[str, Path]) -> None:
    sample = env["sample"]
    with open_source(sample.as_uri()) as src:
        assert src.cloned and (src.root / "pyproject.toml").is_file()
        assert git(src.root, "rev-parse", "--is-shallow-repository").strip() == "true"
        assert src.label == f"upstream@{git(sample, 'rev-parse', '--short=7', 'HEAD').strip()}"
        clone = src.root
    assert not clone.exists()
    data = json.loads(learn(sample.as_uri(), "--json"))
    assert data["proposal"]["files"] == EXPECTED_FILES


@pytest.mark.parametrize(
    ("spec", "why"),
    [
        ("ext::sh -c touch% /tmp/pwned", "does not look like"),
        ("--upload-pack=touch /tmp/pwned", "does not look like"),
        ("http://example.com/repo.git", "Only https, ssh, git, file URLs"),
        ("https://user:hunter2@example.com/repo.git", "no credentials"),
        ("https:///repo.git", "no host"),
    ],
)
def test_unsafe_or_unusable_sources_are_refused_before_git_runs(spec: str, why: str) -> None:
    with pytest.raises(SourceError, match=why), open_source(spec):
        pass


def test_scp_style_and_https_urls_pass_the_check() -> None:
    assert check_url("git@github.com:acme/service.git") == "git@github.com:acme/service.git"
    assert check_url("https://github.com/acme/service") == "https://github.com/acme/service"


def test_learning_from_a_folder_without_conventions_says_so(env: dict[str, Path], tmp_path: Path) -> None:
    empty = init_repo(tmp_path / "empty")
    result = runner.invoke(app, ["learn", str(empty)])
    assert result.exit_code == 1 and "Found no conventions to learn" in result.output
    missing = runner.invoke(app, ["learn", str(tmp_path / "nowhere")])
    assert missing.exit_code == 1 and "There is no folder nowhere" in missing.output


@pytest.mark.slow
def test_with_a_model_the_harvest_also_gets_a_summary_page(env: dict[str, Path], tmp_path: Path) -> None:
    from agents import Model, ModelProvider
    from agents.testing import ScriptedModel, assistant_message

    from bot.learn.service import LearnService
    from bot.learn.summarise import AgentsSummarizer
    from bot.services.authority import ApproverDirectory
    from bot.services.unit import Actor
    from storage.migrate import upgrade

    class OneModel(ModelProvider):
        def __init__(self, model: Model) -> None:
            self.model = model

        def get_model(self, model_name: str | None) -> Model:
            return self.model

    answer = {
        "summary": "A Python service linted with ruff and tested with pytest in CI.",
        "conventions": [
            {
                "topic": "linting",
                "rule": "Keep lines under 100 characters.",
                "evidence": "pyproject.toml [tool.ruff]",
            },
            {
                "topic": "tests",
                "rule": "Run pytest -q before pushing.",
                "evidence": ".github/workflows/ci.yml",
            },
        ],
    }
    scripted = ScriptedModel([[assistant_message(json.dumps(answer))]])
    engine = make_engine(f"sqlite:///{tmp_path / 'model.db'}")
    upgrade(engine)
    service = LearnService(
        engine=engine,
        directory=ApproverDirectory(users=frozenset({"U_APP1"})),
        repo=env["target"],
        summarizer=AgentsSummarizer(OneModel(scripted), "summary-model"),
    )
    outcome = service.propose(source=str(env["sample"]), actor=Actor("U_APP1"))
    engine.dispose()

    scripted.assert_complete()
    sent = json.dumps(scripted.last_call.input if scripted.last_call else None)
    assert "<facts>" in sent and "line-length = 100" in sent
    assert outcome.proposal is not None
    assert "patterns/conventions/summary.md" in outcome.proposal.files
    page = git(env["target"], "show", f"{outcome.proposal.branch}:patterns/conventions/summary.md")
    assert page.startswith("# Conventions (summary)")
    assert "## Linting\n\n- Keep lines under 100 characters. _(pyproject.toml [tool.ruff])_" in page


def test_the_tester_runs_the_adapters_command_unless_one_is_configured(tmp_path: Path) -> None:
    import sys
    from types import SimpleNamespace

    from bot.agents.implement import run_configured_tests

    worktree = tmp_path / "worktree"
    (worktree / "adapters").mkdir(parents=True)
    assert run_configured_tests(SimpleNamespace(test_command=None), worktree) is None
    command = f"{sys.executable} -c \"print('adapter tests ran')\""
    (worktree / "adapters" / "tests.toml").write_text(f"[tests]\ncommand = {json.dumps(command)}\n")
    ran = run_configured_tests(SimpleNamespace(test_command=None, test_timeout=30.0), worktree)
    assert ran is not None and ran.passed and "adapter tests ran" in ran.output
    configured = run_configured_tests(
        SimpleNamespace(test_command=f'{sys.executable} -c "print(1)"', test_timeout=30.0), worktree
    )
    assert configured is not None and configured.command.endswith('"print(1)"')


def test_a_proposal_that_no_longer_merges_is_refused_and_main_is_left_clean(env: dict[str, Path]) -> None:
    target = env["target"]
    pid = json.loads(learn(str(env["sample"]), "--json"))["proposal"]["id"]
    (target / "adapters").mkdir()
    (target / "adapters" / "tests.toml").write_text('[tests]\ncommand = "make check"\n')
    git(target, "add", "-A")
    git(target, "commit", "-qm", "our own test command")
    head = git(target, "rev-parse", "HEAD")
    result = runner.invoke(app, ["learn", "approve", pid, "--as", "U_APP1"])
    assert result.exit_code == 1 and "no longer merges cleanly (adapters/tests.toml)" in result.output
    assert git(target, "rev-parse", "HEAD") == head and git(target, "status", "--porcelain") == ""
    assert pid in learn("list")


def test_javascript_flake8_gitlab_and_make_conventions_are_harvested(tmp_path: Path) -> None:
    from bot.learn.harvest import harvest

    root = tmp_path / "web"
    (root / ".github").mkdir(parents=True)
    (root / "package.json").write_text(
        json.dumps(
            {
                "scripts": {"test": "vitest run", "lint": "eslint ."},
                "prettier": {"printWidth": 90, "singleQuote": True},
            }
        )
    )
    (root / ".eslintrc.yml").write_text("extends:\n  - eslint:recommended\n  - prettier\n")
    (root / "setup.cfg").write_text(
        "[metadata]\nname = web\n\n[flake8]\nmax-line-length = 88\nextend-ignore = E203\n"
    )
    (root / ".gitlab-ci.yml").write_text(
        "stages: [test]\nunit:\n  stage: test\n  script:\n    - npm ci\n    - npm test\n.hidden:\n  script: [x]\n"
    )
    (root / "Makefile").write_text("lint:\n\t@ruff check .\n\ntest: lint\n\tpytest -q\n")
    (root / ".github" / "pull_request_template.md").write_text("## What\n\n## Why\n")

    result = harvest(root, source="web")
    paths = {a.path: a for a in result.assets}
    assert sorted(paths) == [
        "AGENTS.md",
        "adapters/ci.toml",
        "adapters/ci/gitlab-ci.yml",
        "adapters/formatters/prettierrc.json",
        "adapters/linters/eslintrc.yml",
        "adapters/linters/flake8.ini",
        "adapters/tests.toml",
        "patterns/conventions/ci.md",
        "patterns/conventions/commands.md",
        "patterns/conventions/javascript-style.md",
        "patterns/conventions/python-style.md",
        "patterns/conventions/tests.md",
        "patterns/templates/pull-request.md",
    ]
    assert json.loads(paths["adapters/formatters/prettierrc.json"].content) == {
        "printWidth": 90,
        "singleQuote": True,
    }
    assert "max-line-length = 88" in paths["adapters/linters/flake8.ini"].content
    # A Makefile test target is the most explicit test command; CI and package.json are alternatives.
    assert tomllib.loads(paths["adapters/tests.toml"].content)["tests"] == {
        "command": "make test",
        "source": "Makefile",
        "alternatives": ["npm test"],
    }
    assert [s["run"] for s in tomllib.loads(paths["adapters/ci.toml"].content)["steps"]] == [
        "npm ci",
        "npm test",
    ]
    assert result.facts["javascript-style"] == [
        "Lint with eslint (extends eslint:recommended, prettier), settings in `adapters/linters/eslintrc.yml`.",
        "Format with prettier (printWidth 90, singleQuote True), settings in `adapters/formatters/prettierrc.json`.",
        "`npm run test` runs `vitest run`.",
        "`npm run lint` runs `eslint .`.",
    ]
    assert "`make test` runs `pytest -q`." in result.facts["tests"]
    assert "`make lint` runs `ruff check .`." in result.facts["commands"]
    assert "`.gitlab-ci.yml` job `unit` (stage test): `npm ci` → `npm test`." in result.facts["ci"]


_keys = st.text(min_size=1, max_size=8)
_scalars = st.one_of(
    st.text(max_size=12),
    st.integers(-(2**40), 2**40),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
)
_tables = st.recursive(
    st.dictionaries(_keys, st.one_of(_scalars, st.lists(_scalars, max_size=3)), max_size=4),
    lambda inner: st.dictionaries(
        _keys, st.one_of(inner, st.lists(inner, min_size=1, max_size=2)), max_size=3
    ),
    max_leaves=12,
)


@given(_tables)
def test_written_adapters_read_back_as_the_same_data(data: dict) -> None:
    from bot.learn._toml import dumps

    assert tomllib.loads(dumps(data, header="harvested")) == data
