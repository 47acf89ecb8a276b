"""Every input is redacted where it enters the product, by the one function here.

People paste secrets into whatever box is in front of them: a slash command, a modal's feedback,
reject reason or justification, a thread, a CLI option, an MCP tool's arguments. Whatever they
typed is redacted before any listener, command or tool sees it, so nothing downstream (the
database and its WAL, the audit log, logs, Slack posts, commits, `.runs/`, prompts to a model)
can keep it. The doors that call `clean`:

- Slack over HTTP and Socket Mode: a Bolt middleware (`bot.web.bolt`) cleans each request's body, and
  the inbox keeps only the cleaned body (`bot.web.bolt_runner`).
- Thread text the bot reads itself (`conversations.replies`): `handlers.threads.read_thread`.
- The CLI: `bot.cli.main` cleans the arguments before Typer parses them.
- MCP: `bot.agent_api.mcp_redaction.RedactingMCPServer` cleans tool arguments, results and errors.

Services keep their own `redact` calls where they had them (the brief at intake): a second pass
is idempotent and costs little.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlencode

from bot.redact import redact_obj

__all__ = ["clean", "clean_argv", "clean_raw_body"]


def clean(value: Any) -> Any:
    """A copy of `value` (text, or JSON-like data) with every secret redacted and NUL bytes gone.

    NUL is dropped because no store keeps it faithfully (PostgreSQL refuses it in text).
    """
    return redact_obj(_strip_nul(value))


def _strip_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {k: _strip_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_nul(v) for v in value]
    return value


def clean_in_place(body: dict[str, Any]) -> None:
    """Clean a request body that other code already holds a reference to (Bolt's request)."""
    cleaned = clean(body)
    body.clear()
    body.update(cleaned)


def clean_argv(argv: list[str]) -> list[str]:
    """Command-line arguments, each cleaned (the program name is left alone)."""
    return argv[:1] + [clean(arg) for arg in argv[1:]]


def clean_raw_body(raw: str, content_type: str) -> str:
    """A Slack request body as sent (form-encoded or JSON), cleaned and encoded the same way.

    Interactive payloads are a form with one `payload` field holding JSON; slash commands are a
    flat form; the Events API sends JSON.
    """
    if "json" in content_type:
        try:
            return json.dumps(clean(json.loads(raw)), separators=(",", ":"))
        except ValueError:
            return str(clean(raw))
    fields = parse_qsl(raw, keep_blank_values=True)
    out: list[tuple[str, str]] = []
    for name, value in fields:
        if name == "payload":
            try:
                value = json.dumps(clean(json.loads(value)), separators=(",", ":"))
            except ValueError:
                value = clean(value)
        else:
            value = clean({name: value})[name]
        out.append((name, value))
    return urlencode(out)
