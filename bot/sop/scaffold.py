"""The Scaffold Check: what the target repository lacks before a goal can start, and the fix.

`inspect_scaffold` only reads. Its report becomes the Scaffold Check artifact (`to_markdown`),
which a human approves in Slack; only then does `apply_scaffold` create the missing pieces and
commit them. Nothing is written without that approval, and nothing that exists is overwritten.
"""

from __future__ import annotations

import configparser
import json
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.agents.templates import OVERRIDE_DIRS
from bot.repo.git import Git, has_commits, repo_top_level
from bot.sop.index import INDEX_PATH, SCHEMA_PATH, dump_index, schema_text, write_atomic, write_schema
from bot.sop.records import IndexFile
from bot.sop.spec_guard import hook_installed, install_hooks

TASKS_README = """# tasks/

The state of record of Codex-Orchestrator, written by the bot; edit through Slack, not by hand.

- `index.json`: every goal, its phase, artifacts (with the sha256 that was approved), approvals
  and tasks. `index.schema.json` describes it.
- `events.jsonl`: the append-only event log.
- `G-0001/`: one folder per goal with the approved artifacts (`prd.md`, `tasks.md`, …).
"""
DOCS_README = """# docs/

Human-readable documentation. `PRD.md`, `TASKS.md`, `TECH_SPEC.md` and `ACTION_PLAN.md` are
append-only mirrors written by Codex-Orchestrator: each approved artifact version is appended as a
dated section that links back to its canonical file under `tasks/`.
"""
_MAKE_TEST_RE = re.compile(r"^test\s*::?(?!=)", re.MULTILINE)
_NPM_DEFAULT_TEST = "no test specified"


