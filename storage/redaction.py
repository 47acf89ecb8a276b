"""How the audit log redacts, bound once per process by the composition root.

What counts as a secret is the bot's knowledge (bot.redact), not storage's: storage only insists
that it is applied. The composition root binds the redactor once per process (bot.app, the CLI),
as it binds the audit keyring; an append in a process that never bound one is refused rather
than storing a secret in a log that can never be edited. This module imports nothing heavy, so
binding costs a command that never touches the database nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


class AuditRedactionError(RuntimeError):
    """An audit append was attempted before a redactor was bound (`bind_redactor`)."""


@dataclass(frozen=True, slots=True)
class Redactor:
    text: Callable[[str], str]  # a string with every secret in it masked
    obj: Callable[[Any], Any]  # a redacted copy of a JSON-shaped value


_REDACTOR: Redactor | None = None


def bind_redactor(text: Callable[[str], str], obj: Callable[[Any], Any]) -> None:
    """Set how audit justifications and payloads are redacted in this process."""
    global _REDACTOR
    _REDACTOR = Redactor(text=text, obj=obj)


def bound() -> Redactor:
    """The bound redactor; refuses when none was bound."""
    if _REDACTOR is None:
        raise AuditRedactionError(
            "no redactor is bound for the audit log: call storage.audit.bind_redactor at start-up"
        )
    return _REDACTOR
