"""The `orch` command. Heavy imports happen inside commands so `orch --help` stays fast.

Importing this module (and every `bot/cli/<area>_cmd.py`) must not import the database, Slack, agent or
scheduler libraries, nor asyncio: `tests/unit/test_cli_lazy_imports.py` checks it.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot import __version__

if TYPE_CHECKING:
    from bot.app import Container

app = typer.Typer(
    help="Codex-Orchestrator: gated, audited delivery of coding goals from Slack.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
goal_app = typer.Typer(
    help="Work with goals without Slack (the same services the Slack handlers call).", no_args_is_help=True
)
app.add_typer(goal_app, name="goal")


def fail(message: str, code: int = 1) -> None:
    typer.secho(message, err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def _settings(**overrides: Any) -> Any:
    from bot.config import ConfigError, load_settings

    try:
        return load_settings(**overrides)
    except ConfigError as exc:
        fail(f"configuration error: {exc}", 2)


def _container(**overrides: Any) -> Container:
    from bot.app import build_container
    from bot.observability.logging import configure_logging

    settings = _settings(**overrides)
    configure_logging(settings.log_level, json_logs=False)
    container = build_container(settings)
    # A previous run may have died between its database commit and its git commit: finish what
    # it left in the outbox first (each effect is idempotent), so every command starts clean.
    try:
        _drain(container)
    except TimeoutError:
        typer.secho("warning: some pending effects are still running; they will be retried", err=True)
    return container


def _drain(container: Container) -> None:
    import asyncio

    asyncio.run(container.dispatcher.drain(timeout=120))


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"orch {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Codex-Orchestrator."""


@app.command()
def serve(
    role: Annotated[
        str,
        typer.Option(
            help="all: one process does everything. web: answer Slack only and leave the work to "
            "`orch worker` (for heavy load; both need the same database)."
        ),
    ] = "all",
) -> None:
    """Run the bot: Slack requests at POST /slack/events (or Socket Mode), health at GET /healthz."""
    from bot.config import ConfigError
    from bot.web.serve import run_server

    if role not in ("all", "web"):
        fail(f"--role is `all` or `web`, not `{role}` (the work runs in `orch worker`)", 2)
    settings = _settings()
    try:
        settings.require_slack()
    except ConfigError as exc:
        fail(f"cannot serve: {exc}", 2)
    run_server(settings, role="web" if role == "web" else "all")


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Requests handled at once.")] = 8,
) -> None:
    """Do the work of `orch serve --role web`: its requests, the effects, the jobs and the scheduler."""
    from bot.config import ConfigError
    from bot.web.inbox_worker import run_worker

    settings = _settings()
    try:
        settings.require_slack()
    except ConfigError as exc:
        fail(f"cannot work: {exc}", 2)
    if settings.database_url.startswith("sqlite") and ":memory:" in settings.database_url:
        fail("a worker shares its database with `orch serve --role web`: use a file or PostgreSQL", 2)
    run_worker(settings, concurrency=concurrency)


@app.command()
def sandbox(
    port: Annotated[int, typer.Option(help="Port of the sandbox workspace.")] = 3001,
    bot_port: Annotated[int, typer.Option(help="Port of the bot.")] = 3000,
) -> None:
    """Start the local Slack sandbox and the bot together, with seeded users and channels."""
    from bot.local.stack import run_sandbox

    run_sandbox(port=port, bot_port=bot_port)


@app.command()
def demo(
    walkthrough: Annotated[
        bool,
        typer.Option(
            "--walkthrough",
            help="Run the scripted walkthrough and exit "
            "(the default when stdin is not a terminal or CI=true).",
        ),
    ] = False,
    port: Annotated[int, typer.Option(help="Port of the sandbox web page.")] = 3001,
) -> None:
    """Open the sandbox web page with the bot (seeded people and channels) until Ctrl-C."""
    from bot.local.demo import run_demo

    sys.exit(run_demo(walkthrough=True if walkthrough else None, port=port))


@app.command()
def doctor() -> None:
    """Check configuration and connectivity; never prints a secret."""
    from bot.cli.doctor import run_doctor

    ok = run_doctor(_settings())
    raise typer.Exit(0 if ok else 1)


# -- goals without Slack -----------------------------------------------------------------------


def _goal_summary(goal: Any) -> dict[str, Any]:
    return {
        "id": goal.id,
        "title": goal.title,
        "phase": goal.phase,
        "status": goal.status,
        "state": goal.state,
        "requester": goal.requester,
        "spec_required": goal.spec_required,
        "mode": goal.mode,
    }


def _run_service(fn: Any, **kwargs: Any) -> Any:
    from bot.services.errors import ServiceError

    try:
        return fn(**kwargs)
    except ServiceError as exc:
        fail(str(exc))


@goal_app.command("start")
def goal_start(
    brief: Annotated[str, typer.Argument(help="What should be built.")],
    as_user: Annotated[
        str, typer.Option("--as", help="Who is asking (a Slack user id or a name).")
    ] = "cli:local",
    title: Annotated[str | None, typer.Option(help="Title; derived from the brief when omitted.")] = None,
) -> None:
    """Start a goal."""
    from bot.cli.identity import cli_actor

    c = _container()
    goal = _run_service(c.goals.start_goal, brief=brief, actor=cli_actor(as_user), title=title, source="cli")
    _drain(c)
    goal = c.goals.get(goal.id)
    typer.echo(f"{goal.id} started: {goal.title} ({goal.phase}, {goal.status.replace('_', ' ')})")