@dataclass(frozen=True)
class Finding:
    check: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class ScaffoldReport:
    is_git_repo: bool
    has_commits: bool
    has_tasks_dir: bool
    has_docs_dir: bool
    has_index: bool
    has_schema: bool
    hook_installed: bool
    test_command: str | None
    test_command_source: str | None
    templates_override: str | None
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def missing(self) -> list[str]:
        """Keys of what `apply_scaffold` would create."""
        wanted = {
            "tasks": not self.has_tasks_dir,
            "index": not self.has_index,
            "schema": not self.has_schema,
            "docs": not self.has_docs_dir,
            "hook": not self.hook_installed,
        }
        return [key for key, needed in wanted.items() if needed]

    @property
    def ready(self) -> bool:
        return self.is_git_repo and not self.missing

    def findings(self) -> list[Finding]:
        test = (
            Finding("Test command", True, f"`{self.test_command}` (from {self.test_command_source})")
            if self.test_command
            else Finding("Test command", False, "none detected; tell the bot which command runs the tests")
        )
        return [
            Finding(
                "Git repository", self.is_git_repo, "yes" if self.is_git_repo else "not a git repository"
            ),
            Finding("tasks/ folder", self.has_tasks_dir, "present" if self.has_tasks_dir else "missing"),
            Finding("tasks/index.json", self.has_index, "present" if self.has_index else "missing"),
            Finding("tasks/index.schema.json", self.has_schema, "present" if self.has_schema else "missing"),
            Finding("docs/ folder", self.has_docs_dir, "present" if self.has_docs_dir else "missing"),
            Finding(
                "Spec-guard pre-commit hook",
                self.hook_installed,
                "installed" if self.hook_installed else "not installed",
            ),
            test,
            Finding(
                "Template overrides",
                True,
                f"`{self.templates_override}/`" if self.templates_override else "none (built-in templates)",
            ),
        ]

    def proposed_changes(self) -> list[str]:
        changes = {
            "tasks": "Create `tasks/` with a `README.md`",
            "index": "Create an empty, valid `tasks/index.json`",
            "schema": "Add `tasks/index.schema.json` (the schema of the index)",
            "docs": "Create `docs/` with a `README.md` explaining the append-only mirrors",
            "hook": "Install the spec-guard pre-commit hook (existing hooks are kept and run first)",
        }
        items = [changes[key] for key in self.missing]
        if items:
            items.append("Commit the new files as the bot, with the approval recorded in the commit")
        return items

    def summary(self) -> str:
        if not self.is_git_repo:
            return "Not a git repository; the bot cannot work here yet."
        if self.ready:
            return "The repository is ready; nothing to change."
        return f"{len(self.missing)} thing(s) to set up: " + ", ".join(self.missing) + "."

    def to_markdown(self) -> str:
        rows = "\n".join(
            f"| {_cell(f.check)} | {'✅' if f.ok else '⚠️'} | {_cell(f.detail)} |" for f in self.findings()
        )
        changes = self.proposed_changes()
        proposed = (
            "\n".join(f"- {c}" for c in changes) if changes else "Nothing to change: the repository is ready."
        )
        notes = "".join(f"\n- {_cell(n)}" for n in self.notes)
        text = (
            "# Scaffold Check\n\n"
            f"{self.summary()}\n\n"
            "## Findings\n\n"
            "| Check | Result | Detail |\n|---|---|---|\n"
            f"{rows}\n\n"
            "## Proposed changes\n\n"
            f"{proposed}\n"
        )
        return text + (f"\n## Notes\n{notes}\n" if notes else "")


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def detect_test_command(repo: Path) -> tuple[str | None, str | None, list[str]]:
    """(command, source file, notes) — the first match in order of how explicit a project is."""
    notes: list[str] = []
    from bot.learn.adapters import read_test_command  # the repository's own adapter wins

    if (adapter := read_test_command(repo)) is not None:
        return adapter.command, adapter.source, notes
    for name in ("GNUmakefile", "makefile", "Makefile"):
        path = repo / name
        if path.is_file() and _MAKE_TEST_RE.search(path.read_text(encoding="utf-8", errors="replace")):
            return "make test", name, notes
    pyproject = repo / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            notes.append(f"pyproject.toml could not be read: {exc}")
        else:
            if "pytest" in data.get("tool", {}) or _mentions_pytest(data):
                return "pytest", "pyproject.toml", notes
    for name, section in (("pytest.ini", "pytest"), ("tox.ini", "pytest"), ("setup.cfg", "tool:pytest")):
        path = repo / name
        if path.is_file() and _has_ini_section(path, section):
            return "pytest", name, notes
    package = repo / "package.json"
    if package.is_file():
        try:
            scripts = json.loads(package.read_text(encoding="utf-8")).get("scripts") or {}
        except (json.JSONDecodeError, UnicodeDecodeError, AttributeError) as exc:
            notes.append(f"package.json could not be read: {exc}")
        else:
            test = scripts.get("test") if isinstance(scripts, dict) else None
            if isinstance(test, str) and test.strip() and _NPM_DEFAULT_TEST not in test:
                return "npm test", "package.json", notes
    if (repo / "go.mod").is_file():
        return "go test ./...", "go.mod", notes
    if (repo / "Cargo.toml").is_file():
        return "cargo test", "Cargo.toml", notes
    return None, None, notes


def _mentions_pytest(data: dict) -> bool:
    project = data.get("project", {})
    groups = [project.get("dependencies", [])]
    groups += list((project.get("optional-dependencies") or {}).values())
    groups += list((data.get("dependency-groups") or {}).values())
    return any(isinstance(d, str) and re.match(r"pytest\b", d) for group in groups for d in group or [])


def _has_ini_section(path: Path, section: str) -> bool:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(path.read_text(encoding="utf-8", errors="replace"))
    except configparser.Error:
        return False
    return parser.has_section(section)


