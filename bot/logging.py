"""Logging: JSON lines in production, secrets redacted in every record."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from bot.redact import install_log_redaction, redact

CONTEXT_FIELDS = ("goal_id", "run_id", "request_id", "actor")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                out[name] = value
        if record.exc_info:
            out["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(out, ensure_ascii=False)


def configure_logging(level: str = "INFO", *, json_logs: bool = True) -> None:
    root = logging.getLogger()
    root.setLevel(level.upper())
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if json_logs else logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    install_log_redaction()
    for noisy in ("alembic", "httpx", "slack_sdk", "slack_bolt", "filelock"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
