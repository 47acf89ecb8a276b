"""Codex progress into the goal's one status message in Slack, while the run is still going.

The builder runs in a worker thread while the effects loop waits for it, so a progress update
cannot go through the outbox (it would only run after the build). Instead each update calls the
`slack.status` handler directly on the loop, which edits the goal's status message in place.
Updates are throttled (the first, then at most one per interval, and always the last), and a
failure is only logged: progress is a courtesy and must never fail the build. Each update also
carries the lines of what happened since the last one (`lines`), which a workspace with streaming
messages shows as the build's live log (bot/effects/slack_status.py).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from storage.models import Effect

log = logging.getLogger(__name__)
FINAL_PREFIXES = ("Codex done", "Codex failed", "Codex stopped")


def thread_progress(
    handler: Callable[[Effect], Awaitable[None]] | None,
    goal_id: str,
    loop: asyncio.AbstractEventLoop,
    *,
    min_interval: float = 2.0,
    clock: Callable[[], float] = time.monotonic,
) -> Callable[..., None] | None:
    """A callback for `implement_task(on_progress=…)`, or None when there is no Slack to tell."""
    if handler is None:
        return None
    last = [-math.inf]
    pending: list[str] = []  # the lines since the last update, for a streamed live log

    async def show(text: str, lines: list[str]) -> None:
        payload: dict[str, Any] = {"text": text, "lines": lines}
        if text.startswith(FINAL_PREFIXES):
            payload["final"] = True
        effect = Effect(
            key=f"progress:{goal_id}",
            kind="slack.status",
            goal_id=goal_id,
            payload=payload,
            created_at=datetime.now(UTC),
        )
        try:
            await handler(effect)
        except Exception:  # a courtesy: the build goes on whatever Slack says
            log.info("progress of %s not shown", goal_id, exc_info=True)

    def report(text: str, line: str | None = None) -> None:
        if line:
            pending.append(line)
        now = clock()
        if now - last[0] < min_interval and not text.startswith(FINAL_PREFIXES):
            return
        last[0] = now
        lines = pending[:]
        pending.clear()
        asyncio.run_coroutine_threadsafe(show(text, lines), loop)

    return report


def relay(dispatcher: Any, goal_id: str) -> Callable[..., None] | None:
    """The progress callback for a build running under `dispatcher` (inside its event loop)."""
    handlers = getattr(dispatcher, "handlers", None) or {}
    return thread_progress(handlers.get("slack.status"), goal_id, asyncio.get_running_loop())
