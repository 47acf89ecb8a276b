"""`orch digest`, `orch jobs`, `orch rerequest`: the scheduler's side, from the command line."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer


def _build(**overrides: Any) -> Any:
    """A container without draining the outbox first: a dry run must not send anything."""
    from bot.app import build_container
    from bot.cli import _settings

    return build_container(_settings(**overrides))


def _jobs(c: Any) -> Any:
    """The jobs runtime `build_container` installs."""
    assert c.jobs is not None
    return c.jobs


def register(app: typer.Typer) -> None:
    jobs_app = typer.Typer(help="Agent jobs: what is queued, running, done or failed.", no_args_is_help=True)

    @app.command("digest")
    def digest(
        channel: Annotated[str, typer.Option("--channel", help="The Slack channel id (C…).")],
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="Print the digest instead of posting it.")
        ] = False,
        json_out: Annotated[
            bool, typer.Option("--json", help="With --dry-run: print the Block Kit JSON.")
        ] = False,
    ) -> None:
        """Build a channel's daily digest now; post it, or print it with --dry-run."""
        from bot.blocks.digest import digest_as_text
        from bot.cli.identity import cli_actor
        from bot.jobs.digest import gather

        c = _build()
        runtime = _jobs(c)
        if dry_run:
            found = gather(runtime.deps(), channel=channel, now=c.clock())
            if json_out:
                typer.echo(
                    json.dumps(
                        {"blocks": found.blocks, "text": found.text, "file": found.file_text}, indent=2
                    )
                )
                return
            typer.echo(digest_as_text(found.blocks), nl=False)
            if found.file_text:
                typer.echo(
                    f"(the full digest, {len(found.file_text.splitlines())} lines, is attached as a file)"
                )
            return
        if c.slack is None:
            from bot.cli import fail

            fail("cannot post without SLACK_BOT_TOKEN; use --dry-run to print the digest")
        runtime.post_digest(channel, actor=cli_actor("cli:digest"))
        from bot.cli import _drain

        _drain(c)
        typer.echo(f"digest posted to {channel}")

    @jobs_app.command("list")
    def jobs_list(
        status: Annotated[
            str | None, typer.Option(help="queued, running, succeeded, failed or cancelled.")
        ] = None,
        goal: Annotated[str | None, typer.Option(help="Only this goal's jobs.")] = None,
        json_out: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """List agent jobs, newest first."""
        from storage.db import read_session
        from storage.repositories import Jobs

        c = _build()
        with read_session(c.engine) as session:
            rows = Jobs(session).newest(status=status, goal_id=goal.upper() if goal else None, limit=200)
        if json_out:
            typer.echo(json.dumps([r.model_dump(mode="json") for r in rows], indent=2, default=str))
            return
        for r in rows:
            typer.echo(
                f"#{r.id:<5} {r.status:<10} {r.goal_id or '-':<8} attempt {r.attempts}/{r.max_attempts}  "
                f"{r.description or r.kind}"
            )
        if not rows:
            typer.echo("no jobs")

    @app.command("rerequest")
    def rerequest(
        goal_id: str,
        as_user: Annotated[str, typer.Option("--as", help="The requester or an approver.")] = "cli:local",
    ) -> None:
        """Request an expired approval again (the same content as the next version), or run a
        failed draft or build again."""
        from bot.cli import _drain, _run_service
        from bot.cli.identity import cli_actor

        c = _build()
        from bot.jobs.recovery import rerequest_text

        result = _run_service(_jobs(c).rerequest, goal_id=goal_id.upper(), actor=cli_actor(as_user))
        _drain(c)
        typer.echo(rerequest_text(result))

    app.add_typer(jobs_app, name="jobs")
