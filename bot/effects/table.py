"""The one table from effect kind to handler, checked when the process starts.

The composition root (`bot.app`) assembles it once from settings: which implementer builds
(`manager` or `codex`), whether a Git host delivers the goal's branch, whether Slack is there to
post to. Handed to the dispatcher, the table never changes; a kind without a handler, or a
handler for a kind that has no payload type (`bot.sop.effect_kinds`), stops the start, so a row
can never wait for a handler that nobody registered. Each handler reads its row back through its
kind's payload type first: a row whose required fields are missing or wrong fails for good
instead of half-running (fields it does not know, from another version, are left aside).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from bot.effects.port import Handler
from bot.sop.effect_kinds import OUTBOX_KINDS, read_back
from storage.models import Effect


class EffectTableError(RuntimeError):
    """The handler table does not cover the effect kinds exactly (a wiring mistake, found at start)."""


def checked(kind: str, handler: Handler) -> Handler:
    """`handler`, run only on a row whose payload fits `kind`'s type."""

    @functools.wraps(handler)
    async def run(effect: Effect) -> None:
        read_back(kind, effect.payload)
        await handler(effect)

    return run


def build_table(handlers: Mapping[str, Handler]) -> dict[str, Handler]:
    """The dispatcher's table: every kind has exactly one handler, each reading a checked payload."""
    missing = sorted(set(OUTBOX_KINDS) - set(handlers))
    unknown = sorted(set(handlers) - set(OUTBOX_KINDS))
    if missing or unknown:
        parts = []
        if missing:
            parts.append(f"no handler for {', '.join(missing)}")
        if unknown:
            parts.append(f"handlers for kinds that do not exist: {', '.join(unknown)}")
        raise EffectTableError("the effect handlers do not match the effect kinds: " + "; ".join(parts))
    return {kind: checked(kind, handler) for kind, handler in handlers.items()}
