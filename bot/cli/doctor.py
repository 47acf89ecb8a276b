"""`orch doctor`: check configuration, the database, the target repo and Slack; print no secret."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from sqlalchemy.engine import make_url

from bot.config import ConfigError, Settings


def _check(name: str, fn: Callable[[], str]) -> bool:
    try:
        detail = fn()
    except Exception as exc:  # doctor reports every failure instead of stopping at the first
        typer.secho(f"✗ {name}: {type(exc).__name__}: {exc}", fg=typer.colors.RED)
        return False
    typer.secho(f"✓ {name}: {detail}", fg=typer.colors.GREEN)
    return True


def run_doctor(settings: Settings) -> bool:
    from bot.redact import redact

    results = []

    def slack_config() -> str:
        settings.require_slack()
        return "Socket Mode" if settings.socket_mode else f"HTTP mode on {settings.host}:{settings.port}"

    def database() -> str:
        from storage.db import make_engine, ping
        from storage.migrate import upgrade

        engine = make_engine(settings.database_url)
        upgrade(engine)
        ping(engine)
        return redact(engine.url.render_as_string(hide_password=True)) + _inbox_line(engine)

    def _inbox_line(engine: Any) -> str:
        """What a web process has kept for `orch worker` (only when a web/worker split is in use)."""
        from storage.db import is_sqlite
        from storage.inbox import Inbox, inbox_url

        if is_sqlite(engine):
            if engine.url.database in (None, "", ":memory:"):
                return ""
            kept = Path(str(make_url(inbox_url(settings.database_url)).database))
            if not kept.exists():
                return ""
        total, done = Inbox.open(settings.database_url, engine).counts()
        if not total:
            return ""
        return f"; inbox: {total - done} request(s) waiting for `orch worker`, {done} done"

    def repo() -> str:
        from bot.repo.git import Identity, ensure_repo
        from bot.repo.health import check_main_checkout, lingering_locks

        git = ensure_repo(
            settings.repo,
            identity=Identity(name=settings.git_name, email=settings.git_email),
            timeout=settings.git_timeout_seconds,
            stale_lock_seconds=settings.git_stale_lock_seconds,
        )
        check_main_checkout(git)  # mid-merge, or another branch: the bot's commits wait for a person
        locks = "".join(f"; ⚠️ {line}" for line in lingering_locks(git))
        return f"{git.root.name} on branch {git.main_branch}{locks}"

    def in_step() -> str:
        from bot.services.repair import behind_repository
        from storage.db import make_engine

        gaps = behind_repository(make_engine(settings.database_url), settings.repo)
        if gaps:
            raise ConfigError("; ".join(gaps) + ". Run `orch repair --from-repo` to restore it (audited)")
        return "in step with the repository"

    def git_binary() -> str:
        path = shutil.which("git")
        if not path:
            raise ConfigError("git is not on PATH")
        return "found"

    def slack_api() -> str:
        from slack_sdk import WebClient

        if settings.slack_bot_token is None:
            raise ConfigError("SLACK_BOT_TOKEN is not set")
        client = WebClient(
            token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url, timeout=5
        )
        resp = client.auth_test()
        return f"authenticated as {resp.get('user')} in {resp.get('team')}"

    def outbox() -> None:
        """Failed and long-waiting effects and jobs: what is stuck, and the command that re-runs it."""
        from datetime import UTC, datetime

        from bot.services.effects import outbox_report
        from storage.db import make_engine

        try:
            ok, lines = outbox_report(make_engine(settings.database_url), datetime.now(UTC))
        except Exception as exc:  # the database check above already says why
            typer.secho(f"✗ outbox: {type(exc).__name__}: {exc}", fg=typer.colors.RED)
            results.append(False)
            return
        if not lines:
            typer.secho("✓ outbox: nothing failed or waiting long", fg=typer.colors.GREEN)
            return
        mark, colour = ("⚠", typer.colors.YELLOW) if ok else ("✗", typer.colors.RED)
        typer.secho(f"{mark} outbox: {len(lines)} step(s) need a look", fg=colour)
        for line in lines:
            typer.echo(f"    {redact(line)}")
        results.append(ok)

    results.append(_check("slack configuration", slack_config))
    results.append(_check("git", git_binary))
    results.append(_check("database", database))
    results.append(_check("target repository", repo))
    results.append(_check("database and repository", in_step))
    outbox()
    results.append(_check("slack web api", slack_api))
    typer.echo(f"agent backend: {settings.agent_backend}; time zone: {settings.timezone}")
    return all(results)