@goal_app.command("list")
def goal_list(json_out: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List goals, newest first."""
    c = _container()
    goals = c.goals.list(limit=200)
    if json_out:
        typer.echo(json.dumps([_goal_summary(g) for g in goals], indent=2))
        return
    for g in goals:
        typer.echo(f"{g.id}  {g.phase:<15} {g.status if g.state == 'active' else g.state:<18} {g.title}")
    if not goals:
        typer.echo('no goals yet: orch goal start "<brief>"')


@goal_app.command("show")
def goal_show(goal_id: str, json_out: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show a goal and its current artifact."""
    from bot.services.queries import goal_details

    c = _container()
    details = _run_service(goal_details, container=c, goal_id=goal_id.upper())
    if json_out:
        typer.echo(json.dumps(details, indent=2, default=str))
        return
    typer.echo(details["text"])


def _decide(goal_id: str, as_user: str, decision: str, reason: str | None) -> None:
    from bot.cli.identity import cli_actor

    c = _container()
    outcome = _run_service(
        c.goals.decide,
        goal_id=goal_id.upper(),
        phase=None,
        sha256=None,
        decision=decision,
        actor=cli_actor(as_user),
        reason=reason,
    )
    _drain(c)
    goal = c.goals.get(goal_id.upper())
    verb = {"approve": "approved", "request_changes": "changes requested on", "reject": "rejected"}[decision]
    what = f"{outcome.phase} v{outcome.version}"
    if outcome.version == 0:  # no artifact: the phase's failed draft or build runs again with the feedback
        what = f"the failed {outcome.phase} work, which runs again"
    typer.echo(
        f"{goal.id}: {verb} {what}; now {goal.phase} "
        f"({goal.status.replace('_', ' ') if goal.state == 'active' else goal.state})"
    )


AsUser = Annotated[str, typer.Option("--as", help="The approver (a Slack user id listed in ORCH_APPROVERS).")]


@goal_app.command("approve")
def goal_approve(goal_id: str, as_user: AsUser) -> None:
    """Approve the current artifact version of a goal."""
    _decide(goal_id, as_user, "approve", None)


@goal_app.command("request-changes")
def goal_request_changes(
    goal_id: str, as_user: AsUser, feedback: Annotated[str, typer.Option(help="What to change.")]
) -> None:
    """Request changes: a new draft version is written with the feedback."""
    _decide(goal_id, as_user, "request_changes", feedback)


@goal_app.command("reject")
def goal_reject(goal_id: str, as_user: AsUser, reason: Annotated[str, typer.Option(help="Why.")]) -> None:
    """Reject: the goal stops at this phase."""
    _decide(goal_id, as_user, "reject", reason)


@goal_app.command("cancel")
def goal_cancel(
    goal_id: str,
    as_user: Annotated[str, typer.Option("--as")] = "cli:local",
    reason: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Cancel a goal."""
    from bot.cli.identity import cli_actor

    c = _container()
    goal = _run_service(c.goals.cancel, goal_id=goal_id.upper(), actor=cli_actor(as_user), reason=reason)
    _drain(c)
    typer.echo(f"{goal.id} cancelled")


def _engine() -> Any:
    from bot.audit_key_source import load_keyring
    from bot.config import ConfigError
    from storage.audit_keys import bind_keyring
    from storage.db import make_engine
    from storage.migrate import upgrade

    settings = _settings()
    eng = make_engine(settings.database_url)
    try:
        bind_keyring(eng, load_keyring(settings))
    except ConfigError as exc:
        fail(f"configuration error: {exc}", 2)
    upgrade(eng)
    return eng


# Each area of the product adds its commands from its own module `bot/cli/<area>_cmd.py`, which has
# `register(app)` (or `register(app, get_engine)` when it needs the database).
EXTENSIONS = (
    "repo_cmd",
    "audit_cmd",
    "spec_cmd",
    "jobs_cmd",
    "agents_cmd",
    "learn_cmd",
    "repair_cmd",
    "effects_cmd",
)


def _register_extensions() -> None:
    import importlib
    import importlib.util
    import inspect

    for name in EXTENSIONS:
        if importlib.util.find_spec(f"bot.cli.{name}") is None:
            continue
        module = importlib.import_module(f"bot.cli.{name}")
        params = inspect.signature(module.register).parameters
        if len(params) >= 2:
            module.register(app, _engine)
        else:
            module.register(app)


_register_extensions()


def main() -> None:
    # Arguments are input like any other: a secret typed into `--feedback` or a brief is redacted
    # before any command sees it (bot.intake).
    from bot.intake import clean_argv
    from bot.redact import redact, redact_obj
    from storage.redaction import bind_redactor

    # Commands that write the audit log without a container (e.g. `orch audit ...`) redact like it.
    bind_redactor(redact, redact_obj)
    app(args=clean_argv(sys.argv)[1:])
