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
    register_signing(app)


def signing_init_command(
    key: Annotated[
        Path | None,
        typer.Option("--key", help="The bot's SSH key (made when missing); default: ORCH_SIGNING_KEY."),
    ] = None,
    repo: Annotated[
        Path | None, typer.Option("--repo", help="The target repository (default: ORCH_REPO).")
    ] = None,
) -> None:
    """List the bot's signing key in .orch/allowed_signers, in a signed commit (also how a key is rotated).

    The first key signs its own introduction; a further key is added by a commit signed with the key
    ORCH_SIGNING_KEY names, which must already be allowed. Then point ORCH_SIGNING_KEY at the new key."""
    from bot.cli import _settings, fail
    from bot.repo.errors import GitError
    from bot.repo.git import Identity, ensure_repo
    from bot.repo.signing import ALLOWED_SIGNERS, generate_key, public_key, signer_line

    settings = _settings()
    current: Path | None = settings.signing_key
    new = key or current
    if new is None:
        fail("name the key: --key PATH or ORCH_SIGNING_KEY (a new ed25519 key is made there when missing)", 2)
        return
    try:
        pub = public_key(new) if new.exists() else generate_key(new)
        root = (repo or settings.repo).resolve()
        path = root / ALLOWED_SIGNERS
        existing = path.read_text(encoding="utf-8") if path.is_file() else ""
        if pub in existing:
            typer.echo(f"{ALLOWED_SIGNERS} already allows {pub[:40]}…")
            return
        signer = new
        if existing.strip():
            if current is None or not current.exists() or public_key(current) not in existing:
                fail(
                    f"{ALLOWED_SIGNERS} lists other keys: the change must be signed with one of them; set "
                    "ORCH_SIGNING_KEY to an allowed key and pass the new one with --key",
                    2,
                )
                return
            signer = current
        git = ensure_repo(
            root, identity=Identity(name=settings.git_name, email=settings.git_email, signing_key=str(signer))
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(existing + signer_line(settings.git_email, pub) + "\n", encoding="utf-8")
        sha = git.commit(
            [ALLOWED_SIGNERS],
            f"orch: allow the bot's signing key {pub.split()[-1][-16:]}",
            {"Orch-Effect": f"signing:{pub.split()[-1][-32:]}"},
        )
    except (GitError, OSError, ValueError) as exc:
        fail(f"cannot set up signing: {exc}", 1)
    typer.echo(
        f"{ALLOWED_SIGNERS} now allows {new.name}; committed {str(sha)[:12]} (signed with {signer.name})"
    )


def register_signing(app: typer.Typer) -> None:
    group = typer.Typer(help="The bot's commit signing key (.orch/allowed_signers).", no_args_is_help=True)
    group.command("init")(signing_init_command)
    app.add_typer(group, name="signing")
