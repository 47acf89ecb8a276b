"""`orch effects list|retry`: what the outbox did, what failed, and re-running it (audited)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer


def _build() -> Any:
    """A container without draining first: listing must show what is pending, not run it."""
    from bot.app import build_container
    from bot.cli import _settings

    return build_container(_settings())


def register(app: typer.Typer) -> None:
    effects_app = typer.Typer(
        help="The outbox: Slack posts, commits and merges, their retries and failures.", no_args_is_help=True
    )

    @effects_app.command("list")
    def effects_list(
        status: Annotated[
            str | None, typer.Option(help="pending, waiting (pending after a failure), done or failed.")
        ] = None,
        goal: Annotated[str | None, typer.Option(help="Only this goal's effects.")] = None,
        limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
        json_out: Annotated[bool, typer.Option("--json")] = False,
    ) -> None:
        """List effects, newest first."""
        from bot.cli import fail
        from bot.services.effects import effects_service

        if status not in (None, "pending", "waiting", "done", "failed"):
            fail(f"unknown status {status!r}: use pending, waiting, done or failed", 2)
        c = _build()
        rows = effects_service(c).find(status=status, goal_id=goal.upper() if goal else None, limit=limit)
        if json_out:
            typer.echo(json.dumps([r.model_dump(mode="json") for r in rows], indent=2, default=str))
            return
        for r in rows:
            shown = "waiting" if r.status == "pending" and r.failing_since else r.status
            line = f"#{r.id:<6} {shown:<8} {r.goal_id or '-':<8} {r.kind:<24} attempts {r.attempts}"
            if r.not_before and r.status == "pending":
                line += f"  next {r.not_before:%Y-%m-%d %H:%M:%S}Z"
            if r.last_error and r.status != "done":
                line += f"\n        {r.last_error[:200]}"
            typer.echo(line)
        if not rows:
            typer.echo("no effects")

    @effects_app.command("retry")
    def effects_retry(
        effect_id: Annotated[
            int | None, typer.Argument(help="The effect to re-run (`orch effects list`).")
        ] = None,
        goal: Annotated[
            str | None, typer.Option(help="Re-run every failed or waiting effect of this goal.")
        ] = None,
        as_user: Annotated[str, typer.Option("--as", help="Who retries (audited).")] = "cli:local",
    ) -> None:
        """Re-run a failed effect (or a goal's failed and waiting ones) now, then carry them out."""
        from bot.cli import _drain, _run_service, fail
        from bot.services.effects import effects_service
        from bot.services.unit import Actor

        if (effect_id is None) == (goal is None):
            fail("give one effect id or --goal G-0001", 2)
        c = _build()
        rows = _run_service(
            effects_service(c).retry,
            actor=Actor(as_user),
            effect_id=effect_id,
            goal_id=goal.upper() if goal else None,
        )
        typer.echo(f"{len(rows)} step(s) put back: " + ", ".join(f"{r.what} #{r.id} {r.kind}" for r in rows))
        try:
            _drain(c)
        except TimeoutError:
            typer.secho("some effects are still pending; `orch effects list` shows them", err=True)
        ids = {r.id for r in rows if r.what == "effect"}
        left = [r for r in effects_service(c).find(status="failed", limit=1000) if r.id in ids]
        if left:
            fail(f"{len(left)} effect(s) failed again: `orch effects list --status failed`")

    app.add_typer(effects_app, name="effects")
