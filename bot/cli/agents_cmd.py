"""Agent-runtime commands: `orch mcp`, `orch runs show`, `orch goals run-parallel`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer


def _settings() -> Any:
    from bot.cli import _settings as settings

    return settings()


def register(app: typer.Typer, get_engine: Any = None) -> None:
    runs_app = typer.Typer(help="Agent run records (.runs/<run-id>/).", no_args_is_help=True)
    goals_app = typer.Typer(help="Work with several goals at once.", no_args_is_help=True)
    app.add_typer(runs_app, name="runs")
    app.add_typer(goals_app, name="goals")

    @app.command("mcp")
    def mcp() -> None:
        """Serve the orchestrator's MCP server on stdio (goals, artifacts, approvals, audit, Codex)."""
        from bot.agent_api.mcp_server import build_mcp_server
        from bot.observability.logging import configure_logging

        def build_container(settings: Any) -> Any:
            from bot.app import build_container as build

            return build(settings)

        settings = _settings()
        configure_logging(settings.log_level, json_logs=True)  # to stderr: stdout carries the protocol
        # The container (database, repositories) is built on the first tool call, not before
        # `initialize`: clients such as Codex give a server about a second to answer.
        build_mcp_server(lambda: build_container(settings)).run("stdio")

    @runs_app.command("usage")
    def runs_usage(goal_id: str) -> None:
        """Token usage of a goal's agent runs, summed, and its cost from the price table (`prices`)."""
        from bot.observability.runs import runs_dir_for
        from bot.observability.usage import goal_usage

        settings = _settings()
        typer.echo(goal_usage(runs_dir_for(settings), goal_id.strip().upper(), settings.prices).line())

    @runs_app.command("show")
    def runs_show(
        run_id: str,
        json_out: Annotated[bool, typer.Option("--json", help="Print the record as JSON.")] = False,
    ) -> None:
        """Print one run record: metadata, transcript, test output and diff."""
        import json

        from bot.cli import fail
        from bot.observability.runs import RunNotFound, format_run, load_run, runs_dir_for

        try:
            record = load_run(runs_dir_for(_settings()), run_id.strip())
        except RunNotFound as exc:
            fail(str(exc))
            return
        typer.echo(json.dumps(record, indent=2) if json_out else format_run(record))

    @goals_app.command("run-parallel")
    def run_parallel(
        file: Annotated[
            Path, typer.Argument(help="A YAML or JSON list of briefs.", exists=True, dir_okay=False)
        ],
        as_user: Annotated[str, typer.Option("--as", help="Who asks for the goals.")] = "cli:parallel",
        approve_as: Annotated[
            str | None,
            typer.Option(
                "--approve-as", help="Approve every gate as this approver (must be in ORCH_APPROVERS)."
            ),
        ] = None,
        workers: Annotated[
            int | None, typer.Option(help="Concurrent goals (default ORCH_MAX_PARALLEL_JOBS).")
        ] = None,
    ) -> None:
        """Start the goals of FILE concurrently and report their progress."""
        from bot.cli import _container, fail
        from bot.cli.parallel import load_briefs
        from bot.cli.parallel import run_parallel as run

        try:
            briefs = load_briefs(file)
        except (ValueError, OSError) as exc:
            fail(f"cannot read briefs: {exc}")
            return
        c = _container()
        typer.echo(f"starting {len(briefs)} goals")
        outcomes = run(c, briefs, as_user=as_user, approve_as=approve_as, workers=workers, report=typer.echo)
        failed = [o for o in outcomes if o.error]
        finished = sum(1 for o in outcomes if o.state == "done")
        typer.echo(
            f"{len(outcomes)} goals: {finished} done, {len(outcomes) - finished - len(failed)} waiting, "
            f"{len(failed)} failed"
        )
        raise typer.Exit(1 if failed else 0)
