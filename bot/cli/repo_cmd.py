"""CLI commands for the repository side: spec guard, hooks, Task Master import and export.

`register(app)` adds them to the main Typer app. Bad input ends with a one-line message on
stderr and exit code 2; a failing spec guard exits 1 after listing each problem.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

if TYPE_CHECKING:
    # The index, its pydantic models and the spec guard (jsonschema) are imported by the commands
    # themselves: `orch --help` and the other commands must not pay for them.
    from bot.sop.records import GoalRecord, IndexFile

RepoOption = Annotated[Path, typer.Option("--repo", help="The target repository (default: here).")]
GoalOption = Annotated[
    str | None, typer.Option("--goal", help="Goal id, e.g. G-0001 (optional when there is one goal).")
]


def _expected() -> tuple[type[Exception], ...]:
    """The errors bad input can cause (imported here, when a command runs)."""
    from bot.repo.errors import GitError, UnsafeInputError
    from bot.sop.index import IndexFileError
    from bot.sop.taskmaster import TaskmasterFormatError

    return (GitError, UnsafeInputError, IndexFileError, TaskmasterFormatError, OSError, ValueError)


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def _errors() -> Iterator[None]:
    """Turn the errors bad input can cause into a message instead of a traceback."""
    expected = _expected()
    try:
        yield
    except expected as exc:
        _fail(str(exc) or type(exc).__name__)


def _goal(index: IndexFile, goal_id: str | None) -> GoalRecord:
    if goal_id is not None:
        goal = index.goal(goal_id.upper())
        if goal is None:
            _fail(f"no goal {goal_id} in tasks/index.json")
        return goal
    if len(index.goals) == 1:
        return index.goals[0]
    known = ", ".join(g.id for g in index.goals) or "none"
    _fail(f"name the goal with --goal (goals: {known})")


def spec_guard_command(
    repo: RepoOption = Path("."),
    max_age_days: Annotated[
        int, typer.Option("--max-age-days", min=1, help="Oldest acceptable review.")
    ] = 30,
    now: Annotated[
        str | None,
        typer.Option(
            "--now",
            help="Check as of this moment (ISO 8601 date or date-time, UTC unless a zone is given): "
            "what would go stale by then.",
        ),
    ] = None,
    staged: Annotated[
        bool, typer.Option("--staged", help="Check what is being committed (git's index), not the work tree.")
    ] = False,
    commits: Annotated[
        str | None,
        typer.Option(
            "--range",
            help="Also check each commit of BASE..HEAD (a push or pull request) and the tree at its head.",
        ),
    ] = None,
    allow_empty: Annotated[
        bool, typer.Option("--allow-empty", help="Pass a repository that has no tasks/index.json yet.")
    ] = False,
) -> None:
    """Check approved artifacts against the files, the mini-spec rule and review age."""
    from bot.repo.git import repo_top_level
    from bot.sop.spec_guard import STAGED, Tree, check_report

    if staged and commits:
        _fail("--staged checks a commit being made, --range commits already made: use one")
    top = repo_top_level(repo)
    if top is None:
        _fail(
            f"{repo} is not inside a git repository: point --repo at the repository that holds tasks/index.json"
        )
    if top != repo.resolve():
        _fail(f"{repo} is not the top level of its repository ({top.name} is): point --repo at {top}")
    moment = _moment(now)
    with _errors():
        tree = Tree(top, STAGED if staged else None)
        heads: list[str] = []
        if commits:
            head, heads = _range_heads(top, commits)
            tree = Tree(top, head)
        if tree.index() is None:
            if allow_empty:
                typer.echo(f"spec-guard: no tasks/index.json in {tree.describe()}, nothing to check")
                return
            _fail(
                f"no tasks/index.json in {tree.describe()} of {top.name}: this repository has no goals yet, "
                "or --repo points at the wrong folder (pass --allow-empty where that is expected)"
            )
        report = check_report(top, max_age_days=max_age_days, now=moment, rev=tree.rev)
        problems = [str(p) for p in report.problems]
        for sha in heads:
            if sha == tree.rev:
                continue  # the head was checked above, review age included
            past = check_report(top, max_age_days=max_age_days, now=moment, rev=sha, fresh=False)
            problems += [f"{sha[:12]}: {p}" for p in past.problems]
        problems += _signature_problems(top, tree.rev)
    counts = f"{report.goals_checked} goals, {report.artifacts_checked} artifacts checked"
    if commits:
        counts += f", {len(heads)} commit(s)"
    if not problems:
        typer.echo(f"spec-guard: {counts}, no problems")
        return
    for problem in problems:
        typer.echo(problem)
    typer.echo(f"spec-guard: {counts}, {len(problems)} problem(s)", err=True)
    raise typer.Exit(1)


def _signature_problems(top: Path, rev: str | None) -> list[str]:
    """With `.orch/allowed_signers` in the repository: who wrote tasks/ (bot/repo/signing.py)."""
    from bot.repo.signing import check_history, staged_edits
    from bot.sop.spec_guard import STAGED

    if rev == STAGED:
        return [str(p) for p in staged_edits(top)]
    return [str(p) for p in check_history(top, rev or "HEAD")]


MAX_RANGE = 1000  # commits checked one by one at most; a longer push is checked at its head only


def _rev(top: Path, rev: str) -> str:
    from bot.repo.errors import GitError
    from bot.repo.git import run_in

    proc = run_in(top, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", ok_codes=(0, 1, 128))
    if proc.returncode != 0:
        raise GitError(f"{rev!r} is not a commit in {top.name}")
    return proc.stdout.strip()


def _range_heads(top: Path, commits: str) -> tuple[str, list[str]]:
    """The head of BASE..HEAD and its commits, newest first (`BASE..` means up to HEAD)."""
    from bot.repo.git import run_in

    base, dots, head = commits.partition("..")
    if not dots or not base or head.startswith("."):
        _fail(f"--range {commits!r} is not BASE..HEAD (e.g. origin/main..HEAD)")
    base_sha, head_sha = _rev(top, base), _rev(top, head or "HEAD")
    out = run_in(top, "rev-list", f"--max-count={MAX_RANGE}", f"{base_sha}..{head_sha}").stdout
    return head_sha, out.split()


def _moment(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        _fail(f"--now {text!r} is not an ISO 8601 date or date-time (e.g. 2026-12-25 or 2026-12-25T09:00Z)")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def install_hooks_command(
    repo: RepoOption = Path("."),
    python: Annotated[
        str | None,
        typer.Option("--python", help="Interpreter the hook runs the guard with (default: this one)."),
    ] = None,
) -> None:
    """Install the spec-guard pre-commit hook (an existing hook is kept and runs first).

    The hook records the interpreter that has Codex-Orchestrator installed, so it works without
    `orch` on PATH (in an IDE, a GUI client, another virtualenv)."""
    from bot.sop.spec_guard import install_hooks

    with _errors():
        hook = install_hooks(repo, python=python)
    typer.echo(f"installed {hook.name} hook in {hook.parent.name}/")


def install_ci_command(
    repo: RepoOption = Path("."),
    force: Annotated[
        bool, typer.Option("--force", help="Replace a workflow file that is already there.")
    ] = False,
    package: Annotated[
        str | None,
        typer.Option("--package", help="What the workflow pip-installs (default: this version from PyPI)."),
    ] = None,
) -> None:
    """Write a GitHub Actions workflow that runs the spec guard on every push and pull request."""
    from bot.sop.ci_workflow import DEFAULT_PACKAGE, WORKFLOW_PATH, write_workflow

    if package is not None and (not package.strip() or any(c in package for c in '"\n\r`$')):
        _fail("--package is one pip requirement, e.g. codex-orchestrator==0.1.0 or a git+https URL")
    with _errors():
        written = write_workflow(repo, force=force, package=package or DEFAULT_PACKAGE)
    if not written:
        _fail(f"{WORKFLOW_PATH} exists; pass --force to replace it")
    typer.echo(f"wrote {WORKFLOW_PATH}; commit it (docs/SPEC_GUARD.md shows the same step for other CIs)")


def import_taskmaster_command(
    file: Annotated[Path, typer.Argument(help="Task Master tasks.json to read.")],
    repo: RepoOption = Path("."),
    goal: GoalOption = None,
    tag: Annotated[str | None, typer.Option("--tag", help="Tag to import (default: master).")] = None,
    as_user: Annotated[str, typer.Option("--as", help="Who proposes the import (audited).")] = "cli:local",
) -> None:
    """Propose a Task Master file as the goal's next Task List version (approved like any draft).

    tasks/index.json is not written: the bot commits the tasks once an approver approves them."""
    from bot.cli import _container, _drain, _run_service
    from bot.intake import clean
    from bot.services.task_import import propose_import
    from bot.sop.index import load_index
    from bot.sop.taskmaster import read_taskmaster

    with _errors():
        try:
            # A file handed to a command is input like its arguments: redacted before it is kept.
            data = clean(json.loads(file.read_text(encoding="utf-8")))
        except json.JSONDecodeError as exc:
            _fail(f"{file.name} is not valid JSON: {exc}")
        doc = read_taskmaster(data, tag)
        record = _goal(load_index(repo), goal)
    c = _container(repo=repo.resolve())
    artifact, changes = _run_service(
        propose_import, goals=c.goals, goal_id=record.id, tasks=doc.tasks, source=file.name, actor=as_user
    )
    _drain(c)
    typer.echo(
        f"proposed Task List v{artifact.version} of {record.id} from {file.name} "
        f"({len(doc.tasks)} tasks, {len(changes)} change(s)); it waits for approval"
    )


def export_taskmaster_command(
    repo: RepoOption = Path("."),
    goal: GoalOption = None,
    output: Annotated[
        Path | None, typer.Option("--output", help="Write here (other tags of an existing file are kept).")
    ] = None,
    tag: Annotated[str, typer.Option("--tag", help="Tag to write.")] = "master",
) -> None:
    """Print (or write) a goal's tasks as Task Master JSON."""
    from bot.sop.index import load_index, write_atomic
    from bot.sop.taskmaster import export_taskmaster

    with _errors():
        record = _goal(load_index(repo), goal)
        existing: dict[str, Any] | None = None
        if output is not None and output.exists():
            try:
                existing = json.loads(output.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                _fail(f"{output.name} exists and is not valid JSON: {exc}")
            if not isinstance(existing, dict):
                _fail(f"{output.name} exists and is not a Task Master file")
        legacy = existing is not None and isinstance(existing.get("tasks"), list)
        metadata = _metadata(record, existing, tag, legacy)
        data = export_taskmaster(record.tasks, tag, metadata, legacy=legacy, into=existing)
        text = json.dumps(data, indent=2, ensure_ascii=False)
        if output is None:
            typer.echo(text)
            return
        write_atomic(output, text + "\n")
    typer.echo(f"wrote {len(record.tasks)} tasks of {record.id} to {output.name}", err=True)


def _metadata(
    record: GoalRecord, existing: dict[str, Any] | None, tag: str, legacy: bool
) -> dict[str, Any] | None:
    """Keep the metadata Task Master wrote; otherwise describe the goal (legacy files had none)."""
    body = existing if legacy else (existing or {}).get(tag)
    if isinstance(body, dict) and isinstance(body.get("metadata"), dict):
        return body["metadata"]
    if legacy:
        return None

    def stamp(moment: datetime) -> str:
        return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    return {
        "created": stamp(record.created),
        "updated": stamp(record.updated),
        "description": f"Tasks of {record.id}: {record.title}",
    }


def register(app: typer.Typer) -> None:
    """Add `spec-guard`, `install-hooks`, `install-ci` and `tasks import-taskmaster|export-taskmaster`."""
    commands: dict[str, Callable[..., None]] = {
        "spec-guard": spec_guard_command,
        "install-hooks": install_hooks_command,
        "install-ci": install_ci_command,
    }
    for name, func in commands.items():
        app.command(name)(func)
    tasks_app = typer.Typer(help="Task lists: Task Master import and export.", no_args_is_help=True)
    tasks_app.command("import-taskmaster")(import_taskmaster_command)
    tasks_app.command("export-taskmaster")(export_taskmaster_command)
    app.add_typer(tasks_app, name="tasks")