def inspect_scaffold(repo_path: str | Path) -> ScaffoldReport:
    """Look at the repository and report what is there; reads only."""
    repo = Path(repo_path)
    is_repo = repo_top_level(repo) == repo.resolve()
    command, source, notes = detect_test_command(repo) if repo.is_dir() else (None, None, [])
    override = next((d for d in OVERRIDE_DIRS if (repo / d).is_dir()), None)
    return ScaffoldReport(
        is_git_repo=is_repo,
        has_commits=is_repo and has_commits(repo),
        has_tasks_dir=(repo / "tasks").is_dir(),
        has_docs_dir=(repo / "docs").is_dir(),
        has_index=(repo / INDEX_PATH).is_file(),
        has_schema=(repo / SCHEMA_PATH).is_file(),
        hook_installed=is_repo and hook_installed(repo),
        test_command=command,
        test_command_source=source,
        templates_override=override,
        notes=tuple(notes),
    )


@dataclass(frozen=True)
class ScaffoldResult:
    created: list[str]
    hook: Path | None
    commit: str | None


def _in_head(git: Git, rels: list[str]) -> set[str]:
    """Which of `rels` the main checkout's HEAD has (one git process for all of them)."""
    proc = git.run_full("ls-tree", "--name-only", "HEAD", "--", *rels, ok_codes=(0, 128))
    return set(proc.stdout.splitlines()) if proc.returncode == 0 else set()


def _left_by_a_crash(repo: Path, rel: str, text: str, in_head: Callable[[], set[str]]) -> bool:
    """Is this exactly the file an earlier attempt wrote and did not commit (the process died
    between the two)? A person's own file at the same path is never taken."""
    # The text first: it is read from disk, while the history is asked in a git process.
    path = repo / rel
    return path.is_file() and path.read_bytes() == text.encode("utf-8") and rel not in in_head()


def apply_scaffold(
    repo_path: str | Path, report: ScaffoldReport, git: Git, *, effect_key: str | None = None
) -> ScaffoldResult:
    """Create what the approved report found missing (never overwriting a file) and commit it.

    With `effect_key` the commit carries `Orch-Effect: <key>` and a second call returns at once.
    """
    repo = Path(repo_path).resolve()
    if repo != git.root:
        raise ValueError("repo_path and git point at different repositories")
    trailers = {"Orch-Effect": effect_key} if effect_key else {}
    with git.lock():
        if effect_key and (done := git.find_commit_by_trailer("Orch-Effect", effect_key)):
            return ScaffoldResult(created=[], hook=None, commit=done)
        created: list[str] = []
        wanted = set(report.missing)
        files = {
            "tasks": ("tasks/README.md", TASKS_README),
            "docs": ("docs/README.md", DOCS_README),
            "index": (INDEX_PATH, dump_index(IndexFile())),
        }
        asked: list[set[str]] = []

        def in_head() -> set[str]:
            if not asked:
                asked.append(_in_head(git, [rel for rel, _ in files.values()] + [SCHEMA_PATH]))
            return asked[0]

        for key, (rel, text) in files.items():
            git.relpath(rel)  # refuse a tasks/ or docs/ symlink that leads out of the repository
            if (repo / rel).exists():
                # Written by an attempt that died before its commit: a retry's fresh inspection no
                # longer reports it missing, but it still has to be committed.
                if _left_by_a_crash(repo, rel, text, in_head):
                    created.append(rel)
            elif key in wanted:
                write_atomic(repo / rel, text)
                created.append(rel)
        git.relpath(SCHEMA_PATH)
        if (repo / SCHEMA_PATH).exists():
            if _left_by_a_crash(repo, SCHEMA_PATH, schema_text(), in_head):
                created.append(SCHEMA_PATH)
        elif "schema" in wanted:
            write_schema(repo)
            created.append(SCHEMA_PATH)
        hook = install_hooks(repo) if "hook" in wanted else None
        sha = git.commit(created, "orch: scaffold tasks/ and docs/", trailers) if created else None
    return ScaffoldResult(created=created, hook=hook, commit=sha)
