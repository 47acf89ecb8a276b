"""`orch repair --from-repo`: rebuild the database from what the target repository records.

When the database is lost, the repository still holds every goal's state of record
(`tasks/index.json`, the canonical files and the commit history). The repair restores the goals
the database lacks, with their artifacts and decisions, audited; `orch doctor` says when it is due.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def repair_command(
    from_repo: Annotated[
        bool, typer.Option("--from-repo", help="Restore goals, artifacts and approvals from the repository.")
    ] = False,
    repo: Annotated[
        Path | None, typer.Option("--repo", help="The target repository (default: ORCH_REPO).")
    ] = None,
    as_user: Annotated[str, typer.Option("--as", help="Who runs the repair (audited).")] = "cli:local",
) -> None:
    """Rebuild what the database lost from the target repository (audited)."""
    from bot.cli import _container, _drain, _run_service, fail
    from bot.services.repair import repair_from_repo
    from bot.services.unit import Actor

    if not from_repo:
        fail("say what to repair from: --from-repo", 2)
    overrides = {"repo": repo.resolve()} if repo is not None else {}
    c = _container(**overrides)
    report = _run_service(
        repair_from_repo, engine=c.engine, repo=c.settings.repo, actor=Actor(as_user), clock=c.clock
    )
    _drain(c)
    at = f" at {report.commit[:12]}" if report.commit else ""
    if report.restored:
        typer.echo(f"restored {', '.join(report.restored)} from the repository{at}")
    if report.known:
        typer.echo(f"already in the database, left alone: {', '.join(report.known)}")
    if not report.restored and not report.known:
        typer.echo("tasks/index.json lists no goal; nothing to restore")


def register(app: typer.Typer) -> None:
    app.command("repair")(repair_command)
