"""Shared pieces of the scheduler tests: a hand-moved clock, orch.toml, and the jobs runtime."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from storage.audit import AuditEntry

BERLIN = ZoneInfo("Europe/Berlin")
T = TypeVar("T")


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)  # type: ignore[misc]


class ManualClock:
    """The bot's clock, moved by the test: aware datetimes, never the wall clock."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "orch.toml"
    path.write_text(text)
    return path


def audit_actions(
    engine: Any, goal_id: str | None = None, prefix: str = ""
) -> list[tuple[str, dict[str, Any]]]:
    with Session(engine) as session:
        query = select(AuditEntry).order_by(col(AuditEntry.seq))
        if goal_id:
            query = query.where(AuditEntry.goal_id == goal_id)
        rows = session.exec(query).all()
    return [(r.action, r.payload_dict()) for r in rows if r.action.startswith(prefix)]


def until(predicate: Callable[[], T | None], *, timeout: float, what: str, every: float = 0.05) -> T:
    """Poll `predicate` until it is truthy, failing after `timeout` (a bounded wait, not a sleep)."""
    deadline = time.monotonic() + timeout
    tick = threading.Event()
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        tick.wait(every)


def serve_env(
    *,
    api_url: str,
    secret: str,
    token: str,
    port: int,
    database_url: str,
    repo: Path,
    config: Path,
    **extra: str,
) -> dict[str, str]:
    """The environment of an `orch serve` child (tests.support.processes.OrchProcess adds os.environ)."""
    env = {
        "SLACK_BOT_TOKEN": token,
        "SLACK_SIGNING_SECRET": secret,
        "SLACK_API_URL": api_url,
        "ORCH_PORT": str(port),
        "ORCH_HOST": "127.0.0.1",
        "ORCH_DATABASE_URL": database_url,
        "ORCH_REPO": str(repo),
        "ORCH_APPROVERS": "U_APP1,U_APP2",
        "ORCH_AGENT_BACKEND": "offline",
        "ORCH_CONFIG": str(config),
        "ORCH_LOG_LEVEL": "INFO",
    }
    env.update(extra)
    return env


def wait_healthy(port: int, timeout: float = 20.0) -> None:
    """uvicorn binds just after the app's start-up logs "orch ready": wait for /healthz to answer."""
    import httpx

    def ok() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    until(ok, timeout=timeout, what=f"/healthz on port {port}")
