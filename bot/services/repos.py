"""Which repository a channel's goals use by default (`/orch repo use <name>`), audited."""

from __future__ import annotations

from typing import Any

from bot.services.errors import InvalidInput
from bot.services.unit import Actor, Clock, audit
from storage.db import read_session, transaction
from storage.models import ChannelRepo


def channel_default(engine: Any, channel_id: str) -> str | None:
    with read_session(engine) as session:
        row = session.get(ChannelRepo, channel_id)
        return row.repo if row else None


def use_repo(
    *, engine: Any, clock: Clock, repos: frozenset[str], channel_id: str, name: str, actor: Actor
) -> str:
    """Make `name` the channel's default repository; return it. An unknown name changes nothing."""
    name = name.strip().lower()
    if name not in repos:
        known = ", ".join(f"`{n}`" for n in sorted(repos)) or "none are configured"
        raise InvalidInput(f"There is no repository `{name[:40]}` here (known: {known}).")
    now = clock()
    with transaction(engine) as session:
        row = session.get(ChannelRepo, channel_id)
        before = row.repo if row else None
        if row is None:
            row = ChannelRepo(channel_id=channel_id, repo=name, set_by=actor.id, updated_at=now)
        row.repo, row.set_by, row.updated_at = name, actor.id, now
        session.add(row)
        audit(
            session,
            actor=actor,
            action="channel.repo_set",
            now=now,
            channel=channel_id,
            repo=name,
            before=before,
        )
    return name
