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
) -> None:
    """Check approved artifacts against the files, the mini-spec rule and review age."""
    from bot.sop.spec_guard import check_report

    with _errors():
        report = check_report(repo, max_age_days=max_age_days, now=_moment(now))
    counts = f"{report.goals_checked} goals, {report.artifacts_checked} artifacts checked"
    if not report.problems:
        typer.echo(f"spec-guard: {counts}, no problems")
        return
    for problem in report.problems:
        typer.echo(str(problem))
    typer.echo(f"spec-guard: {counts}, {len(report.problems)} problem(s)", err=True)
    raise typer.Exit(1)


def _moment(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        _fail(f"--now {text!r} is not an ISO 8601 date or date-time (e.g. 2026-12-25 or 2026-12-25T09:00Z)")
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def install_hooks_command(repo: RepoOption = Path(".")) -> None:
    """Install the spec-guard pre-commit hook (an existing hook is kept and runs first)."""
    from bot.sop.spec_guard import install_hooks

    with _errors():
        hook = install_hooks(repo)
    typer.echo(f"installed {hook.name} hook in {hook.parent.name}/")


def import_taskmaster_command(
    file: Annotated[Path, typer.Argument(help="Task Master tasks.json to read.")],
    repo: RepoOption = Path("."),
    goal: GoalOption = None,
    tag: Annotated[str | None, typer.Option("--tag", help="Tag to import (default: master).")] = None,
) -> None:
    """Replace a goal's tasks in tasks/index.json with those of a Task Master file."""
    from bot.sop.index import load_index, save_index
    from bot.sop.taskmaster import read_taskmaster

    with _errors():
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            _fail(f"{file.name} is not valid JSON: {exc}")
        doc = read_taskmaster(data, tag)
        index = load_index(repo)
        record = _goal(index, goal)
        index.upsert(record.model_copy(update={"tasks": doc.tasks, "updated": datetime.now(UTC)}))
        save_index(repo, index)
    typer.echo(f"imported {len(doc.tasks)} tasks into {record.id} (tasks/index.json); commit when ready")


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
    """Add `spec-guard`, `install-hooks` and `tasks import-taskmaster|export-taskmaster`."""
    commands: dict[str, Callable[..., None]] = {
        "spec-guard": spec_guard_command,
        "install-hooks": install_hooks_command,
    }
    for name, func in commands.items():
        app.command(name)(func)
    tasks_app = typer.Typer(help="Task lists: Task Master import and export.", no_args_is_help=True)
    tasks_app.command("import-taskmaster")(import_taskmaster_command)
    tasks_app.command("export-taskmaster")(export_taskmaster_command)
    app.add_typer(tasks_app, name="tasks")
