"""Logging: JSON lines in production, secrets redacted in every record.

Each line carries the context it was logged in: the Slack request id and actor (bound by the HTTP
front door), the goal id (bound by the effects dispatcher and the services), the run id. The
context lives in a `ContextVar`, so it follows a request into its listener task and into the
worker threads of `asyncio.to_thread` without being passed around.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from bot.redact import install_log_redaction, redact

CONTEXT_FIELDS = ("goal_id", "run_id", "request_id", "actor")
MAX_CONTEXT_VALUE = 120  # ids are short; anything longer came from a hostile payload

_context: ContextVar[dict[str, str] | None] = ContextVar("orch_log_context", default=None)


def _clean(fields: dict[str, object | None]) -> dict[str, str]:
    unknown = set(fields) - set(CONTEXT_FIELDS)
    if unknown:
        raise ValueError(f"unknown log context fields {sorted(unknown)}; known: {CONTEXT_FIELDS}")
    return {k: redact(str(v))[:MAX_CONTEXT_VALUE] for k, v in fields.items() if v not in (None, "")}


def current_context() -> dict[str, str]:
    """The context fields bound where the caller runs (a copy)."""
    return dict(_context.get() or {})


@contextmanager
def log_context(**fields: object | None) -> Iterator[None]:
    """Bind context fields for the lines logged inside the block (None values are skipped)."""
    token = _context.set({**current_context(), **_clean(fields)})
    try:
        yield
    finally:
        _context.reset(token)


def bind_log_context(**fields: object | None) -> None:
    """Bind context fields until the current task or thread's context ends (no block needed)."""
    _context.set({**current_context(), **_clean(fields)})


class JsonFormatter(logging.Formatter):
    """One JSON object per line; explicit `extra=` fields win over the bound context."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        bound = current_context()  # a handler formats in the thread that logged, so this is its context
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is None:
                value = bound.get(name)
            if value is not None:
                out[name] = redact(str(value))[:MAX_CONTEXT_VALUE]
        if record.exc_info:
            out["exc"] = redact(self.formatException(record.exc_info))
        elif record.exc_text:
            out["exc"] = redact(record.exc_text)
        return json.dumps(out, ensure_ascii=False)


def configure_logging(level: str = "INFO", *, json_logs: bool = True) -> None:
    root = logging.getLogger()
    root.setLevel(level.upper())
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter() if json_logs else logging.Formatter("%(levelname)s %(name)s: %(message)s")
    )
    root.addHandler(handler)
    install_log_redaction()
    for noisy in ("alembic", "httpx", "slack_sdk", "slack_bolt", "filelock"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
